"""Fresh interpreters, cheaply: `python manage.py …`, `python -m …`, `python -c …` run in a process
forked from a server that has already imported Django and the third-party libraries kpitrack
starts with, but nothing of kpitrack and no settings (docs/testing.md, "CI time").

A test that starts kpitrack under other settings (tests/site/test_settings.py and its
neighbours) needs a process whose settings module has never been imported: that is what each
forked child is. Python's own start and those imports, about two thirds of the CPU of a
`manage.py check`, are paid once per test process instead of once per case. The child gets the
test's environment (os.environ replaced), working folder, argv and sys.path[0] as a new
interpreter would, its own stdin (the input given, or /dev/null), stdout and stderr, and ends
as one does: the non-daemon threads joined, the atexit functions run (logging's flush among
them), the streams flushed; an uncaught exception is printed by sys.excepthook and exits 1.

start() is subprocess.Popen's counterpart, for a server that runs beside the test (gunicorn,
runserver, a Celery worker, tests/site/servers.py): its own start and every process it forks
(gunicorn's workers, a Celery pool) skip those imports too. Children run side by side, run()'s
as well, each waited for by the server as it ends.

What a forked child cannot be is a process whose start itself is under test (interpreter
flags, environment variables Python reads before any code runs): those tests keep
subprocess.run."""

import atexit
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading

# Imported by the server before it forks: none of them reads Django's settings on import
# (django_tables2 and ninja do, so they are left to each child).
PRELOAD = (
    "django.contrib.admin",
    "django.contrib.postgres.fields",
    "django.core.management",
    "django.core.management.commands.check",
    "django.core.management.commands.shell",
    "django.db.backends.postgresql.base",
    "django.db.backends.sqlite3.base",
    "django.forms",
    "django.http",
    "django.template.defaulttags",
    "django.urls",
    # What `manage.py check` imports beyond the above, as far as it reads no setting on import:
    "django.contrib.admin.views.main",
    "django.contrib.auth.hashers",
    "django.contrib.auth.password_validation",
    "django.contrib.sessions.backends.base",
    "django.contrib.staticfiles.finders",
    "django.contrib.staticfiles.storage",
    "django.core.handlers.asgi",
    "django.core.handlers.wsgi",
    "django.core.management.commands.migrate",
    "django.db.migrations.autodetector",
    "django.db.migrations.executor",
    "django.middleware.common",
    "django.middleware.locale",
    "django.middleware.security",
    "django.templatetags.i18n",
    "django.test",
    "django.views.debug",
    "django.views.static",
    "pydantic.json_schema",
    "pydantic.main",
    "pydantic.networks",
    "pydantic.type_adapter",
    "xml.dom.minidom",
    "PIL.Image",
    "asgiref",
    "defusedxml",
    "dj_database_url",
    "django_filters",
    "openpyxl",
    "psycopg",
    "pydantic",
    "pythonjsonlogger",
    "simple_history",
    "sqlparse",
    "whitenoise",
    # What django.setup() imports for kpitrack's INSTALLED_APPS beyond the above, as far as it reads
    # no setting on import (each checked: tests/interpreters.py refuses one that does):
    "csp",
    "csp.constants",
    "django.contrib.admin.apps",
    "django.contrib.contenttypes",
    "django.contrib.contenttypes.management",
    "django.contrib.auth.management",
    "django.contrib.auth.checks",
    "django.contrib.auth.apps",
    "django.contrib.contenttypes.checks",
    "django.contrib.contenttypes.apps",
    "django.contrib.sessions.apps",
    "django.contrib.messages.apps",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles.checks",
    "django.contrib.staticfiles.apps",
    "annotated_types",
    "pydantic._internal._validators",
    "pydantic.types",
    "pydantic.fields",
    "pydantic.plugin._loader",
    "pydantic._internal._dataclasses",
    "pydantic.dataclasses",
    "packaging",
    "packaging.version",
    "csp.checks",
    "csp.apps",
    "axes",
    "axes.apps",
    "django.contrib.auth.validators",
    "django.utils.translation.reloader",
    "simple_history.exceptions",
    "simple_history.utils",
    "simple_history.manager",
    "simple_history.signals",
    "simple_history.models",
    "csp.models",
    "django.contrib.auth.tokens",
    "django.contrib.sites",
    "django.contrib.sites.requests",
    "django.contrib.sites.shortcuts",
    "simple_history.template_utils",
    "axes.handlers",
    "django.contrib.sessions.backends.db",
    "axes.exceptions",
    "xml.sax.handler",
    "xml.sax._exceptions",
    "xml.sax.xmlreader",
    "xml.sax",
    "xml.sax.saxutils",
    # STORAGE_BACKEND=s3's storage (tests/site/test_storage_settings.py builds it in each case):
    # boto3 and botocore are two thirds of such a child's CPU.
    "storages.backends.s3",
)


