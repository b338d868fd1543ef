"""A report's PDF laid out in a process of its own, for the jobs a web worker's pool runs
(kpitrack.jobs.runners: the embedded mode, without a broker).

A pool thread shares its interpreter with the requests the worker answers: while WeasyPrint
lays out a report (2-3 s of CPU), a request waits for the interpreter's lock between its steps,
and WeasyPrint's long calls into C do not give it back. Under bench/load.py a job's status page
that landed beside a layout took 20-38 ms against 8 ms (docs/benchmarks.md, "Reports laid out
apart"). Here the layout runs in one helper process per web worker, started on its first PDF
and kept (WeasyPrint and the fonts are loaded once), at the jobs' lower priority (JOBS_NICE)
for the whole process. The web worker also stays small: WeasyPrint grew each worker that
rendered from ~90 MB to ~250 MB.

A Celery worker, the command line and the tests' direct calls lay out in their own process:
no request waits there. This module imports nothing of Django's models, so the helper, a fresh
interpreter, starts without setting Django up."""

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def _started(priority: int) -> None:
    """The helper's first act: at the jobs' priority, the whole process. It inherited the
    priority of the pool thread that started it, already lowered for that thread alone
    (kpitrack.jobs.priority); raising it back needs a privilege it may lack, which leaves it
    lower, not higher."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, priority)
    except PermissionError:
        pass


def _lay_out(html: str) -> bytes:
    from .pdf import html_to_pdf

    return html_to_pdf(html)


def _helper() -> ProcessPoolExecutor:
    global _pool
    from django.conf import settings

    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1,
                # A fresh interpreter, not a fork: the web worker has threads and a database
                # connection that a forked child must not touch.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_started,
                # JOBS_NICE below the web process's own (its main thread's: the requests').
                initargs=(
                    min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + settings.JOBS_NICE),
                ),
            )
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def html_to_pdf_apart(html: str) -> bytes:
    """html_to_pdf in the helper process. Raises JobFailed with a message when the helper
    ended before it answered (killed, out of memory); the next call starts a new one."""
    from django.utils.translation import gettext as _

    from kpitrack.jobs.kinds import JobFailed

    pool = _helper()
    try:
        return pool.submit(_lay_out, html).result()
    except BrokenProcessPool as exc:
        _discard(pool)
        raise JobFailed(
            _("排版 PDF 的程序在完成前結束了，檔案未產生；請再試一次，仍失敗請通知系統管理者。")
        ) from exc


def helper_pid() -> int | None:
    """The helper process's id, once it has started (for tests and diagnostics)."""
    pool = _pool
    processes = getattr(pool, "_processes", None) or {}
    return next(iter(processes), None)


def stop() -> None:
    """Ends the helper (a graceful stop, and tests)."""
    pool = _pool
    if pool is not None:
        _discard(pool)
