"""Many app servers: nothing a user does lives in one server's process. Two gunicorn servers on
two ports share one PostgreSQL database, one Redis and one MEDIA_ROOT, as docs/deploying.md
("Several app servers behind a proxy") has them, and one browser's cookies go to both, as they
would behind a proxy that sends each request to either:

- a report export started as a job on one is followed and downloaded on the other, run by a
  Celery worker on Redis (as deployed with a broker) and, without a broker, by the pool of the
  server that started it; the other then serves the stored export without a new job;
- a workbook uploaded and previewed on one is confirmed on the other, and its figures written;
- AXES_FAILURE_LIMIT wrong passwords on one lock the pair out on the other too;
- without a broker, the jobs in the pool of a server process that died (the running one and one
  waiting behind it) are failed on the other with a message, and asked again there, run.

The servers (and the worker) open the test database, so this runs in the PostgreSQL pass only
(SQLite's test database lives in this process's memory), with Redis on 127.0.0.1:6379, db
JOBS_TEST_REDIS_DB (default 9; emptied here, never another), like tests/jobs/test_celery.py.
Every wait is bounded (tests/site/servers.py, WAIT)."""

import io
import json
import os
import re
import secrets
import signal
import subprocess
import urllib.parse
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django.conf import global_settings
from django.db import connection
from openpyxl import load_workbook

from kpitrack.jobs.models import Job
from performance import workbook as wb
from performance.models import Result
from tests import interpreters
from tests.conftest import ROOT, make_alice
from tests.site.servers import WAIT, fetch, running, site_env, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

REDIS = f"redis://127.0.0.1:6379/{os.environ.get('JOBS_TEST_REDIS_DB', '9')}"
FAILURE_LIMIT = 3  # AXES_FAILURE_LIMIT of both servers
# A report renders in seconds; the bound is for a machine loaded by other test runs.
JOB_WAIT = 180


