"""A report's PDF laid out in a process of its own, for the jobs a web worker's pool runs
(kpitrack.jobs.runners: the embedded mode, without a broker).

A pool thread shares its interpreter with the requests the worker answers: while WeasyPrint
lays out a report (2-3 s of CPU), a request waits for the interpreter's lock between its steps,
and WeasyPrint's long calls into C do not give it back. Under bench/load.py a job's status page
took 16-24 ms at p95 against 10 ms once the layout ran apart (docs/benchmarks.md, "Reports laid
out apart"). Here it runs in one helper process per web worker (kpitrack.reports.layout_helper),
started on its first PDF and kept, so WeasyPrint and the fonts are loaded once, at the jobs'
lower priority (JOBS_NICE) for the whole process. The web worker also stays small: WeasyPrint
grew each worker that rendered from ~97 MB to ~250 MB.

A plain child process on pipes, not multiprocessing: its start methods that do not fork (a
forked web worker would carry its threads and its database connection) import the parent's
`__main__` in the child, which runs again whatever an unguarded script does at its top level.

A Celery worker, the command line and the tests' direct calls lay out in their own process:
no request waits there."""

import os
import subprocess
import sys
import threading
from pathlib import Path

from .layout_helper import ERROR, LENGTH, OK, read_exactly

_ROOT = Path(__file__).resolve().parent.parent.parent
_helper: subprocess.Popen | None = None
# One layout at a time per web process: its pool's threads take turns.
_lock = threading.Lock()


class HelperEnded(Exception):
    pass


def _start() -> subprocess.Popen:
    from kpitrack.jobs.priority import jobs_priority

    # The child inherits the priority of the pool thread that starts it, already lowered for
    # that thread alone (kpitrack.jobs.priority), and sets its own to the jobs' priority.
    priority = jobs_priority()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "kpitrack.reports.layout_helper", str(priority)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=_ROOT,
        env=env,
    )


def _ask(helper: subprocess.Popen, html: bytes) -> tuple[bytes, bytes]:
    try:
        helper.stdin.write(LENGTH.pack(len(html)) + html)
        helper.stdin.flush()
    except (BrokenPipeError, OSError) as exc:
        raise HelperEnded from exc
    status = read_exactly(helper.stdout, 1)
    head = read_exactly(helper.stdout, LENGTH.size) if status else None
    body = read_exactly(helper.stdout, LENGTH.unpack(head)[0]) if head else None
    if body is None:
        raise HelperEnded
    return status, body


def html_to_pdf_apart(html: str) -> bytes:
    """html_to_pdf in the helper process. Raises JobFailed with a message when the helper
    ended before it answered (killed, out of memory); the next call starts a new one."""
    global _helper
    from django.utils.translation import gettext as _

    from kpitrack.jobs.kinds import JobFailed

    with _lock:
        if _helper is None or _helper.poll() is not None:
            _helper = _start()
        helper = _helper
        try:
            status, body = _ask(helper, html.encode())
        except HelperEnded:
            _end(helper)
            _helper = None
            raise JobFailed(
                _("排版 PDF 的程序在完成前結束了，檔案未產生；請再試一次，仍失敗請通知系統管理者。")
            ) from None
    if status == ERROR:
        raise RuntimeError(f"the layout helper failed: {body.decode(errors='replace')}")
    assert status == OK
    return body


def _end(helper: subprocess.Popen) -> None:
    for stream in (helper.stdin, helper.stdout):
        try:
            stream.close()
        except OSError:
            pass
    try:
        helper.wait(10)  # its input closed: it ends
    except subprocess.TimeoutExpired:
        helper.kill()
        helper.wait()


def helper_pid() -> int | None:
    """The helper process's id, while one runs (for tests and diagnostics)."""
    helper = _helper
    return helper.pid if helper is not None and helper.poll() is None else None


def stop() -> None:
    """Ends the helper (a graceful stop, and tests)."""
    global _helper
    with _lock:
        helper, _helper = _helper, None
    if helper is not None:
        _end(helper)
