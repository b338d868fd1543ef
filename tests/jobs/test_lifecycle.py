"""A job's life whatever its kind: progress, result, failure, cancel, a process that died, and
who may see, download and cancel it. The kinds here are registered as any kind is
(kpitrack.jobs.kinds.register); the report kinds are tested in test_report_jobs.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from budget.models import Agency
from kpitrack.jobs import files
from kpitrack.jobs.execution import job_execute
from kpitrack.jobs.kinds import JobFailed, Output, register
from kpitrack.jobs.models import Job
from kpitrack.jobs.services import bundle_start, job_cancel, job_start

from .running import run_queued_jobs

pytestmark = pytest.mark.django_db

seen_steps = []
went_on = []


@register("test-steps")
def _steps(job, progress):
    for done in range(job.params["steps"] + 1):
        progress.step(done, job.params["steps"], f"step {done}")
        seen_steps.append(Job.objects.values_list("done", "total", "step").get(pk=job.pk))
    name = files.save_atomically(f"exports/test/{job.pk}.txt", b"made by the job")
    return Output(name, "result.txt", "text/plain")


@register("test-fails")
def _fails(job, progress):
    raise JobFailed("這份報表缺少資料，無法產生。")


@register("test-crashes")
def _crashes(job, progress):
    raise ZeroDivisionError


@register("test-cancelled-midway")
def _cancelled_midway(job, progress):
    progress.step(1, 3)
    job_cancel(job=Job.objects.get(pk=job.pk))  # as the user's click would, meanwhile
    progress.step(2, 3)
    went_on.append(job.pk)  # never reached: the step above stops a cancelled job
    return Output("", "", "")


@register("test-bundle")
def _bundle(job, progress):
    failed = [part.error for part in job.parts.exclude(state=Job.State.DONE)]
    if failed:
        raise JobFailed("；".join(failed))
    return Output("", "", "")


def _start(kind, user, **params):
    agency = Agency.objects.get(code="nia")
    return job_start(kind=kind, user=user, params=params, title=kind, agency=agency)


def test_progress_is_stored_step_by_step_and_the_result_downloads(client, bob):
    seen_steps.clear()
    job = _start("test-steps", bob, steps=3)
    job_execute(job.pk)
    assert seen_steps == [(n, 3, f"step {n}") for n in range(4)]
    job.refresh_from_db()
    assert (job.state, job.done, job.total, job.error, job.attempts) == ("done", 3, 3, "", 1)
    client.force_login(bob)
    response = client.get(f"/jobs/{job.pk}/download/")
    assert b"".join(response.streaming_content) == b"made by the job"
    assert response["Content-Disposition"] == 'attachment; filename="result.txt"'


def test_a_failed_job_says_why_on_its_page_and_in_its_json(client, bob):
    job = _start("test-fails", bob)
    run_queued_jobs()
    client.force_login(bob)
    status = client.get(f"/jobs/{job.pk}/status/").json()
    assert (status["state"], status["finished"]) == ("failed", True)
    assert status["error"] == "這份報表缺少資料，無法產生。"
    assert status["download_url"] is None
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'role="alert">這份報表缺少資料，無法產生。' in page
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 409


def test_an_unexpected_error_fails_the_job_with_its_number(bob, caplog):
    job = _start("test-crashes", bob)
    job_execute(job.pk)
    job.refresh_from_db()
    assert job.state == "failed"
    assert f"工作編號 {job.pk}" in job.error
    assert "ZeroDivisionError" in caplog.text  # the traceback is in the log, not on the page


def test_the_user_cancels_a_waiting_job_and_no_process_runs_it(client, bob):
    seen_steps.clear()
    job = _start("test-steps", bob, steps=2)
    client.force_login(bob)
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 302
    job_execute(job.pk)  # a worker picking the message up afterwards
    job.refresh_from_db()
    assert job.state == "cancelled" and seen_steps == [] and job.result == ""
    assert "這項工作已取消" in client.get(f"/jobs/{job.pk}/").content.decode()


def test_a_job_cancelled_while_it_runs_stops_at_its_next_step(bob):
    went_on.clear()
    job = _start("test-cancelled-midway", bob)
    job_execute(job.pk)
    job.refresh_from_db()
    assert (job.state, job.done, job.result) == ("cancelled", 1, "")
    assert went_on == []


def test_a_running_job_whose_process_died_is_failed_with_a_message(client, bob, settings):
    job = _start("test-steps", bob, steps=1)
    long_ago = timezone.now() - timedelta(seconds=settings.JOBS_STALE_SECONDS + 1)
    Job.objects.filter(pk=job.pk).update(state="running", attempts=1, heartbeat_at=long_ago)
    client.force_login(bob)
    status = client.get(f"/jobs/{job.pk}/status/").json()
    assert status["state"] == "failed"
    assert "程序已停止回應" in status["error"]


def test_a_running_job_with_a_recent_heartbeat_stays_running(client, bob):
    job = _start("test-steps", bob, steps=1)
    Job.objects.filter(pk=job.pk).update(state="running", heartbeat_at=timezone.now())
    client.force_login(bob)
    assert client.get(f"/jobs/{job.pk}/status/").json()["state"] == "running"


def test_a_job_left_waiting_in_the_pool_of_a_process_that_died_is_failed_with_a_message(
    client, bob, settings
):
    # Another app server's pool held it (runners.submit_in_process) and stopped writing its
    # heartbeat: nobody will run it, and a request for the same export would join it.
    job = _start("test-steps", bob, steps=1)
    long_ago = timezone.now() - timedelta(seconds=settings.JOBS_STALE_SECONDS + 1)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)
    client.force_login(bob)
    status = client.get(f"/jobs/{job.pk}/status/").json()
    assert status["state"] == "failed"
    assert "程序已停止回應" in status["error"]


def test_a_waiting_job_held_by_a_live_pool_or_the_broker_or_a_bundle_stays_queued(
    client, bob, settings
):
    held = _start("test-steps", bob, steps=1)
    Job.objects.filter(pk=held.pk).update(heartbeat_at=timezone.now())
    on_the_broker = _start("test-steps", bob, steps=1)  # no heartbeat until a worker takes it
    bundle = bundle_start(
        kind="test-steps",
        user=bob,
        params={"steps": 1},
        title="bundle",
        agency=Agency.objects.get(code="nia"),
        parts=[{"kind": "test-steps", "params": {"steps": 1}}],
    )
    long_ago = timezone.now() - timedelta(seconds=settings.JOBS_STALE_SECONDS + 1)
    Job.objects.filter(pk=bundle.pk).update(heartbeat_at=long_ago)  # its last part ended then
    Job.objects.filter(parent=bundle).update(heartbeat_at=timezone.now())
    client.force_login(bob)
    for job in (held, on_the_broker, bundle):
        assert client.get(f"/jobs/{job.pk}/status/").json()["state"] == "queued"


def test_a_part_left_by_a_process_that_died_ends_and_its_bundle_names_the_agency(
    client, bob, settings
):
    nia = Agency.objects.get(code="nia")
    bundle = bundle_start(
        kind="test-bundle",
        user=bob,
        params={},
        title="bundle",
        agency=nia,
        parts=[{"kind": "test-steps", "params": {"steps": 1}, "agency": nia}],
    )
    long_ago = timezone.now() - timedelta(seconds=settings.JOBS_STALE_SECONDS + 1)
    Job.objects.filter(parent=bundle).update(state="running", heartbeat_at=long_ago)
    client.force_login(bob)
    assert client.get(f"/jobs/{bundle.pk}/status/").json()["state"] == "queued"
    bundle.refresh_from_db()
    assert bundle.done == 1  # the failed part counted: the bundle was handed over
    run_queued_jobs()
    bundle.refresh_from_db()
    assert bundle.state == "failed" and "程序已停止回應" in bundle.error


def test_the_bundle_of_a_part_failed_as_stale_is_handed_to_the_workers(bob, settings, monkeypatch):
    """A test's transaction never commits, so the test above cannot see the hand-over itself."""
    from kpitrack.jobs import runners

    nia = Agency.objects.get(code="nia")
    bundle = bundle_start(
        kind="test-bundle",
        user=bob,
        params={},
        title="bundle",
        agency=nia,
        parts=[{"kind": "test-steps", "params": {"steps": 1}, "agency": nia}],
    )
    long_ago = timezone.now() - timedelta(seconds=settings.JOBS_STALE_SECONDS + 1)
    Job.objects.filter(parent=bundle).update(state="running", heartbeat_at=long_ago)
    handed = []
    monkeypatch.setattr(runners, "dispatch", lambda job: handed.append(job.pk))
    assert runners.fail_stale_jobs() == 1
    assert handed == [bundle.pk]


