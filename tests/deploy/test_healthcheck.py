"""deploy/healthcheck.py, the image's HEALTHCHECK, against a real HTTP server on this machine."""

import http.server
import os
import subprocess
import sys
import threading

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "deploy" / "healthcheck.py"


@pytest.fixture
def server():
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        status = 200

        def do_GET(self):
            seen.append((self.path, self.headers["Host"], self.headers["X-Forwarded-Proto"]))
            self.send_response(Handler.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, Handler, seen
    httpd.shutdown()
    httpd.server_close()


def _check(port, **env):
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        env={**os.environ, "PORT": str(port), **env},
        capture_output=True,
        text=True,
    )


def test_healthy_when_healthz_answers_200_asked_as_the_proxy_would(server):
    httpd, _handler, seen = server
    result = _check(httpd.server_port, ALLOWED_HOSTS="kpi.example.org, localhost")
    assert result.returncode == 0, result.stderr
    assert seen == [("/healthz/", "kpi.example.org", "https")]


def test_unhealthy_when_healthz_answers_otherwise(server):
    httpd, handler, _seen = server
    handler.status = 503
    result = _check(httpd.server_port, ALLOWED_HOSTS=".example.org")
    assert result.returncode == 1
    assert "answered 503" in result.stderr


def test_unhealthy_when_nothing_listens(server):
    httpd, _handler, _seen = server
    port = httpd.server_port
    httpd.shutdown()
    httpd.server_close()
    result = _check(port)
    assert result.returncode == 1
