"""Workbook uploads in object storage (issue 16): the upload and its meta go through
STORAGES["default"], so with app servers on different machines sharing an S3 bucket, a preview on
one can be confirmed on another (or by a job worker). The token, the owner check and the 24 h
sweep hold there too.

There is no S3 or MinIO server here: Django's InMemoryStorage stands in for one (nothing on this
machine's disk, only the storage API), so these run the code paths an object store takes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.storage import InMemoryStorage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from kpitrack.jobs.models import Job
from performance import workbook_uploads as uploads
from performance.models import Result
from tests.jobs.running import run_queued_jobs

from .workbook_helpers import download, fill

pytestmark = pytest.mark.django_db

COUNT = "辦理件數（件）"


@pytest.fixture(autouse=True)
def object_storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_BROKER_URL = ""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    storage = storages["default"]
    assert isinstance(storage, InMemoryStorage)
    yield storage
    assert not settings.MEDIA_ROOT.exists()  # nothing went to the disk


def _files(storage) -> list[str]:
    try:
        return storage.listdir(uploads.FOLDER)[1]
    except FileNotFoundError:
        return []


def _preview(client, flow, data) -> str:
    response = client.post(
        reverse("workbook-upload"),
        {
            "agency": flow.agency.code,
            "unit": "ops",
            "year": flow.year,
            "quarter": flow.quarter,
            "file": SimpleUploadedFile("填報.xlsx", data),
        },
    )
    assert response.status_code == 200, response.content.decode()
    return response.context["token"]


def test_preview_then_confirm_through_the_storage(client, alice, workflow, object_storage):
    client.force_login(alice)
    data = fill(download(alice, workflow), {(workflow.count, COUNT): 150})
    token = _preview(client, workflow, data)
    assert sorted(_files(object_storage)) == [f"{token}.json", f"{token}.xlsx"]
    with object_storage.open(f"{uploads.FOLDER}/{token}.xlsx", "rb") as stored:
        assert stored.read() == data

    done = client.post(reverse("workbook-confirm"), {"token": token})

    assert done.status_code == 200
    assert "寫入 1 列的變更" in done.content.decode()
    result = Result.objects.get(indicator=workflow.count)
    assert result.figures.get().value == Decimal("150")
    assert _files(object_storage) == []  # done with


def test_another_users_upload_is_refused(client, alice, bob, workflow, object_storage):
    client.force_login(alice)
    token = _preview(
        client, workflow, fill(download(alice, workflow), {(workflow.count, COUNT): 1})
    )
    assert uploads.load(token, bob) is None
    client.force_login(bob)
    assert client.post(reverse("workbook-confirm"), {"token": token}).status_code == 403
    assert not Result.objects.filter(indicator=workflow.count).exists()
    assert len(_files(object_storage)) == 2  # still alice's to confirm


def test_a_large_confirm_runs_as_a_job_that_reads_the_upload_from_storage(
    client, alice, workflow, object_storage, settings
):
    settings.WORKBOOK_JOB_ROWS = 1
    client.force_login(alice)
    data = fill(
        download(alice, workflow),
        {
            (workflow.count, COUNT): 150,
            (workflow.ratio, "分子：查獲件數"): 45,
            (workflow.ratio, "分母：受理件數"): 50,
        },
    )
    token = _preview(client, workflow, data)
    assert client.post(reverse("workbook-confirm"), {"token": token}).status_code == 302
    (job,) = run_queued_jobs()
    assert (job.kind, job.state, job.error) == ("workbook_import", "done", "")
    assert Job.objects.count() == 1
    assert Result.objects.get(indicator=workflow.count).figures.get().value == Decimal("150")
    assert _files(object_storage) == []


def test_an_upload_left_a_day_is_swept_by_the_next_preview(client, alice, workflow, object_storage):
    client.force_login(alice)
    data = fill(download(alice, workflow), {(workflow.count, COUNT): 150})
    old = _preview(client, workflow, data)
    for suffix in (".xlsx", ".json"):
        node = object_storage._resolve(f"{uploads.FOLDER}/{old}{suffix}")
        node.modified_time = timezone.now() - timedelta(seconds=uploads.KEEP_SECONDS + 60)
    recent = _preview(client, workflow, data)
    assert sorted(_files(object_storage)) == [f"{recent}.json", f"{recent}.xlsx"]
    assert uploads.load(old, alice) is None
    assert uploads.load(recent, alice) is not None
