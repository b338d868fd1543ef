"""The Celery mode: a real worker (`celery -A kpitrack worker`, a subprocess) on Redis runs the
jobs the web process queues, against the same database. That database must be one a second
process can open: PostgreSQL's test database (SQLite's test database lives in this process's
memory), so these tests run in the PostgreSQL pass, with Redis on 127.0.0.1:6379 (db
JOBS_TEST_REDIS_DB, default 9; the tests empty that db, never another)."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.db import connection

from budget.models import Agency
from kpitrack.jobs.models import Job
from tests import interpreters

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
REDIS = f"redis://127.0.0.1:6379/{os.environ.get('JOBS_TEST_REDIS_DB', '9')}"
PDF = "/reports/nia/budget/2013/pdf/?q=2"


def _redis():
    import redis

    client = redis.Redis.from_url(REDIS, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS}")
    return client


@pytest.fixture(scope="module", autouse=True)
def _postgresql():
    """A module's fixture, set up before any test's: on SQLite each test skips before its
    transactional database is set up and flushed and the documents loaded again (~1.3 s of CPU
    a test)."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "the worker process must open the test database: PostgreSQL pass only "
            "(SQLite's test database is in this process's memory)"
        )


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    def __init__(self, media, pool: str):
        self.log = open(media.parent / f"worker-{pool}.log", "w+")
        env = {
            **os.environ,
            "KPITRACK_ENV_FILE": "",
            "DEBUG": "1",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": REDIS,
            "MEDIA_ROOT": str(media),
            "JOBS_HEARTBEAT_SECONDS": "1",
            "JOBS_STALE_SECONDS": "3",
        }
        args = ["-m", "celery", "-A", "kpitrack", "worker", "-l", "info"]
        args += ["--pool", pool, "--concurrency", "1", "--without-mingle", "--without-gossip"]
        # Forked with Django's modules imported (tests/interpreters.py): a worker's start is
        # Celery's and kpitrack's, not the interpreter's and Django's again.
        self.process = interpreters.start(args, cwd=ROOT, env=env, log=self.log)
        self.wait_for_log("ready.")

    def text(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def wait_for_log(self, needle, limit=120):
        deadline = time.monotonic() + limit
        while needle not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker: no {needle!r} in its log:\n{self.text()}")
            time.sleep(0.2)

    def pool_process(self) -> int:
        """The pid of the prefork pool's process (the child of the worker we started)."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                return int(stat.parent.name)
        pytest.fail("the worker has no pool process")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _empty(client, *, keep_bindings: bool) -> None:
    for key in client.scan_iter():  # this test db's only
        # A running worker's queue bindings: without them a task sent is routed nowhere.
        if not (keep_bindings and key.startswith(b"_kombu.binding.")):
            client.delete(key)


@pytest.fixture(scope="module")
def _module_media(tmp_path_factory):
    return tmp_path_factory.mktemp("celery") / "media"


@pytest.fixture(scope="module")
def _shared(_module_media):
    """One prefork worker for the tests that need just a worker running (each start is a
    Celery and Django start, ~3 s of CPU); a test that must be the only worker stops it."""
    client = _redis()
    _empty(client, keep_bindings=False)
    shared = {"worker": None}
    yield shared
    if shared["worker"] is not None:
        shared["worker"].stop()
    _empty(client, keep_bindings=False)


@pytest.fixture
def media(settings, _module_media):
    """The module's one folder for stored exports and job files (the shared worker's
    MEDIA_ROOT), emptied before each test."""
    shutil.rmtree(_module_media, ignore_errors=True)
    _module_media.mkdir()
    settings.MEDIA_ROOT = _module_media
    settings.CELERY_BROKER_URL = ""
    return _module_media


@pytest.fixture
def broker(settings, _shared):
    client = _redis()
    _empty(client, keep_bindings=_shared["worker"] is not None)
    settings.CELERY_BROKER_URL = REDIS
    return client


@pytest.fixture
def worker(broker, media, _shared):
    """worker(): the module's shared prefork worker, started on first use."""

    def start():
        if _shared["worker"] is None:
            _shared["worker"] = Worker(media, "prefork")
        return _shared["worker"]

    yield start
    _empty(broker, keep_bindings=_shared["worker"] is not None)


@pytest.fixture
def worker_after(broker, media, _shared):
    """For a test whose task must wait in the queue until a worker starts: a shared worker
    already running is stopped; worker_after() starts the shared one, which the next tests use
    (this module's first test, so that it is the only start)."""
    if _shared["worker"] is not None:
        _shared["worker"].stop()
        _shared["worker"] = None
    _empty(broker, keep_bindings=False)

    def start():
        _shared["worker"] = Worker(media, "prefork")
        return _shared["worker"]

    yield start
    _empty(broker, keep_bindings=_shared["worker"] is not None)


@pytest.fixture
def own_worker(broker, media, _shared):
    """For a test that must be the only worker from its first request on (a shared worker
    would take the task it sends): the shared one is stopped; own_worker(pool) starts one,
    stopped after the test."""
    if _shared["worker"] is not None:
        _shared["worker"].stop()
        _shared["worker"] = None
    _empty(broker, keep_bindings=False)
    started = []

    def start(pool):
        started.append(Worker(media, pool))
        return started[-1]

    yield start
    for one in started:
        one.stop()
    _empty(broker, keep_bindings=False)


@pytest.fixture
def reader(client, django_user_model):
    if not Agency.objects.filter(code="nia").exists():  # an earlier transactional test flushed
        from kpitrack.sources import load_folder
        from tests.conftest import SEED

        load_folder(SEED)
    user = django_user_model.objects.create_superuser("celery", "celery@example.org", "x")
    client.force_login(user)
    return client


