"""A workbook import job and the user's cancel, on two PostgreSQL connections at once: a cancel
that lands while the import writes rolls the whole import back; one that lands after the job
ended itself (inside the import's transaction, `Progress.complete`) waits for the commit and is
refused, so a job never reads 「已取消」 over rows that were written.

The job runs in a thread of its own (its own connection), as a pool thread or a Celery worker
runs it, and is held at the moment that matters until the test lets it go; the test sees the
cancel waiting in pg_stat_activity, so nothing depends on how long anything takes.
tests/performance/test_workbook_jobs.py tests the same job in one thread, on both databases.
"""

import threading
import time
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.urls import reverse

from kpitrack.jobs import execution, runners
from kpitrack.jobs.models import Job
from kpitrack.jobs.services import job_cancel
from performance import services
from performance import workbook_uploads as uploads
from performance.models import Result
from tests.performance.conftest import build_workflow

from .workbook_helpers import download, fill

WAIT = 30  # seconds before the test gives up on the other connection: only when something hangs
COUNT = "辦理件數（件）"
NUM, DEN = "分子：查獲件數", "分母：受理件數"


@pytest.fixture
def postgresql():
    """Asked for before the database, so SQLite skips without setting it up."""
    if connection.vendor != "postgresql":
        pytest.skip("two connections racing for a lock: PostgreSQL only")


@pytest.fixture
def workflow(postgresql, transactional_db, alice):
    """Committed, so the job's thread sees it."""
    return build_workflow(alice)


@pytest.fixture
def job(workflow, alice, client, settings, tmp_path, monkeypatch) -> Job:
    """A confirmed two-row workbook's job, queued; no pool thread takes it (the test runs it)."""
    settings.MEDIA_ROOT = tmp_path
    settings.CELERY_BROKER_URL = ""
    settings.WORKBOOK_JOB_ROWS = 1
    monkeypatch.setattr(runners, "submit_in_process", lambda job_id, **_: None)
    data = fill(
        download(alice, workflow),
        {(workflow.count, COUNT): 150, (workflow.ratio, NUM): 45, (workflow.ratio, DEN): 50},
    )
    client.force_login(alice)
    preview = client.post(
        reverse("workbook-upload"),
        {
            "agency": workflow.agency.code,
            "unit": "ops",
            "year": workflow.year,
            "quarter": workflow.quarter,
            "file": SimpleUploadedFile("填報.xlsx", data),
        },
    )
    response = client.post(reverse("workbook-confirm"), {"token": preview.context["token"]})
    assert response.status_code == 302
    return Job.objects.get()


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _waits_for(waiter: int, holder: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s = ANY(pg_blocking_pids(%s))", [holder, waiter])
        return cursor.fetchone()[0]


class _OnItsConnection(threading.Thread):
    """`work()` in a thread, so on a connection of its own; `pid` once known, `outcome` after."""

    def __init__(self, work):
        super().__init__()
        self.work = work
        self.pid = None
        self.started_work = threading.Event()
        self.outcome = None

    def run(self):
        try:
            self.pid = _backend_pid()
            self.started_work.set()
            self.outcome = self.work()
        except Exception as exc:
            self.outcome = exc
        finally:
            self.started_work.set()
            connections.close_all()  # this thread's connections only


def _written(flow) -> bool:
    return Result.objects.filter(indicator__in=[flow.count, flow.ratio]).exists()


def test_a_cancel_while_the_import_writes_rolls_it_back(job, workflow, monkeypatch):
    written, go = threading.Event(), threading.Event()
    write = services.results_save_drafts

    def held_after_writing(**kwargs):
        write(**kwargs)
        written.set()
        assert go.wait(WAIT), "never let go"

    monkeypatch.setattr(services, "results_save_drafts", held_after_writing)
    runner = _OnItsConnection(lambda: execution.job_execute(job.pk))
    runner.start()
    try:
        assert written.wait(WAIT), runner.outcome
        # The user's click, on another connection: it commits at once (the import does not hold
        # the job's row while it writes), and the rows are not visible outside the import.
        assert job_cancel(job=Job.objects.get(pk=job.pk)) is True
        assert not _written(workflow)
    finally:
        go.set()
        runner.join(WAIT)
    assert not runner.is_alive() and runner.outcome is None, runner.outcome

    job.refresh_from_db()
    assert (job.state, job.outcome) == ("cancelled", {})
    assert not _written(workflow)
    ids = [workflow.count.pk, workflow.ratio.pk]
    assert not Result.history.filter(indicator_id__in=ids).exists()


def test_a_cancel_after_the_job_ended_itself_waits_for_the_commit_and_is_refused(
    job, workflow, monkeypatch
):
    ended, go = threading.Event(), threading.Event()
    complete = execution.Progress.complete

    def held_before_the_commit(self, output, outcome=None):
        complete(self, output, outcome)
        ended.set()
        assert go.wait(WAIT), "never let go"

    canceller = _OnItsConnection(lambda: job_cancel(job=Job.objects.get(pk=job.pk)))
    discard = uploads.discard

    def after_the_commit(token):
        # The job's last step, after the import committed: the waiting cancel has its answer
        # before the job returns, so it cannot matter who writes the job's row first then.
        if canceller.ident is not None:
            canceller.join(WAIT)
        discard(token)

    monkeypatch.setattr(execution.Progress, "complete", held_before_the_commit)
    monkeypatch.setattr(uploads, "discard", after_the_commit)
    runner = _OnItsConnection(lambda: execution.job_execute(job.pk))
    runner.start()
    try:
        assert ended.wait(WAIT), runner.outcome
        canceller.start()
        assert canceller.started_work.wait(WAIT)
        deadline = time.monotonic() + WAIT
        while canceller.is_alive() and not _waits_for(canceller.pid, runner.pid):
            assert time.monotonic() < deadline, "the cancel never waited for the import"
            time.sleep(0.01)
        assert canceller.is_alive(), f"the cancel did not wait: {canceller.outcome!r}"
    finally:
        go.set()
        runner.join(WAIT)
        if canceller.ident is not None:
            canceller.join(WAIT)
    assert not runner.is_alive() and not canceller.is_alive()
    assert runner.outcome is None, runner.outcome
    assert canceller.outcome is False  # the job had ended: nothing to cancel

    job.refresh_from_db()
    assert (job.state, job.done, job.total) == ("done", 2, 2)
    assert [row["name"] for row in job.outcome["rows"]] == [
        workflow.count.name,
        workflow.ratio.name,
    ]
    count = Result.objects.get(indicator=workflow.count, quarter=workflow.quarter)
    assert count.figures.get().value == Decimal("150")
