"""The Celery side: one task runs any job (kpitrack.jobs.services.job_execute).

acks_late: the message is acknowledged only when the job has ended, so a worker killed mid-job
leaves it to be delivered again; reject_on_worker_lost puts it back at once when a pool process
dies. kpitrack.jobs.execution.job_execute then gives it one more attempt or fails it with a
message (JOBS_MAX_ATTEMPTS).
"""

from kpitrack.celery import app  # the app the task is sent through

from .runners import run_job_here


@app.task(name="kpitrack.jobs.run_job", acks_late=True, reject_on_worker_lost=True)
def run_job(job_id: int) -> None:
    run_job_here(job_id)
