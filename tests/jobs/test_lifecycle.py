"""A job's life whatever its kind: progress, result, failure, cancel, a process that died, and
who may see, download and cancel it. The kinds here are registered as any kind is
(kpitrack.jobs.kinds.register); the report kinds are tested in test_report_jobs.py."""

import re
from datetime import timedelta

import pytest
from django.test import Client
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


def test_a_waiting_jobs_page_says_how_to_look_again_without_script(client, bob):
    """jobs.js updates the page and shows the sentence that says so; a browser without script
    is told to reload instead, with a link to the same page."""
    job = _start("test-steps", bob, steps=2)
    client.force_login(bob)
    html = client.get(f"/jobs/{job.pk}/?from=report").content.decode()
    assert re.search(r"<p class=\"muted\" data-auto-update hidden>這頁會自動更新", html)
    fallback = re.search(r"<noscript>(.*?)</noscript>", html, re.S).group(1)
    assert "這頁不會自動更新" in fallback
    assert f'<a href="/jobs/{job.pk}/?from=report">重新整理</a>' in fallback


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


def test_the_status_polls_sweep_stale_jobs_at_most_once_per_heartbeat(client, bob, settings):
    """Fifty users polling their jobs' status each swept the whole table on every poll: the
    sweep runs on the first poll, then again only after JOBS_HEARTBEAT_SECONDS."""
    from django.core.cache import cache

    from kpitrack.jobs.runners import SWEEP_KEY

    job = _start("test-steps", bob, steps=1)
    Job.objects.filter(pk=job.pk).update(state="running", heartbeat_at=timezone.now())
    client.force_login(bob)
    assert client.get(f"/jobs/{job.pk}/status/").json()["state"] == "running"
    long_ago = timezone.now() - timedelta(seconds=settings.JOBS_STALE_SECONDS + 1)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=long_ago)
    assert client.get(f"/jobs/{job.pk}/status/").json()["state"] == "running"  # swept just now
    cache.delete(SWEEP_KEY)  # as when JOBS_HEARTBEAT_SECONDS have passed
    assert client.get(f"/jobs/{job.pk}/status/").json()["state"] == "failed"


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
    assert runners.sweep_stale_jobs() == 1
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


def _json_error(response, status):
    """The one error shape of every JSON answer (kpitrack.core.answers), as the API's."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body.pop("request_id") == response["X-Request-ID"]
    assert list(body) == ["error"], body
    return body["error"]


def test_the_json_endpoint_answers_every_refusal_in_the_one_error_shape(client, bob, charlie):
    job = _start("test-steps", bob, steps=1)
    url = f"/jobs/{job.pk}/status/"
    assert _json_error(client.get(url), 401) == "請先登入。"
    client.force_login(charlie)  # of no agency that may read nia
    assert _json_error(client.get(url), 403) == "您沒有權限檢視這項工作。"
    assert _json_error(client.get(f"/jobs/{job.pk + 1000}/status/"), 404) == "沒有這項工作。"
    # Not Django's empty 405, nor its HTML 403 for a POST without a CSRF token: the address
    # takes GET only and changes nothing.
    strict = Client(enforce_csrf_checks=True)
    for method in (strict.post, strict.put, strict.delete, client.head):
        response = method(url)
        assert response["Allow"] == "GET"
        if method != client.head:  # a HEAD answer has no body to read
            assert _json_error(response, 405) == "這個網址不接受此請求方法。"
        assert response.status_code == 405


def test_the_json_endpoint_answers_a_control_character_in_the_one_error_shape(client, bob):
    """Refused by a middleware before any view (kpitrack.middleware), as JSON all the same."""
    job = _start("test-steps", bob, steps=1)
    client.force_login(bob)
    response = client.get(f"/jobs/{job.pk}/status/", {"x": "a\x00b"})
    assert _json_error(response, 400) == "欄位「x」含有無法使用的控制字元，請移除後再試一次。"
    page = client.get(f"/jobs/{job.pk}/", {"x": "a\x00b"})  # a page still answers a page
    assert (page.status_code, page["Content-Type"]) == (400, "text/html; charset=utf-8")


def test_the_json_endpoint_answers_in_the_users_language(client, bob, charlie):
    job = _start("test-steps", bob, steps=1)
    english = Client(headers={"accept-language": "en"})
    assert _json_error(english.get(f"/jobs/{job.pk}/status/"), 401) == "Please log in first."
    english.force_login(charlie)
    assert _json_error(english.get(f"/jobs/{job.pk}/status/"), 403) == "You may not see this job."
    response = english.get(f"/jobs/{job.pk + 1000}/status/")
    assert _json_error(response, 404) == "There is no such job."
    assert _json_error(english.post(f"/jobs/{job.pk}/status/"), 405) == (
        "This address does not accept this request method."
    )


def test_the_json_endpoint_answers_json_when_the_server_fails(client, bob, monkeypatch):
    """A bug (500) or the database away (503) is answered outside the view, by the site's
    handlers: in the one shape here too, not the HTML pages the job page's script cannot read."""
    from django.db import OperationalError

    from kpitrack.jobs import views

    job = _start("test-steps", bob, steps=1)
    client.force_login(bob)
    client.raise_request_exception = False

    def bug(job):
        raise ZeroDivisionError

    monkeypatch.setattr(views, "status_of", bug)
    message = _json_error(client.get(f"/jobs/{job.pk}/status/"), 500)
    assert message.startswith("伺服器處理時發生錯誤")

    def away():
        raise OperationalError("connection refused")

    monkeypatch.setattr(views, "sweep_stale_jobs_now_and_then", away)
    response = client.get(f"/jobs/{job.pk}/status/")
    assert _json_error(response, 503) == "資料庫暫時無法使用，請稍後再試一次。"
    assert response["Retry-After"]