def test_a_job_delivered_again_after_its_worker_died_gets_one_more_attempt(bob, settings):
    settings.JOBS_MAX_ATTEMPTS = 2
    job = _start("test-steps", bob, steps=1)
    Job.objects.filter(pk=job.pk).update(state="running", attempts=1)  # the worker died
    job_execute(job.pk)
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("done", 2)
    other = _start("test-steps", bob, steps=1)
    Job.objects.filter(pk=other.pk).update(state="running", attempts=2)  # died twice
    job_execute(other.pk)
    other.refresh_from_db()
    assert other.state == "failed" and "停止了 2 次" in other.error and other.result == ""


# Who may see what: the user who asked, and the readers of the agency it renders.


@pytest.fixture
def staffs_job(cast):
    job = _start("test-steps", cast["staff"], steps=1)
    job_execute(job.pk)
    return job


@pytest.mark.parametrize(
    ("role", "page", "download", "status"),
    [
        ("staff", 200, 200, 200),  # who asked
        ("viewer", 200, 200, 200),  # 檢視 of the parent ministry: reads nia
        ("admin", 200, 200, 200),
        ("outsider", 403, 403, 403),  # another agency's administrator
    ],
)
def test_a_job_is_seen_by_its_user_and_the_agencys_readers(
    client, cast, staffs_job, role, page, download, status
):
    client.force_login(cast[role])
    assert client.get(f"/jobs/{staffs_job.pk}/").status_code == page
    assert client.get(f"/jobs/{staffs_job.pk}/download/").status_code == download
    response = client.get(f"/jobs/{staffs_job.pk}/status/")
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"


