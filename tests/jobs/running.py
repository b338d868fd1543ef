"""Runs the jobs a test started, in the test's own thread and transaction.

A test of the `db` fixture never commits, so the hand-over on commit (kpitrack.jobs.runners)
never happens; this runs what a pool thread or a Celery worker would run for each queued job —
the same function, kpitrack.jobs.services.job_execute — parts before the bundle that waits for
them. The pool and the Celery worker themselves are tested with real commits
(test_in_process_pool.py, test_celery.py)."""

from kpitrack.jobs.execution import job_execute
from kpitrack.jobs.models import Job


def run_queued_jobs() -> list[Job]:
    ran = []
    while True:
        job = (
            Job.objects.filter(state=Job.State.QUEUED)
            .exclude(parts__state__in=Job.ACTIVE)
            .order_by("pk")
            .first()
        )
        if job is None:
            return ran
        job_execute(job.pk)
        job.refresh_from_db()
        ran.append(job)