def _redis():
    import redis

    client = redis.Redis.from_url(REDIS, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"two servers share one Redis: none at {REDIS}")
    return client


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture(scope="module")
def shared(request, tmp_path_factory):
    """What every server of this module shares: the test database (PostgreSQL), Redis (its test
    db emptied before and after) and a MEDIA_ROOT. Skips where either is missing."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "the servers must open the test database: PostgreSQL pass only "
            "(SQLite's test database is in this process's memory)"
        )
    client = _redis()
    request.getfixturevalue("django_db_setup")  # the test database, under its final name
    client.flushdb()  # this test db's keys only: the cache's and the queue's
    folder = tmp_path_factory.mktemp("two-servers")
    yield {
        "folder": folder,
        "env": {
            "DATABASE_URL": _database_url(),
            "MEDIA_ROOT": str(folder / "media"),
            "REDIS_URL": REDIS,
            "WEB_CONCURRENCY": "1",
            "AXES_FAILURE_LIMIT": str(FAILURE_LIMIT),
        },
    }
    client.flushdb()


@contextmanager
def _two_servers(shared, name: str, *, started: list | None = None, **settings):
    """Servers A and B (base URLs), each its own gunicorn on its own free port; `started`
    receives their processes."""
    env = site_env(**shared["env"], **settings)
    with ExitStack() as stack:
        bases = []
        for server in ("a", "b"):
            log = stack.enter_context((shared["folder"] / f"{name}-{server}.log").open("w"))
            bases.append(stack.enter_context(running("gunicorn", env, log, started=started)))
        yield tuple(bases)


@contextmanager
def _celery_worker(shared):
    """`celery -A kpitrack worker` on the same database, Redis and MEDIA_ROOT, ready for jobs."""
    path = shared["folder"] / "worker.log"
    env = site_env(**shared["env"], CELERY_BROKER_URL=REDIS)
    command = ["-m", "celery", "-A", "kpitrack", "worker", "-l", "info"]
    command += ["--pool", "solo", "--without-mingle", "--without-gossip", "--without-heartbeat"]
    with path.open("w") as log:
        # Forked with Django's modules imported, as the servers are (tests/site/servers.py).
        process = interpreters.start(command, cwd=ROOT, env=env, log=log)
        try:

            def ready():
                assert process.poll() is None, f"the worker exited: {path.read_text()}"
                return "ready." in path.read_text()

            wait_until(ready, f"the Celery worker to be ready (log: {path})", bound=2 * WAIT)
            yield
        finally:
            process.terminate()
            try:
                process.wait(WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def deployed(shared):
    """Both servers with the broker (CELERY_BROKER_URL), and one Celery worker: the deploy of
    docs/deploying.md. Started once for the module: the tests' own rows are flushed between
    tests (transactional), the servers hold nothing of theirs."""
    with _celery_worker(shared), _two_servers(shared, "deployed", CELERY_BROKER_URL=REDIS) as pair:
        yield pair


@pytest.fixture(scope="module")
def embedded(shared):
    """Both servers without a broker: each runs the jobs its requests start in its own pool, of
    one thread, and fails the jobs of a dead process 3 s after their last heartbeat. Started once
    for the module (servers, processes): the test that kills a server's process kills A's, whose
    pool no other test has used."""
    started = []
    with _two_servers(
        shared,
        "embedded",
        started=started,
        CELERY_BROKER_URL="",
        JOBS_IN_PROCESS_WORKERS="1",
        JOBS_HEARTBEAT_SECONDS="1",
        JOBS_STALE_SECONDS="3",
    ) as (a, b):
        yield a, b, started


class Browser:
    """One person's browser in front of a proxy: the cookies any server sets (the session, the
    CSRF cookie) are sent to every server. Redirects are not followed: each is checked."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def get(self, url):
        return self._send(url)

    def post(self, url, fields: dict, *, files: dict | None = None):
        fields = {**fields, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
        if files:
            body, kind = _multipart(fields, files)
        else:
            body = urllib.parse.urlencode(fields).encode()
            kind = "application/x-www-form-urlencoded"
        return self._send(url, data=body, headers={"Content-Type": kind})

    def sign_in(self, base, username, password):
        self.get(f"{base}/accounts/login/")  # the CSRF cookie
        return self.post(f"{base}/accounts/login/", {"username": username, "password": password})

    def _send(self, url, *, data=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        status, answer, body = fetch(url, data=data, headers=headers, follow=False)
        for line in answer.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(line).items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return status, answer, body


def _multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = secrets.token_hex(16)
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(f"{value}\r\n".encode())
    for name, (filename, data) in files.items():
        out.write(
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


@pytest.fixture(autouse=True)
def _passwords_the_servers_can_check(settings):
    """Passwords hashed as the servers check them (the tests' own MD5 hasher, tests/conftest.py,
    is not in the site's PASSWORD_HASHERS)."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS[:1]


@pytest.fixture
def flow(django_user_model):
    """alice and the small agency of the quarterly workflow, committed for the servers to read."""
    from tests.performance.conftest import build_workflow

    return build_workflow(make_alice())


def _signed_in(browser, base):
    status, answer, _body = browser.sign_in(base, "alice", "alice-password")
    assert status == 302 and answer["Location"] == "/", status
    assert "sessionid" in browser.cookies


def _follow_job_and_download(browser, start, follow, flow, logs):
    """The report's PDF asked for on `start` becomes a job; `follow` shows it, waits for it
    and serves its file, then serves the stored export itself, with no second job."""
    report = f"/reports/wf/performance/{flow.year}/pdf/"
    status, answer, _body = browser.get(start + report)
    assert status == 302, status
    page = answer["Location"]
    job_id = int(re.fullmatch(r"/jobs/(\d+)/", page)[1])
    assert browser.get(follow + page)[0] == 200

    def finished():
        status, _answer, body = browser.get(f"{follow}/jobs/{job_id}/status/")
        assert status == 200, (status, body[:300])
        state = json.loads(body)
        return state if state["finished"] else None

    state = wait_until(finished, f"job {job_id} to end (logs: {logs})", bound=JOB_WAIT)
    assert (state["state"], state["error"]) == ("done", ""), state
    status, answer, pdf = browser.get(follow + state["download_url"])
    assert status == 200 and answer["Content-Type"] == "application/pdf", status
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    assert "流程測試署" in text.stdout.decode()  # the agency's report, whole
    # The stored export is shared storage too: served at once by the other server.
    status, answer, stored = browser.get(follow + report)
    assert (status, stored) == (200, pdf)
    assert Job.objects.count() == 1
    return Job.objects.get(pk=job_id)


def test_a_job_started_on_one_server_runs_on_a_worker_and_is_downloaded_on_the_other(
    deployed, flow, shared
):
    a, b = deployed
    browser = Browser()
    _signed_in(browser, a)
    job = _follow_job_and_download(browser, a, b, flow, shared["folder"])
    assert "run_job" in (shared["folder"] / "worker.log").read_text()  # the worker ran it
    assert job.attempts == 1


def test_without_a_broker_the_pool_of_the_server_that_started_it_runs_it_and_the_other_serves_it(
    embedded, flow, shared
):
    a, b, _processes = embedded
    browser = Browser()
    _signed_in(browser, a)
    # Started on B, whose pool runs it: A's pool is left unused for the test that kills it.
    job = _follow_job_and_download(browser, b, a, flow, shared["folder"])
    assert job.attempts == 1


def _worker_of(master: subprocess.Popen) -> int:
    """The pid of gunicorn's (one) worker process: the child of the master we started."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master.pid:
            return int(stat.parent.name)
    pytest.fail("gunicorn has no worker process")


def test_jobs_left_in_the_pool_of_a_server_process_that_died_are_failed_and_asked_again(
    embedded, flow
):
    """Without a broker the queue of a server's pool is in its process. Killed, it leaves a
    running job and one waiting behind it (one pool thread): the other server fails both with a
    message once their heartbeat is JOBS_STALE_SECONDS old, and the same export asked again
    there is a new job, which it runs and serves."""
    a, b, started = embedded
    browser = Browser()
    _signed_in(browser, a)
    jobs = []
    for fmt in ("pdf", "xlsx"):
        status, answer, _body = browser.get(f"{a}/reports/wf/performance/{flow.year}/{fmt}/")
        assert status == 302, status
        jobs.append(int(re.fullmatch(r"/jobs/(\d+)/", answer["Location"])[1]))
    # The PDF's first render in a process (its font scan) takes seconds: the workbook waits.
    assert Job.objects.get(pk=jobs[1]).state == "queued", "the first job ended too soon"
    os.kill(_worker_of(started[0]), signal.SIGKILL)

    def failed():
        states = []
        for job in jobs:
            status, _answer, body = browser.get(f"{b}/jobs/{job}/status/")
            assert status == 200, status
            states.append(json.loads(body))
        return states if all(s["state"] == "failed" for s in states) else None

    for state in wait_until(failed, "both jobs failed on the other server", bound=WAIT):
        assert "程序已停止回應" in state["error"], state

    status, answer, _body = browser.get(f"{b}/reports/wf/performance/{flow.year}/xlsx/")
    assert status == 302, status
    again = int(re.fullmatch(r"/jobs/(\d+)/", answer["Location"])[1])
    assert again not in jobs

    def finished():
        body = browser.get(f"{b}/jobs/{again}/status/")[2]
        state = json.loads(body)
        return state if state["finished"] else None

    state = wait_until(finished, f"job {again} to end on {b}", bound=JOB_WAIT)
    assert state["state"] == "done", state
    assert browser.get(b + state["download_url"])[2].startswith(b"PK")


def _edited(workbook: bytes, flow, count: int) -> bytes:
    book = load_workbook(io.BytesIO(workbook))
    sheet = book.worksheets[0]
    headers = {cell.value: cell.column for cell in sheet[wb.HEADER_ROW]}
    for row in range(wb.FIRST_ROW, sheet.max_row + 1):
        if sheet.cell(row, wb.KEY_COLUMN).value == flow.count.pk:
            sheet.cell(row, headers["辦理件數（件）"], count)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_workbook_previewed_on_one_server_is_confirmed_on_the_other(deployed, flow):
    a, b = deployed
    browser = Browser()
    _signed_in(browser, a)
    scope = {"agency": "wf", "unit": "ops", "year": flow.year, "quarter": flow.quarter}
    status, answer, workbook = browser.get(
        f"{b}/workbook/download/?{urllib.parse.urlencode(scope)}"
    )
    assert status == 200 and workbook.startswith(b"PK"), status

    status, _answer, preview = browser.post(
        f"{a}/workbook/upload/", scope, files={"file": ("填報.xlsx", _edited(workbook, flow, 120))}
    )
    html = preview.decode()
    assert status == 200, html[:1000]
    assert "辦理件數（件）：（空白） → 120" in html
    token = re.search(r'name="token" value="([^"]+)"', html)[1]
    assert not Result.objects.filter(indicator=flow.count).exists()

    status, _answer, done = browser.post(f"{b}/workbook/confirm/", {"token": token})
    assert status == 200, done.decode()[:1000]
    assert "寫入 1 列的變更" in done.decode()
    result = Result.objects.get(indicator=flow.count, quarter=flow.quarter)
    assert result.figures.get().value == Decimal("120")
    # Confirmed once: the upload is gone for every server.
    assert browser.post(f"{a}/workbook/confirm/", {"token": token})[0] == 403


def test_a_lockout_on_one_server_holds_on_the_other(deployed, django_user_model):
    a, b = deployed
    django_user_model.objects.create_user("dora", "dora@example.org", "dora-password")
    browser = Browser()
    statuses = [browser.sign_in(a, "dora", "wrong")[0] for _ in range(FAILURE_LIMIT)]
    assert statuses == [200] * (FAILURE_LIMIT - 1) + [429]

    status, answer, page = browser.sign_in(b, "dora", "dora-password")
    assert status == 429, status
    assert f"已達 {FAILURE_LIMIT} 次，暫停登入" in page.decode()
    assert int(answer["Retry-After"]) > 0
    assert "sessionid" not in browser.cookies
    # Another user from the same address is not held up.
    django_user_model.objects.create_user("erin", "erin@example.org", "erin-password")
    assert browser.sign_in(b, "erin", "erin-password")[0] == 302