def test_a_job_of_no_agency_is_its_users_only(client, cast, charlie):
    job = job_start(kind="test-steps", user=cast["staff"], params={"steps": 1})
    client.force_login(cast["admin"])
    assert client.get(f"/jobs/{job.pk}/").status_code == 403
    client.force_login(cast["superuser"])
    assert client.get(f"/jobs/{job.pk}/").status_code == 200


def test_only_who_asked_may_cancel(client, cast):
    job = _start("test-steps", cast["staff"], steps=1)
    client.force_login(cast["admin"])
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 403
    job.refresh_from_db()
    assert job.state == "queued"


def test_the_json_endpoint_answers_json_when_it_refuses(client, bob, charlie):
    job = _start("test-steps", bob, steps=1)
    for expected in (401, 403, 404):
        if expected == 403:
            client.force_login(charlie)
        url = f"/jobs/{job.pk + 1000 if expected == 404 else job.pk}/status/"
        response = client.get(url)
        assert response.status_code == expected
        assert response["Content-Type"] == "application/json"
        _assert_api_error_shape(response)


def _assert_api_error_shape(response):
    """The API's shape (kpitrack/api/errors.py): the message, and the id of the request."""
    data = response.json()
    assert set(data) == {"error", "request_id"}
    assert data["error"]
    assert data["request_id"] == response["X-Request-ID"]


def test_the_json_endpoint_refuses_another_method_in_json(client, bob):
    job = _start("test-steps", bob, steps=1)
    client.force_login(bob)
    response = client.post(f"/jobs/{job.pk}/status/")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response["Content-Type"] == "application/json"
    _assert_api_error_shape(response)
    assert response.json()["error"] == "這個網址不接受此請求方法。"
