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


def _child(request: dict, out: int, err: int) -> None:
    """In the forked child: become the interpreter the request asks for, run it, exit."""
    import runpy

    os.setsid()  # its own process group, as subprocess.run's child would be killed alone
    atexit._clear()  # the server's, if any: the child runs only what its own code registers
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(request["stdin"] or os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(err, 2)
    for fd in (null, out, err):
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
    """The server: one request a line on stdin; it answers the child's pid, then its exit code
    (or minus the signal that ended it), the child's CPU and its own so far (seconds, user +
    system), a line each."""
    import importlib
    import resource

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
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    for line in requests:
        request = json.loads(line)
        out = os.open(request["stdout"], os.O_WRONLY | os.O_TRUNC)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_TRUNC)
        pid = os.fork()
        if pid == 0:
            try:
                _child(request, out, err)
            finally:
                os._exit(70)
        os.close(out)
        os.close(err)
        answers.write(b"%d\n" % pid)
        answers.flush()
        _, status, used = os.wait4(pid, 0)
        own = resource.getrusage(resource.RUSAGE_SELF)
        answers.write(
            b"%d %.6f %.6f\n"
            % (
                os.waitstatus_to_exitcode(status),
                used.ru_utime + used.ru_stime,
                own.ru_utime + own.ru_stime,
            )
        )
        answers.flush()


_server = None
_lock = threading.Lock()
# The server's answers are read from its pipe's descriptor, never through the BufferedReader
# Popen wraps it in: a readline() there can take both of a fast child's lines into its buffer,
# where the select() that waits for the second does not see them.
_unread = b""
# The CPU of the running server's children and its own, as its answers told: the kernel counts
# it in this process's RUSAGE_CHILDREN only once the server is waited for, at the exit.
_served = {"children": 0.0, "server": 0.0}


def unreaped_cpu() -> float:
    """CPU (seconds) the fork server and the children it has reaped have used so far, not yet in
    this process's RUSAGE_CHILDREN: what tests/cpuprof.py adds to it to charge each child's CPU
    to the test that asked for it rather than to the end of the run."""
    return _served["children"] + _served["server"]


def _stop_server() -> None:
    """Its stdin closed, the server ends; waited for, so that its CPU and its children's are
    counted as this process's children's, as a subprocess.run child's would be."""
    if _server is not None:
        _server.stdin.close()
        _server.wait()
        _served.update(children=0.0, server=0.0)


def run(args, *, cwd, env, input=None, timeout=None) -> subprocess.CompletedProcess:  # noqa: A002
    """As subprocess.run([sys.executable, *args], cwd=cwd, env=env, input=input,
    capture_output=True, text=True, timeout=timeout), args starting with a script, "-m" or "-c":
    the child is killed (its process group) and subprocess.TimeoutExpired raised after `timeout`
    seconds."""
    import locale
    import signal

    global _server, _unread
    args = [str(arg) for arg in args]
    with _lock, tempfile.TemporaryDirectory() as scratch:
        if _server is None or _server.poll() is not None:
            if _server is None:
                atexit.register(_stop_server)
            _server = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            _unread = b""
            # An ended server was waited for (poll): its CPU is in RUSAGE_CHILDREN already.
            _served.update(children=0.0, server=0.0)
        out, err = os.path.join(scratch, "out"), os.path.join(scratch, "err")
        for path in (out, err):
            open(path, "wb").close()
        encoding = env.get("PYTHONIOENCODING") or locale.getpreferredencoding(False)
        stdin = None
        if input is not None:
            stdin = os.path.join(scratch, "in")
            with open(stdin, "w", encoding=encoding) as given:
                given.write(input)
        request = {
            "args": args,
            "cwd": str(cwd),
            "env": dict(env),
            "stdout": out,
            "stderr": err,
            "stdin": stdin,
            "encoding": encoding,
        }
        _send(request)
        (pid,) = _answer(None)
        ended = _answer(timeout)
        ready = ended is not None
        if not ready:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:  # not yet its own group's leader, or ended just now
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            ended = _answer(None)
        returncode, child_cpu, server_cpu = ended
        _served["children"] += child_cpu
        _served["server"] = server_cpu
        with open(out, encoding=encoding) as stdout, open(err, encoding=encoding) as stderr:
            done = subprocess.CompletedProcess(
                [sys.executable, *args], returncode, stdout.read(), stderr.read()
            )
        if not ready:
            raise subprocess.TimeoutExpired(done.args, timeout, done.stdout, done.stderr)
        return done


def _send(request: dict) -> None:
    _server.stdin.write(json.dumps(request).encode() + b"\n")
    _server.stdin.flush()


def _answer(timeout: float | None) -> tuple | None:
    """The server's next answer (its line's numbers), or None if none came within `timeout`
    seconds."""
    import select
    import time

    global _unread
    deadline = None if timeout is None else time.monotonic() + timeout
    fd = _server.stdout.fileno()
    while b"\n" not in _unread:
        if deadline is not None:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return None
        chunk = os.read(fd, 4096)
        if not chunk:
            raise RuntimeError("tests/interpreters.py's server ended (its traceback is above)")
        _unread += chunk
    line, _, _unread = _unread.partition(b"\n")
    first, *rest = line.split()
    return (int(first), *map(float, rest))


if __name__ == "__main__":
    serve()
