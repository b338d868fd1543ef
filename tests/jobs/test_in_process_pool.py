"""The default mode (no broker): the web process's own thread pool runs the job once the request
has committed it, and any request (any app server) reads its progress from the database."""

import os
import sys
import threading
import time

import pytest
from django.urls import include, path

from kpitrack.jobs.kinds import Output, register
from kpitrack.jobs.models import Job
from kpitrack.jobs.runners import drain_in_process_pool, request_finished, sweep_stale_jobs
from kpitrack.jobs.services import job_start

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def one_thread(settings):
    """On SQLite, one pool thread: the in-memory test database locks whole tables between
    threads and does not wait (SQLITE_LOCKED), where a file database, as deployed, waits its
    busy timeout. The PostgreSQL pass runs the pool's two threads at once."""
    from django.db import connection

    if connection.vendor == "sqlite":
        settings.JOBS_IN_PROCESS_WORKERS = 1
    drain_in_process_pool()
    yield
    request_finished()  # a test that failed inside a request leaves no later job waiting
    while drain_in_process_pool():
        pass


def _wait_for_the_end(job_id):
    """Until the pool has run everything it was handed (a job may hand it a bundle), then the
    job as the database holds it. Waiting on the pool, not polling the row: SQLite's in-memory
    test database locks whole tables between threads (a file database, as deployed, waits)."""
    while drain_in_process_pool():
        pass
    return Job.objects.get(pk=job_id)


def test_the_pool_runs_the_job_and_the_download_is_served(client, django_user_model):
    from tests.conftest import seeded

    seeded()  # transactional tests may start empty
    user = django_user_model.objects.create_superuser("pool", "pool@example.org", "x")
    client.force_login(user)
    response = client.get("/reports/nia/performance/2012/xlsx/")
    assert response.status_code == 302
    job = _wait_for_the_end(int(response["Location"].split("/")[2]))
    assert (job.state, job.error, job.attempts) == ("done", "", 1)
    download = client.get(f"/jobs/{job.pk}/download/")
    assert b"".join(download.streaming_content).startswith(b"PK")  # an xlsx is a zip
    again = client.get("/reports/nia/performance/2012/xlsx/")
    assert again.status_code == 200


def test_a_process_running_jobs_hands_the_gil_to_its_requests_within_half_a_millisecond(
    client, django_user_model
):
    """A job's thread renders beside the requests of its process: a request waiting for the GIL
    behind it waits at most the switch interval each time (kpitrack/jobs/runners.py)."""
    from tests.conftest import seeded

    seeded()
    client.force_login(django_user_model.objects.create_superuser("gil", "gil@example.org", "x"))
    default = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # CPython's default, whatever an earlier test left
    try:
        response = client.get("/reports/nia/performance/2012/xlsx/")
        assert response.status_code == 302
        assert sys.getswitchinterval() <= 0.0005
        _wait_for_the_end(int(response["Location"].split("/")[2]))
    finally:
        sys.setswitchinterval(default)


_priorities: list[int] = []


@register("test-priority")
def _priority(job, progress):
    _priorities.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    return Output("", "", "")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a nice value per thread")
