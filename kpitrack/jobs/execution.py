"""Running a job, in whatever process picked it up (a pool thread, a Celery worker, a test):
claim it, run its kind with progress and a heartbeat, record how it ended."""

import logging
import threading
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .kinds import JobCancelled, JobFailed, Output, kind_function
from .models import Job

log = logging.getLogger("kpitrack.jobs")

State = Job.State


def fail_stale_jobs(*, hand_over) -> int:
    """Fails the jobs whose process stopped writing their heartbeat: running jobs of a web
    process or worker that died mid-job, and jobs left waiting in the in-process pool of a web
    process that stopped (runners.submit_in_process), which no other process will ever run.
    They would otherwise show 「執行中」 or 「排隊中」 forever, and a request for the same
    export would join them. A job queued on the broker has no heartbeat until a worker takes
    it, and a bundle waits while any of its parts may still end. A part failed here counts as
    ended for its bundle, which runs when the last one has (and names the agency):
    `hand_over(bundle_id)` gives it to the workers (runners.fail_stale_jobs, which imports this
    module; this one does not import it back)."""
    limit = timezone.now() - timedelta(seconds=settings.JOBS_STALE_SECONDS)
    parts_active = Exists(Job.objects.filter(parent=OuterRef("pk"), state__in=Job.ACTIVE))
    stale = list(
        Job.objects.filter(
            Q(state=State.RUNNING) | (Q(state=State.QUEUED) & ~parts_active),
            heartbeat_at__lt=limit,
        )
    )
    for job in stale:
        with translation.override(job.params.get("language")):
            message = _("執行這項工作的程序已停止回應，工作未完成；請再試一次。")
        if _finish(job.pk, State.FAILED, from_states=(job.state,), error=message):
            if job.parent_id and (bundle := _part_ended(job.parent_id)) is not None:
                hand_over(bundle)
    return len(stale)


class Progress:
    """What a kind reports as it goes; each report also checks the job is still wanted."""

    def __init__(self, job_id: int):
        self.job_id = job_id

    def step(self, done: int, total: int, label: str = "") -> None:
        updated = Job.objects.filter(pk=self.job_id, state=State.RUNNING).update(
            done=done, total=total, step=str(label)[:200], heartbeat_at=timezone.now()
        )
        if not updated:
            raise JobCancelled

    def complete(self, output: Output, outcome: dict | None = None) -> None:
        """Ends the job as done, in the caller's transaction: a kind whose work is one
        transaction (a workbook import) calls this as that transaction's last write. A cancel
        then either came first (this raises JobCancelled and the work rolls back) or waits on
        this row until the commit and finds the job ended (job_cancel answers False); the job
        can never read 「已取消」 over work that was committed. job_execute leaves it as it is."""
        updated = Job.objects.filter(pk=self.job_id, state=State.RUNNING).update(
            state=State.DONE,
            finished_at=timezone.now(),
            result=output.name,
            filename=output.filename,
            content_type=output.content_type,
            reused=output.reused,
            outcome=outcome or {},
            step="",
            done=F("total"),
        )
        if not updated:
            raise JobCancelled


def job_execute(job_id: int) -> int | None:
    """Runs one job to its end, in whatever process picked it up (a pool thread, a Celery
    worker, or a test). A job already ended, or taken by another process, is left alone; a job
    still marked running was being run by a process that died: it gets one more attempt
    (JOBS_MAX_ATTEMPTS in all), then fails with a message. Returns the id of a bundle whose
    last part this was: the caller hands it to the workers (kpitrack.jobs.runners)."""
    job = _claim(job_id)
    if job is None:
        return None
    progress = Progress(job.pk)
    with _heartbeat(job.pk), translation.override(job.params.get("language")):
        try:
            output = kind_function(job.kind)(job, progress)
        except JobCancelled:
            return None
        except JobFailed as exc:
            _finish(job.pk, State.FAILED, error=str(exc))
        except Exception:
            log.exception("job %s (%s) failed", job.pk, job.kind)
            _finish(
                job.pk,
                State.FAILED,
                error=_("產生檔案時發生未預期的錯誤（工作編號 %(id)s），已記錄下來。")
                % {"id": job.pk},
            )
        else:
            _finish(
                job.pk,
                State.DONE,
                result=output.name,
                filename=output.filename,
                content_type=output.content_type,
                reused=output.reused,
                step="",
                done=F("total"),
            )
    return _part_ended(job.parent_id) if job.parent_id else None


def _claim(job_id: int) -> Job | None:
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state not in Job.ACTIVE:
            return None
        if job.state == State.RUNNING and job.attempts >= settings.JOBS_MAX_ATTEMPTS:
            with translation.override(job.params.get("language")):
                message = _(
                    "執行這項工作的程序在完成前停止了 %(count)s 次，工作已停止；請通知系統管理者。"
                ) % {"count": job.attempts}
            _finish(job.pk, State.FAILED, error=message)
            return None
        job.state = State.RUNNING
        job.attempts += 1
        job.started_at = job.heartbeat_at = now
        job.save(update_fields=["state", "attempts", "started_at", "heartbeat_at"])
    return job


def _finish(job_id: int, state: str, *, from_states=(State.RUNNING,), **fields) -> bool:
    """Ends a job that is still in `from_states` (a cancelled job stays cancelled)."""
    return bool(
        Job.objects.filter(pk=job_id, state__in=from_states).update(
            state=state, finished_at=timezone.now(), **fields
        )
    )


def _part_ended(bundle_id: int) -> int | None:
    # The count is raised in the database, so exactly one part sees the last one end, whichever
    # process or server ran it; that one hands the bundle to the workers.
    with transaction.atomic():
        Job.objects.filter(pk=bundle_id).update(done=F("done") + 1, heartbeat_at=timezone.now())
        bundle = Job.objects.get(pk=bundle_id)
    return bundle.pk if bundle.done == bundle.total and bundle.state == State.QUEUED else None


@contextmanager
def _heartbeat(job_id: int):
    """Writes the job's heartbeat every JOBS_HEARTBEAT_SECONDS while the work runs (a PDF's
    layout can take a minute with no step to report)."""
    if connection.in_atomic_block:
        # Run inside a caller's transaction (a test, or a caller that runs the job itself): the
        # row is not committed, another connection would wait on its lock; nothing can go stale.
        yield
        return
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(settings.JOBS_HEARTBEAT_SECONDS):
                Job.objects.filter(pk=job_id, state=State.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        except DatabaseError:
            log.warning("job %s: heartbeat not written", job_id, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
