"""The CPU priority of what runs jobs (JOBS_NICE): below the web requests'."""

import logging
import os
import sys
import threading

from django.conf import settings

log = logging.getLogger("kpitrack.jobs")


def jobs_priority() -> int:
    """The nice value jobs run at: JOBS_NICE below the process's own (its main thread's, which
    answers the requests)."""
    return min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + settings.JOBS_NICE)


def lower_priority(*, whole_process: bool = False) -> None:
    """Lowers the CPU priority of this thread (a pool thread), or of this process and the
    processes it starts (a Celery worker), by JOBS_NICE steps below the process's own. The
    requests then take a busy core first, and a render waits for them, not they for it. Linux
    keeps a nice value per thread (setpriority of a thread id); elsewhere a thread's is the
    whole process's, requests included, so only a whole job process is lowered there."""
    if not settings.JOBS_NICE:
        return
    try:
        if whole_process:
            os.nice(settings.JOBS_NICE)
        elif sys.platform.startswith("linux"):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), jobs_priority())
    except OSError:  # a sandbox may refuse it: the jobs run, at the requests' priority
        log.warning("jobs: priority not lowered", exc_info=True)
