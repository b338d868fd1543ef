"""Who runs a job: Celery workers when CELERY_BROKER_URL is set, else this process's pool.

Either way the job is handed over when the transaction that created it commits, so a worker
never looks for a row it cannot see yet. This process's pool is handed a job that a request
committed only once that request's response has been sent (request_finished): a job's thread
started on commit renders beside the rest of the request, which then waits for the GIL.
"""

import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .execution import fail_stale_jobs, job_execute
from .priority import lower_priority

log = logging.getLogger("kpitrack.jobs")


class QueueUnavailable(Exception):
    """The broker is configured but cannot be reached; the message says so to the user."""


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
# The jobs this process's pool holds and has not started. Their rows carry this process's
# heartbeat (the keeper thread below) while they wait, so that another app server can tell them
# from the queue of a process that died, which nobody will ever run (execution.fail_stale_jobs).
_waiting: set[int] = set()
_keeper: threading.Thread | None = None

# A job's thread shares the GIL with the requests its process serves. At CPython's default
# switch interval (5 ms) a request that has to wait for it behind a report being rendered waits
# up to 5 ms each time it asks again, after every query and every write: measured, a 7 ms page
# took 110 ms beside a busy thread, 22 ms at this interval (docs/benchmarks.md, "A report
# rendered beside the requests"). Only a thread that others wait for is interrupted: a process
# with one busy thread runs as before.
JOB_SWITCH_INTERVAL = 0.0005


def _in_process_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            sys.setswitchinterval(min(sys.getswitchinterval(), JOB_SWITCH_INTERVAL))
            _pool = ThreadPoolExecutor(
                max_workers=settings.JOBS_IN_PROCESS_WORKERS,
                thread_name_prefix="kpitrack-job",
                initializer=lower_priority,
            )
        return _pool


def drain_in_process_pool() -> bool:
    """Waits until this process's pool has run every job handed to it (a graceful stop, and
    tests, whose in-memory SQLite database one thread must not read while another writes).
    True if there was a pool to wait for: a job it ran may have handed a bundle to a new one."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is None:
        return False
    pool.shutdown(wait=True)
    return True


def uses_broker() -> bool:
    return bool(settings.CELERY_BROKER_URL)


def warm() -> None:
    """With a broker, what handing a job to it loads on first use, loaded now (a web worker as
    it starts, kpitrack/gunicorn.conf.py): kombu's transport, the Celery app, its result
    backend and its message router. A worker's first report request waited ~130 ms for them
    (0.8 s where the bytecode is not cached); after this, its first check and send take
    10-20 ms, the next ones 2-4 ms (measured in one process on the 2-core machine). And this
    thread's connection to the broker, opened (kpitrack.jobs.broker), for the same reason."""
    if not uses_broker():
        return
    from kpitrack.celery import app

    from . import broker

    app.backend  # noqa: B018 - loaded on first use
    app.amqp.router  # noqa: B018 - likewise
    try:
        # Kept for the first check and send; opening it loads kombu's transport, even when
        # the broker does not answer.
        broker.connection(settings.CELERY_BROKER_URL)
    except Exception:  # noqa: BLE001 - a broker down as the worker starts: the first check says so
        log.warning("broker not reached as the worker started", exc_info=True)


def sweep_stale_jobs() -> int:
    """Fails the jobs of processes that died (execution.fail_stale_jobs) and hands each bundle
    whose last part that was to the workers, which run it and name the failed agency. Returns
    how many jobs were failed."""
    from .models import Job

    failed, bundles = fail_stale_jobs()
    for bundle_id in bundles:
        try:
            dispatch(Job.objects.get(pk=bundle_id))
        except QueueUnavailable:
            pass  # the bundle is failed with the message that says so
    return failed


SWEEP_KEY = "kpitrack:jobs:swept"


def sweep_stale_jobs_now_and_then() -> int:
    """sweep_stale_jobs at most once per JOBS_HEARTBEAT_SECONDS (per shared cache), for the
    pages that call it on every request: a job page polls its status every second or two, and
    fifty users polling each swept the whole table each time. A job counts as stale only
    JOBS_STALE_SECONDS after its last heartbeat, so one heartbeat more before it is failed
    changes nothing a user can tell. Without the cache (Redis away) it sweeps every time."""
    try:
        due = cache.add(SWEEP_KEY, True, timeout=settings.JOBS_HEARTBEAT_SECONDS)
    except Exception:  # noqa: BLE001 - the cache is an optimisation here, never a reason to fail
        due = True
    return sweep_stale_jobs() if due else 0


def dispatch(job) -> None:
    if not uses_broker():
        beat = job.heartbeat_at is None  # else written as the row was made (job_start)
        transaction.on_commit(lambda: submit_in_process(job.pk, beat=beat))
        return
    if settings.JOBS_FALLBACK_IN_PROCESS:
        transaction.on_commit(lambda: _send_or_run_here(job.pk))
        return
    # Checked now, not on commit: the page must say at once that the queue is unavailable.
    from .health import broker_check

    ok, reason = broker_check()
    if not ok:
        _fail_unqueued(job, reason)
        raise QueueUnavailable(
            _("排程佇列目前無法使用，無法開始這項工作；請稍後再試或通知系統管理者。")
        )
    transaction.on_commit(lambda: _send(job.pk))


