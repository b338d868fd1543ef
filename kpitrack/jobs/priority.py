"""The CPU priority of what runs jobs (JOBS_NICE): below the web requests'."""

import logging
import os
import sys
import threading

from django.conf import settings

log = logging.getLogger("kpitrack.jobs")


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
            base = os.getpriority(os.PRIO_PROCESS, os.getpid())  # the process's main thread
            os.setpriority(
                os.PRIO_PROCESS, threading.get_native_id(), min(19, base + settings.JOBS_NICE)
            )
    except OSError:  # a sandbox may refuse it: the jobs run, at the requests' priority
        log.warning("jobs: priority not lowered", exc_info=True)
