"""What a server error leaves behind: one log record with its traceback and the request id that
the answer shows (page, API), a mail to ADMINS and an event in Sentry when those are set.

The settings of LOGGING, ADMINS and Sentry are read once at start-up, so the cases that need
them as a deployed site has them run tests/site/force_error.py in a fresh interpreter and read
its standard error and output; the others run here."""

import gzip
import json
import logging
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from kpitrack.core.logs import RequestIdFilter
from tests import interpreters
from tests.conftest import ROOT

# Variables of the developer's shell that would change what the fresh interpreter logs.
_OWN = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "LOG_FORMAT", "LOG_LEVEL")
_OWN_PREFIXES = ("ADMINS", "SENTRY_", "EMAIL_", "SERVER_EMAIL", "DEFAULT_FROM_EMAIL")
_HEX_ID = re.compile(r"[0-9a-f]{32}")
# tests/site/failing_urls.py's view raises this.
_BUG = "RuntimeError: a bug"


def _force_error(path, tmp_path, **env):
    """GET `path` of tests/site/failing_urls.py in a fresh interpreter with production settings:
    (the answer, standard error, standard output)."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in _OWN and not key.startswith(_OWN_PREFIXES)
    }
    clean.update(
        KPITRACK_ENV_FILE="",
        DJANGO_SETTINGS_MODULE="kpitrack.settings",
        SECRET_KEY="p" * 50,
        ALLOWED_HOSTS="testserver",
        # Nothing here may touch a database: an empty file has no tables to read.
        DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        **env,
    )
    result = interpreters.run(
        ["-m", "tests.site.force_error", path], cwd=ROOT, env=clean, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1]), result.stderr, result.stdout


def test_a_failing_page_is_logged_once_as_json_with_its_traceback_and_the_id_its_page_shows(
    tmp_path,
):
    answer, stderr, _ = _force_error("/boom/", tmp_path, LOG_FORMAT="json")
    assert answer["status"] == 500
    request_id = answer["request_id"]
    assert _HEX_ID.fullmatch(request_id)
    assert f'<code class="request-id">{request_id}</code>' in answer["body"]
    assert _BUG not in answer["body"]

    records = [json.loads(line) for line in stderr.splitlines()]  # every line is one object
    errors = [record for record in records if record["level"] == "ERROR"]
    assert len(errors) == 1, errors
    [error] = errors
    assert error["logger"] == "django.request"
    assert error["message"] == "Internal Server Error: /boom/"
    assert error["request_id"] == request_id
    assert error["status_code"] == 500
    assert error["exc_info"].startswith("Traceback (most recent call last):")
    assert error["exc_info"].rstrip().endswith(_BUG)
    assert "time" in error and "request" not in error


def test_a_failing_page_is_logged_as_text_when_asked(tmp_path):
    answer, stderr, _ = _force_error("/boom/", tmp_path, LOG_FORMAT="text")
    request_id = answer["request_id"]
    [line] = [line for line in stderr.splitlines() if "Internal Server Error" in line]
    assert f" ERROR django.request [{request_id}] Internal Server Error: /boom/" in line
    after = stderr.split(line, 1)[1]
    assert after.lstrip("\n").startswith("Traceback (most recent call last):")
    assert _BUG in after


def test_admins_are_mailed_the_traceback_and_the_request_id(tmp_path):
    # No EMAIL_HOST: the console backend prints the mail to standard output.
    answer, _, stdout = _force_error(
        "/boom/", tmp_path, ADMINS="Ops Team <ops@example.org>, lin@example.org"
    )
    mail = stdout.rsplit("\n", 2)[0]
    assert "Subject: [kpitrack] ERROR (EXTERNAL IP): Internal Server Error: /boom/" in mail
    assert "To: ops@example.org, lin@example.org" in mail
    assert f"[{answer['request_id']}] Internal Server Error: /boom/" in mail
    assert "Exception Type: RuntimeError at /boom/\nException Value: a bug" in mail


def test_no_mail_without_admins(tmp_path):
    _, _, stdout = _force_error("/boom/", tmp_path)
    assert "Subject:" not in stdout


class _SentrySink(BaseHTTPRequestHandler):
    """Stands where Sentry's server would: keeps each envelope POSTed to it."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        self.server.envelopes.append((self.path, body.decode()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_sink():
    """A local HTTP server on the first free port of 8160–8179 (this work's range)."""
    for port in range(8160, 8180):
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), _SentrySink)
            break
        except OSError:
            continue
    else:
        pytest.fail("no free port in 8160-8179")
    server.envelopes = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _events(envelopes):
    for _, envelope in envelopes:
        lines = envelope.splitlines()
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                yield json.loads(payload)


