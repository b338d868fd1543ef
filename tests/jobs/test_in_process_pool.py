"""The default mode (no broker): the web process's own thread pool runs the job once the request
has committed it, and any request (any app server) reads its progress from the database."""

import time

import pytest

from kpitrack.jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for_the_end(job_id, limit=300):
    """Until the job ends; the limit only keeps a broken pool from hanging the run."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if not job.active:
            return job
        time.sleep(0.2)
    pytest.fail(f"job {job_id} still {job.state} after {limit} s")


def test_the_pool_runs_the_job_and_the_download_is_served(client, django_user_model):
    from kpitrack.sources import load_folder
    from tests.conftest import SEED

    load_folder(SEED)  # transactional tests start empty
    user = django_user_model.objects.create_superuser("pool", "pool@example.org", "x")
    client.force_login(user)
    response = client.get("/reports/nia/performance/2012/xlsx/")
    assert response.status_code == 302
    job = _wait_for_the_end(int(response["Location"].split("/")[2]))
    assert (job.state, job.error, job.attempts) == ("done", "", 1)
    download = client.get(f"/jobs/{job.pk}/download/")
    assert b"".join(download.streaming_content).startswith(b"PK")  # an xlsx is a zip
    again = client.get("/reports/nia/performance/2012/xlsx/")
    assert again.status_code == 200
