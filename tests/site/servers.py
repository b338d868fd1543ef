"""What the serving tests share: a clean environment for a fresh kpitrack process, a free port,
the site run as a real server (runserver or gunicorn) in a subprocess, and a TCP proxy in front
of PostgreSQL that a test stops and starts to take the database away and bring it back."""

import os
import selectors
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

from tests import interpreters
from tests.conftest import ROOT

# Upper bound on any wait below: only reached when something hangs or is broken.
WAIT = 60
_SETTINGS = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "MEDIA_ROOT", "REDIS_URL")


def site_env(**settings) -> dict[str, str]:
    """The environment of a kpitrack process deployed as production: DEBUG off, no .env, no
    setting of the shell the tests run in; `settings` adds or replaces values."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _SETTINGS and not k.startswith(("DB_POOL", "GUNICORN", "WEB_CONC", "PORT"))
    }
    env.update(
        KPITRACK_ENV_FILE="",
        DEBUG="0",
        SECRET_KEY="serving-tests-" + "k" * 40,
        ALLOWED_HOSTS="127.0.0.1,testserver",
    )
    env.update(settings)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, what: str, bound: float = WAIT):
    deadline = time.monotonic() + bound
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {bound} s waiting for {what}")
        time.sleep(0.2)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, *, data: bytes | None = None, headers=None, timeout: float = WAIT, follow=True):
    """(status, headers, body) of one real HTTP request; an error status is an answer too, and
    so is a redirect when `follow` is off."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@contextmanager
def running(kind: str, env: dict[str, str], log, *, started: list | None = None):
    """kpitrack served by `runserver` (threaded, no reloader) or gunicorn (kpitrack's own
    gunicorn.conf.py) on a free loopback port; yields its base URL once /healthz/ answers.
    `started`, if given, receives the server's process (a tests.interpreters.Child; a test
    that stops it itself)."""
    port = free_port()
    if kind == "runserver":
        command = ["manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    else:
        command = [os.path.join(os.path.dirname(sys.executable), "gunicorn")]
        command += ["--config", "kpitrack/gunicorn.conf.py"]
    # Forked with Django's modules imported (tests/interpreters.py): the server's own start,
    # and each gunicorn worker's, skips the interpreter's start and those imports.
    process = interpreters.start(command, cwd=ROOT, env={**env, "PORT": str(port)}, log=log)
    base = f"http://127.0.0.1:{port}"
    if started is not None:
        started.append(process)
    try:

        def up():
            assert process.poll() is None, f"{kind} exited with {process.returncode}"
            try:
                return fetch(base + "/healthz/", timeout=5)[0] == 200
            except OSError:
                return False

        wait_until(up, f"{kind} to answer /healthz/")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Proxy:
    """Forwards a loopback port to PostgreSQL. stop() closes the port and every connection
    through it, as a database that went away would; start() opens it again on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._listener = None
        self._thread = None
        self._running = threading.Event()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._running.is_set()

    def start(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        self._running.set()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def stop(self):
        self._running.clear()
        self._thread.join(WAIT)
        self._listener.close()
        with self._lock:
            for pair in self._pairs:
                for end in pair:
                    _close(end)
            self._pairs.clear()

    def _accept(self):
        while self._running.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket):
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while True:
                for key, _ in selector.select(timeout=1):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            selector.close()
            _close(a)
            _close(b)


def _close(end: socket.socket):
    try:
        end.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    end.close()