def run_job_here(job_id: int) -> None:
    """Runs the job in this process (a pool thread or a Celery worker), then hands over the
    bundle it may have completed."""
    bundle = job_execute(job_id)
    if bundle is not None:
        from .models import Job

        dispatch(Job.objects.get(pk=bundle))


# The jobs a request of this thread committed for this process's pool, while it is being
# answered: None between requests. Per thread, as a threaded worker answers several at once.
# Only when this process starts them is deferred: the rows are in the database already.
_request = threading.local()


def submit_in_process(job_id: int, *, beat: bool = True) -> None:
    """Hands the job to this process's pool: at once, or, during a request of this thread,
    once that request is finished. Its heartbeat is written now either way, and kept while it
    waits, so a process that dies before the request ends leaves a job the sweep fails, not one
    queued for ever."""
    global _keeper
    from .models import Job

    try:
        if beat:
            Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
                heartbeat_at=timezone.now()
            )
    except DatabaseError:  # the keeper writes it within JOBS_HEARTBEAT_SECONDS
        log.warning("job %s: heartbeat not written", job_id, exc_info=True)
    with _pool_lock:
        _waiting.add(job_id)
        if _keeper is None:
            _keeper = threading.Thread(target=_keep_waiting_jobs, name="kpitrack-job-keeper")
            _keeper.daemon = True
            _keeper.start()
    deferred = getattr(_request, "jobs", None)
    if deferred is not None:
        deferred.append(job_id)
    else:
        _to_the_pool([job_id])


def _to_the_pool(job_ids: list[int]) -> None:
    for job_id in job_ids:
        try:
            _in_process_pool().submit(_run_in_this_thread, job_id)
        except Exception:  # noqa: BLE001 - one job refused must not keep the next from the pool
            # An interpreter shutting down refuses new work: the job stops being kept, so
            # another process's sweep fails it (execution.fail_stale_jobs).
            log.exception("job %s: not handed to the pool", job_id)
            with _pool_lock:
                _waiting.discard(job_id)


def request_started(**kwargs) -> None:
    """From here until request_finished, jobs committed on this thread wait for the response
    to be sent (connected in apps.JobsConfig.ready)."""
    left = getattr(_request, "jobs", None)
    _request.jobs = []
    # A request whose response was never closed (its WSGI call raised before returning one,
    # or a streamed response nobody read to the end) left its jobs: late, but not lost.
    if left:
        _to_the_pool(left)


def request_finished(**kwargs) -> None:
    """The response has been sent (the WSGI server closed it, error pages too): its jobs go to
    the pool, each once, as the list is taken before any is handed over."""
    jobs, _request.jobs = getattr(_request, "jobs", None), None
    if jobs:
        _to_the_pool(jobs)


def _keep_waiting_jobs() -> None:
    """Writes the heartbeat of the jobs waiting in this process's pool every
    JOBS_HEARTBEAT_SECONDS; ends when none waits (the next submit starts another)."""
    global _keeper
    from .models import Job

    beat = time.monotonic()
    while True:
        time.sleep(1)  # a second at a time: the thread ends soon after the pool's queue empties
        with _pool_lock:
            waiting = list(_waiting)
            if not waiting:
                _keeper = None
                return
        if time.monotonic() - beat < settings.JOBS_HEARTBEAT_SECONDS:
            continue
        beat = time.monotonic()
        try:
            Job.objects.filter(pk__in=waiting, state=Job.State.QUEUED).update(
                heartbeat_at=timezone.now()
            )
        except DatabaseError:
            log.warning("waiting jobs: heartbeat not written", exc_info=True)
        finally:
            connection.close()


# Set on a pool thread while it runs a job: the job shares this process with the requests it
# answers (kpitrack.reports.layout lays its PDFs out in a process of their own).
_pool_thread = threading.local()


def beside_requests() -> bool:
    """Whether the job this thread runs shares its process with web requests."""
    return getattr(_pool_thread, "active", False)


def _run_in_this_thread(job_id: int) -> None:
    # A pool thread has its own database connection: closed when its job is done.
    with _pool_lock:
        _waiting.discard(job_id)  # from here on the job's own heartbeat (execution) is written
    close_old_connections()
    _pool_thread.active = True
    try:
        run_job_here(job_id)
    except Exception:
        log.exception("job %s: the pool thread failed", job_id)
    finally:
        _pool_thread.active = False
        connection.close()


def _send(job_id: int) -> None:
    from kpitrack.celery import app

    from . import broker

    # The task by name (kpitrack.jobs.tasks), on this thread's kept connection to the broker
    # the settings name now (not one the Celery app cached), and no retries of the publish: a
    # broker that does not answer at once is reported, not waited for.
    conn = broker.connection(settings.CELERY_BROKER_URL)
    try:
        app.send_task("kpitrack.jobs.run_job", args=[job_id], connection=conn, retry=False)
    except Exception:
        broker.drop()  # whatever state the connection was left in, the next send starts afresh
        raise


def _send_or_run_here(job_id: int) -> None:
    try:
        _send(job_id)
    except Exception:  # kombu raises several kinds for a broker that cannot be reached
        log.warning("job %s: broker unavailable, running it in this process", job_id)
        submit_in_process(job_id)


def _fail_unqueued(job, reason: str) -> None:
    from .models import Job

    message = _("排程佇列目前無法使用，工作未開始。")
    log.error("job %s not queued: broker unavailable (%s)", job.pk, reason)
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.FAILED, error=message, finished_at=timezone.now()
    )