def _job_of(response) -> int:
    assert response.status_code == 302, response.content.decode()[:500]
    return int(response["Location"].split("/")[2])


def _wait(job_id, until, limit=300):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if until(job):
            return job
        time.sleep(0.2)
    pytest.fail(f"job {job_id}: still {job.state} after {limit} s")


def _pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def test_a_job_cancelled_before_a_worker_takes_it_is_not_run(reader, worker_after):
    job_id = _job_of(reader.get("/reports/nia/performance/2012/xlsx/"))
    reader.post(f"/jobs/{job_id}/cancel/")
    running = worker_after()
    running.wait_for_log("succeeded")  # the message was taken, and left the job alone
    job = Job.objects.get(pk=job_id)
    assert (job.state, job.attempts, job.result) == ("cancelled", 0, "")


def test_a_worker_runs_the_job_and_any_process_serves_the_file(reader, worker):
    worker()
    job_id = _job_of(reader.get("/reports/nia/performance/2012/xlsx/"))
    job = _wait(job_id, lambda job: not job.active)
    assert (job.state, job.error, job.done, job.total) == ("done", "", 3, 3)
    status = reader.get(f"/jobs/{job_id}/status/").json()
    assert status["download_url"] == f"/jobs/{job_id}/download/"
    data = b"".join(reader.get(status["download_url"]).streaming_content)
    assert data.startswith(b"PK")
    assert reader.get("/reports/nia/performance/2012/xlsx/").status_code == 200  # stored


def test_the_workers_processes_run_below_the_web_requests_priority(worker):
    """JOBS_NICE (10 by default) steps below the process that started the worker, for the
    worker and its pool's process: on a busy machine a render waits for the requests."""
    running = worker()
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    assert os.getpriority(os.PRIO_PROCESS, running.process.pid) == expected
    assert os.getpriority(os.PRIO_PROCESS, running.pool_process()) == expected


def test_a_worker_runs_the_quarterly_report_and_a_ministrys_table(reader, worker):
    worker()
    quarterly = _job_of(reader.get("/reports/nia/quarterly/2013/q1/xlsx/"))
    table = _job_of(reader.get("/dashboards/moi/indicators/?year=2012&quarter=2&export=csv"))
    for job_id in (quarterly, table):
        job = _wait(job_id, lambda job: not job.active)
        assert (job.state, job.error) == ("done", "")
    assert reader.get("/reports/nia/quarterly/2013/q1/xlsx/").status_code == 200  # stored
    data = b"".join(reader.get(f"/jobs/{table}/download/").streaming_content)
    assert data.startswith("\ufeff機關代碼".encode())


def test_a_pool_process_killed_mid_job_is_retried_and_no_partial_file_served(reader, worker):
    running = worker()
    job_id = _job_of(reader.get(PDF))
    _wait(job_id, lambda job: job.state == "running")
    os.kill(running.pool_process(), signal.SIGKILL)
    job = _wait(job_id, lambda job: not job.active)
    assert "WorkerLostError" in running.text() or "lost" in running.text().lower()
    assert (job.state, job.attempts) == ("done", 2)
    data = b"".join(reader.get(f"/jobs/{job_id}/download/").streaming_content)
    assert "預算總說明" in _pdf_text(data)  # a whole PDF


def test_a_worker_confirms_a_large_workbook_from_the_shared_upload(client, worker, settings, alice):
    """The web process stores the upload and queues the job; the worker, another process as it
    would be on another server, reads the upload from shared storage and writes the rows."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from performance.models import Result
    from tests.performance.conftest import build_workflow
    from tests.performance.workbook_helpers import download, fill

    settings.WORKBOOK_JOB_ROWS = 1
    flow = build_workflow(alice)
    worker()
    data = fill(
        download(alice, flow),
        {(flow.count, "辦理件數（件）"): 150, (flow.ratio, "分子：查獲件數"): 45},
    )
    client.force_login(alice)
    scope = {"agency": flow.agency.code, "unit": "ops", "year": flow.year, "quarter": 1}
    upload = {**scope, "file": SimpleUploadedFile("w.xlsx", data)}
    preview = client.post("/workbook/upload/", upload)
    job_id = _job_of(client.post("/workbook/confirm/", {"token": preview.context["token"]}))
    job = _wait(job_id, lambda job: not job.active)
    assert (job.state, job.error, job.done, job.total) == ("done", "", 2, 2)
    result = Result.objects.get(indicator=flow.count, quarter=1)
    assert result.figures.get().value == 150
    assert (result.history.get().history_user, result.history.get().history_change_reason) == (
        alice,
        "Excel 匯入：w.xlsx",
    )
    assert "已由「w.xlsx」寫入 2 列的變更" in client.get(f"/jobs/{job_id}/").content.decode()


def test_a_worker_killed_mid_job_leaves_a_failed_job_with_a_message(reader, own_worker, settings):
    settings.JOBS_STALE_SECONDS = 3
    running = own_worker("solo")
    job_id = _job_of(reader.get(PDF))
    _wait(job_id, lambda job: job.state == "running")
    running.process.send_signal(signal.SIGKILL)
    running.process.wait()
    time.sleep(settings.JOBS_STALE_SECONDS + 1)  # past the last heartbeat it wrote
    status = reader.get(f"/jobs/{job_id}/status/").json()
    assert status["state"] == "failed"
    assert "程序已停止回應" in status["error"]
    assert status["download_url"] is None
    assert reader.get(f"/jobs/{job_id}/download/").status_code == 409