@pytest.mark.parametrize("steps", [7, 0])
def test_the_pools_threads_run_below_the_requests_priority(django_user_model, settings, steps):
    """JOBS_NICE steps below the process's own, for the pool's threads only: the thread that
    answers requests keeps its priority."""
    settings.JOBS_NICE = steps
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    user = django_user_model.objects.create_user("nice", "nice@example.org", "x")
    _priorities.clear()
    job = job_start(kind="test-priority", user=user, params={})
    assert _wait_for_the_end(job.pk).state == "done"
    assert _priorities == [min(19, own + steps)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own


@pytest.mark.pdf
def test_the_pool_runs_a_bundles_parts_then_the_bundle(client, django_user_model):
    """The last part to end (counted in the database) hands the bundle to the pool."""
    import zipfile
    from io import BytesIO

    from budget.models import Agency
    from budget.services import agency_create
    from performance.services import indicator_create, strategic_goal_create
    from tests.conftest import seeded

    seeded()
    branch = agency_create(
        code="nia-two", name="第二署", parent=Agency.objects.get(code="moi"), user=None
    )
    goal = strategic_goal_create(
        agency=branch, year=2012, code="g1", order=1, title="第二署目標", user=None
    )
    indicator_create(goal=goal, code="k1", name="第二署指標", method="count", user=None)
    user = django_user_model.objects.create_superuser("bundle", "bundle@example.org", "x")
    client.force_login(user)
    response = client.get("/reports/moi/performance/2012/all/")
    job = _wait_for_the_end(int(response["Location"].split("/")[2]))
    assert (job.state, job.error, job.done, job.total) == ("done", "", 2, 2)
    assert list(job.parts.values_list("state", flat=True)) == ["done", "done"]
    data = b"".join(client.get(f"/jobs/{job.pk}/download/").streaming_content)
    names = zipfile.ZipFile(BytesIO(data)).namelist()
    assert len(names) == 3 and "manifest.json" in names


_release = threading.Event()


@register("test-waits")
def _waits(job, progress):
    _release.wait(60)  # bounded: a test that never releases still ends
    return Output("", "", "")


def test_a_job_waiting_behind_a_busy_pool_carries_its_heartbeat_and_is_not_failed(
    django_user_model, settings
):
    """Another app server fails the waiting jobs of a pool whose heartbeat stopped (its process
    died); those of a live pool that is only busy keep being stamped and wait their turn."""
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip(
            "three threads write at once (the job's heartbeat, the pool's, the test): SQLite's "
            "in-memory test database refuses instead of waiting; the PostgreSQL pass runs it"
        )
    settings.JOBS_IN_PROCESS_WORKERS = 1
    settings.JOBS_HEARTBEAT_SECONDS = 1
    settings.JOBS_STALE_SECONDS = 3
    user = django_user_model.objects.create_user("waits", "waits@example.org", "x")
    _release.clear()
    try:
        busy = job_start(kind="test-waits", user=user, params={})
        waiting = job_start(kind="test-waits", user=user, params={})
        deadline = time.monotonic() + 60
        while Job.objects.get(pk=busy.pk).state != "running":
            assert time.monotonic() < deadline, "the pool never started the first job"
            time.sleep(0.1)
        stamped = Job.objects.get(pk=waiting.pk).heartbeat_at
        assert stamped is not None
        time.sleep(settings.JOBS_STALE_SECONDS + 1)
        assert sweep_stale_jobs() == 0
        job = Job.objects.get(pk=waiting.pk)
        assert job.state == "queued" and job.heartbeat_at > stamped
    finally:
        _release.set()
    assert _wait_for_the_end(waiting.pk).state == "done"


# A request's jobs wait for its response to be sent (kpitrack.jobs.runners.request_finished):
# the WSGI handler itself, whose answer the test closes when it chooses, as a WSGI server does
# once it has sent the answer (Django's test client closes it before handing it over).

_ran: list[int] = []


@register("test-counts")
def _counts(job, progress):
    _ran.append(job.pk)
    return Output("", "", "")


def _raises_after_commit(request):
    """A view that starts a job (committed at once: no transaction around the request), then
    fails before answering."""
    from django.contrib.auth import get_user_model

    job_start(kind="test-counts", user=get_user_model().objects.get(username="raises"), params={})
    raise RuntimeError("after the commit")


urlpatterns = [
    path("test-raises-after-commit/", _raises_after_commit),
    path("", include("kpitrack.urls")),
]


def _serve(path, cookies=""):
    """The WSGI handler's answer to GET `path`, not closed: (status, answer)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    environ = RequestFactory(HTTP_COOKIE=cookies).get(path).environ
    status = []
    answer = WSGIHandler()(environ, lambda line, headers, exc_info=None: status.append(line))
    return status[0], answer


def _signed_in(client, user):
    client.force_login(user)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


def test_a_job_a_request_starts_goes_to_the_pool_once_its_answer_is_closed(
    client, django_user_model
):
    from tests.conftest import seeded

    seeded()
    user = django_user_model.objects.create_superuser("closes", "closes@example.org", "x")
    cookies = _signed_in(client, user)
    status, answer = _serve("/reports/nia/performance/2012/xlsx/", cookies)
    assert status.startswith("302")
    job = Job.objects.get(pk=int(answer["Location"].split("/")[2]))
    assert job.state == "queued" and job.heartbeat_at is not None  # committed, and kept
    assert not drain_in_process_pool(), "the pool was handed the job before the answer was sent"
    answer.close()  # the answer sent: request_finished
    job = _wait_for_the_end(job.pk)
    assert (job.state, job.error, job.attempts) == ("done", "", 1)


@pytest.mark.urls(__name__)
def test_a_job_committed_before_the_view_failed_still_runs_once(django_user_model):
    """The error page is an answer too: closing it hands the job over, once."""
    django_user_model.objects.create_user("raises", "raises@example.org", "x")
    _ran.clear()
    status, answer = _serve("/test-raises-after-commit/")
    assert status.startswith("500")
    (job,) = Job.objects.filter(kind="test-counts")
    assert not drain_in_process_pool() and _ran == []
    answer.close()
    assert _wait_for_the_end(job.pk).state == "done"
    answer.close()  # a second close (a second request_finished) hands nothing over again
    _wait_for_the_end(job.pk)
    assert _ran == [job.pk]


@pytest.mark.urls(__name__)
def test_a_job_of_an_answer_never_closed_goes_to_the_pool_with_the_next_request(
    client, django_user_model
):
    """A WSGI call that never had its answer closed leaves its jobs late, not lost: the next
    request of the thread hands them over as it starts."""
    django_user_model.objects.create_user("raises", "raises@example.org", "x")
    _ran.clear()
    _serve("/test-raises-after-commit/")  # never closed
    (job,) = Job.objects.filter(kind="test-counts")
    assert not drain_in_process_pool()
    client.get("/accounts/login/")
    assert _wait_for_the_end(job.pk).state == "done"
    assert _ran == [job.pk]


def test_a_job_started_outside_a_request_goes_to_the_pool_on_commit(django_user_model):
    """A command, the CLI, a test calling the services: no request to wait for."""
    user = django_user_model.objects.create_user("outside", "outside@example.org", "x")
    _ran.clear()
    job = job_start(kind="test-counts", user=user, params={})  # autocommit: committed here
    assert drain_in_process_pool(), "the pool was not handed the job on commit"
    assert _wait_for_the_end(job.pk).state == "done"
    assert _ran == [job.pk]


def test_a_job_for_this_processs_pool_has_its_heartbeat_from_its_first_row(django_user_model):
    """Written with the row, not by a write of its own on commit: a report's start is one
    query and one commit less, and a process that dies right after the commit still leaves a
    job the sweep fails."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = django_user_model.objects.create_user("beat", "beat@example.org", "x")
    with CaptureQueriesContext(connection) as queries:
        job = job_start(kind="test-counts", user=user, params={})
    assert job.heartbeat_at is not None
    assert Job.objects.get(pk=job.pk).heartbeat_at is not None
    writes = [q["sql"].split()[0] for q in queries if not q["sql"].startswith("SELECT")]
    assert writes == ["INSERT"], writes
    assert _wait_for_the_end(job.pk).state == "done"