def _child(request: dict, out: int, err: int, server_fds: tuple[int, ...]) -> None:
    """In the forked child: become the interpreter the request asks for, run it, exit."""
    import runpy
    import signal

    os.setsid()  # its own process group, as subprocess.run's child would be killed alone
    atexit._clear()  # the server's, if any: the child runs only what its own code registers
    # The server's watch for its children's ends is not the child's: a fresh interpreter's
    # SIGCHLD is the default, and gunicorn and Celery install their own.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in server_fds:
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(request["stdin"] or os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out if err is None else err, 2)
    for fd in {null, out, err} - {None}:
        os.close(fd)
    encoding = request["encoding"]
    sys.stdin = open(0, encoding=encoding, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding=encoding, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding=encoding, errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    code = 0
    try:
        args = request["args"]
        if args[0] == "-m":
            sys.argv = [args[1], *args[2:]]
            sys.path[0] = os.getcwd()
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        elif args[0] == "-c":
            sys.argv = ["-c", *args[2:]]
            sys.path[0] = ""
            exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv = list(args)
            sys.path[0] = os.path.dirname(os.path.abspath(args[0]))
            runpy.run_path(args[0], run_name="__main__")
    except SystemExit as stop:
        code = _exit_code(stop.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    try:
        threading._shutdown()
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _exit_code(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def serve() -> None:
    """The server: one request a line on stdin. It answers `s <pid>` as it starts the child, and
    `x <pid> <exit code (or minus the signal that ended it)> <its CPU> <the server's CPU>` when
    the child ends (seconds, user + system): children run side by side (start(): a server under
    test while the test runs others)."""
    import importlib
    import resource
    import selectors
    import signal

    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for name in PRELOAD:
        importlib.import_module(name)
    # The point of each child: settings never read before. A library that read them on import
    # would hand every child the settings of the environment the server started in.
    from django.conf import settings

    ours = ("kpitrack", "budget", "performance")
    read = [name for name in sys.modules if name.split(".")[0] in ours]
    if settings.configured or read:
        raise RuntimeError(f"PRELOAD read the settings or imported kpitrack: {read}")
    # A child's end wakes the loop below through this pipe (SIGCHLD), as a request does.
    woken, wake = os.pipe()
    os.set_blocking(woken, False)
    os.set_blocking(wake, False)
    signal.set_wakeup_fd(wake)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    waiting = selectors.DefaultSelector()
    waiting.register(0, selectors.EVENT_READ)
    waiting.register(woken, selectors.EVENT_READ)
    children, unread, open_ = set(), b"", True

    def answer(line: bytes) -> None:
        os.write(1, line + b"\n")

    def reap() -> None:
        while children:
            pid, status, used = os.wait4(-1, os.WNOHANG)
            if pid == 0:
                return
            children.discard(pid)
            own = resource.getrusage(resource.RUSAGE_SELF)
            # The child's CPU and the server's own so far (user + system): tests/cpuprof.py
            # charges them to the test that ran the child (unreaped_cpu()).
            answer(
                b"x %d %d %.6f %.6f"
                % (
                    pid,
                    os.waitstatus_to_exitcode(status),
                    used.ru_utime + used.ru_stime,
                    own.ru_utime + own.ru_stime,
                )
            )

    while open_ or children:
        if not open_:  # the tests ended: what they left running ends too, and is waited for
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        for key, _ in waiting.select():
            if key.fd == woken:
                with contextlib.suppress(BlockingIOError):
                    while os.read(woken, 512):
                        pass
                continue
            chunk = os.read(0, 65536)
            if not chunk:
                open_ = False
                waiting.unregister(0)
            unread += chunk
        reap()
        while b"\n" in unread:
            line, _, unread = unread.partition(b"\n")
            request = json.loads(line)
            out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            err = None
            if request["stderr"] is not None:
                err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            pid = os.fork()
            if pid == 0:
                try:
                    _child(request, out, err, (woken, wake))
                finally:
                    os._exit(70)
            children.add(pid)
            for fd in {out, err} - {None}:
                os.close(fd)
            answer(b"s %d" % pid)
        reap()


_server = None
_lock = threading.Lock()  # one request at a time: its answer `s <pid>` is the next one
# What the server answered, read by one thread (_read) from its pipe's descriptor: the pids it
# started and had no taker yet, and the exit codes of the children that ended.
_answers = threading.Condition()
_started: list[int] = []
_ended: dict[int, int] = {}
# The CPU of the running server's children and its own, as its answers told: the kernel counts
# it in this process's RUSAGE_CHILDREN only once the server is waited for, at the exit.
_served = {"children": 0.0, "server": 0.0}


def unreaped_cpu() -> float:
    """CPU (seconds) the fork server and the children it has reaped have used so far, not yet in
    this process's RUSAGE_CHILDREN: what tests/cpuprof.py adds to it to charge each child's CPU
    to the test that asked for it rather than to the end of the run."""
    with _answers:
        return _served["children"] + _served["server"]


def _stop_server() -> None:
    """Its stdin closed, the server ends (killing and waiting for any child still running);
    waited for, so that its CPU and its children's are counted as this process's children's,
    as a subprocess.run child's would be."""
    if _server is not None:
        _server.stdin.close()
        _server.wait()
        with _answers:
            _served.update(children=0.0, server=0.0)


def _read(server: subprocess.Popen) -> None:
    unread = b""
    fd = server.stdout.fileno()
    while chunk := os.read(fd, 4096):
        unread += chunk
        with _answers:
            while b"\n" in unread:
                line, _, unread = unread.partition(b"\n")
                kind, *numbers = line.split()
                if kind == b"s":
                    # A pid used again: the earlier child's end was answered before this start.
                    _ended.pop(int(numbers[0]), None)
                    _started.append(int(numbers[0]))
                else:
                    _ended[int(numbers[0])] = int(numbers[1])
                    _served["children"] += float(numbers[2])
                    _served["server"] = float(numbers[3])
            _answers.notify_all()
    with _answers:
        _answers.notify_all()


def _server_up() -> None:
    global _server
    if _server is not None and _server.poll() is None:
        return
    if _server is None:
        atexit.register(_stop_server)
    _server = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    with _answers:
        _started.clear()
        # An ended server was waited for (poll): its CPU is in RUSAGE_CHILDREN already.
        _served.update(children=0.0, server=0.0)
    threading.Thread(target=_read, args=(_server,), daemon=True).start()


def _wait_for(ready, timeout: float | None):
    """ready()'s value once true, under the answers' lock; None after `timeout` seconds."""
    import time

    deadline = None if timeout is None else time.monotonic() + timeout
    with _answers:
        while not (value := ready()):
            if _server.poll() is not None and not ready():
                raise RuntimeError("tests/interpreters.py's server ended (its traceback is above)")
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            _answers.wait(left if left is not None else 1.0)
        return value


def _start(args, *, cwd, env, stdout: str, stderr: str | None, stdin: str | None, encoding):
    request = {
        "args": args,
        "cwd": str(cwd),
        "env": dict(env),
        "stdout": str(stdout),
        "stderr": None if stderr is None else str(stderr),
        "stdin": stdin,
        "encoding": encoding,
    }
    with _lock:
        _server_up()
        _send(request)
        return _wait_for(lambda: _started and _started.pop(0), None)


def _send(request: dict) -> None:
    _server.stdin.write(json.dumps(request).encode() + b"\n")
    _server.stdin.flush()


def _exit_of(pid: int, timeout: float | None) -> int | None:
    """The child's exit code, or None if it did not end within `timeout` seconds."""
    ended = _wait_for(lambda: (_ended[pid],) if pid in _ended else None, timeout)
    return None if ended is None else ended[0]


class Child:
    """A child start() began: what the tests use of subprocess.Popen (pid, returncode, poll,
    wait, send_signal, terminate, kill)."""

    def __init__(self, pid: int, args):
        self.pid, self.args, self.returncode = pid, args, None

    def poll(self) -> int | None:
        if self.returncode is None:
            with _answers:
                self.returncode = _ended.get(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = _exit_of(self.pid, timeout)
            if self.returncode is None:
                raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # else its pid may be another process's by now
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        import signal

        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        import signal

        self.send_signal(signal.SIGKILL)


def start(args, *, cwd, env, log) -> Child:
    """As subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, stdout=log,
    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL), args starting with a script, "-m" or
    "-c": a server (gunicorn, runserver, a Celery worker) that runs beside the test. `log` is an
    open file (its name is the child's stdout and stderr, written from its start) or a path."""
    import locale

    args = [str(arg) for arg in args]
    name = os.fspath(log) if isinstance(log, str | os.PathLike) else log.name
    encoding = env.get("PYTHONIOENCODING") or locale.getpreferredencoding(False)
    pid = _start(args, cwd=cwd, env=env, stdout=name, stderr=None, stdin=None, encoding=encoding)
    return Child(pid, [sys.executable, *args])


def run(args, *, cwd, env, input=None, timeout=None) -> subprocess.CompletedProcess:  # noqa: A002
    """As subprocess.run([sys.executable, *args], cwd=cwd, env=env, input=input,
    capture_output=True, text=True, timeout=timeout), args starting with a script, "-m" or "-c":
    the child is killed (its process group) and subprocess.TimeoutExpired raised after `timeout`
    seconds."""
    import locale
    import signal

    args = [str(arg) for arg in args]
    with tempfile.TemporaryDirectory() as scratch:
        out, err = os.path.join(scratch, "out"), os.path.join(scratch, "err")
        for path in (out, err):
            open(path, "wb").close()
        encoding = env.get("PYTHONIOENCODING") or locale.getpreferredencoding(False)
        stdin = None
        if input is not None:
            stdin = os.path.join(scratch, "in")
            with open(stdin, "w", encoding=encoding) as given:
                given.write(input)
        pid = _start(args, cwd=cwd, env=env, stdout=out, stderr=err, stdin=stdin, encoding=encoding)
        returncode = _exit_of(pid, timeout)
        ready = returncode is not None
        if not ready:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:  # not yet its own group's leader, or ended just now
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            returncode = _exit_of(pid, None)
        with open(out, encoding=encoding) as stdout, open(err, encoding=encoding) as stderr:
            done = subprocess.CompletedProcess(
                [sys.executable, *args], returncode, stdout.read(), stderr.read()
            )
        if not ready:
            raise subprocess.TimeoutExpired(done.args, timeout, done.stdout, done.stderr)
        return done


if __name__ == "__main__":
    serve()