def test_a_server_error_reaches_sentry_with_its_request_id_and_no_personal_data(
    tmp_path, sentry_sink
):
    port = sentry_sink.server_address[1]
    answer, stderr, _ = _force_error(
        "/boom/",
        tmp_path,
        SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/42",
        SENTRY_ENVIRONMENT="staging",
        SENTRY_RELEASE="kpitrack@1.2.3",
    )
    assert answer["status"] == 500
    assert all(path == "/api/42/envelope/" for path, _ in sentry_sink.envelopes)
    events = [
        event
        for event in _events(sentry_sink.envelopes)
        if any(value["type"] == "RuntimeError" for value in event["exception"]["values"])
    ]
    assert events, (sentry_sink.envelopes, stderr)
    for event in events:
        assert event["tags"]["request_id"] == answer["request_id"]
        assert (event["environment"], event["release"]) == ("staging", "kpitrack@1.2.3")
        assert "user" not in event  # send_default_pii=False
        assert "cookies" not in event.get("request", {})


# In this interpreter: the request id, and the API's 500s.


@pytest.fixture
def logged(caplog):
    """caplog, its records carrying `request_id` as the site's handler adds it."""
    caplog.handler.addFilter(RequestIdFilter())
    return caplog


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("0af7651916cd43dd8448eb211c80319c", True),
        ("edge-lb.2f1c_7A", True),
        ("x" * 64, True),
        ("short", False),
        ("x" * 65, False),
        ("two words here", False),
        ("id\r\nX-Injected: 1", False),
        ('"><script>', False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_it_is_a_short_safe_token(client, sent, kept):
    response = client.get("/accounts/login/", headers={"X-Request-ID": sent})
    assert response.status_code == 200
    answered = response["X-Request-ID"]
    if kept:
        assert answered == sent
    else:
        assert _HEX_ID.fullmatch(answered)


def test_each_request_gets_its_own_id(client):
    first = client.get("/accounts/login/")["X-Request-ID"]
    second = client.get("/accounts/login/")["X-Request-ID"]
    assert first != second and _HEX_ID.fullmatch(first) and _HEX_ID.fullmatch(second)


def _server_errors(records):
    return [r for r in records if r.name == "django.request" and r.levelno >= logging.ERROR]


@pytest.mark.django_db
def test_a_bug_inside_the_api_is_logged_once_with_the_id_its_json_answer_carries(
    client, bob, monkeypatch, logged
):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("kpitrack.api.achievements.achievements_for_year", broken)
    client.force_login(bob)
    response = client.get("/api/v1/achievements/", {"year": 2012})
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    request_id = response["X-Request-ID"]
    assert response.json() == {
        "error": "伺服器處理時發生錯誤，請稍後再試一次；若持續發生，請通知系統管理者。",
        "request_id": request_id,
    }
    [error] = _server_errors(logged.records)
    assert error.request_id == request_id
    assert error.exc_info[0] is RuntimeError and str(error.exc_info[1]) == "a bug"


@pytest.mark.urls("tests.site.failing_urls")
def test_an_error_under_api_outside_django_ninja_still_answers_the_apis_json(logged):
    response = Client(raise_request_exception=False).get("/api/boom/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["request_id"] == response["X-Request-ID"]
    [error] = _server_errors(logged.records)
    assert error.request_id == response["X-Request-ID"]
    assert error.exc_info[0] is RuntimeError
