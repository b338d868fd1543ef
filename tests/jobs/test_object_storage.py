"""Stored exports in object storage (issue 16): with STORAGES["default"] a storage that has no
local path, as django-storages' S3 storage has none, a report job stores its file there, the same
data is served again from it without rendering, and prune_exports removes old objects.

There is no S3 or MinIO server here: Django's InMemoryStorage stands in for one (no file on this
machine, only the storage API), so these run the code paths an object store takes, not S3
itself."""

import os
from datetime import timedelta

import pytest
from django.core.files.storage import InMemoryStorage, storages
from django.core.management import call_command
from django.utils import timezone

from kpitrack.jobs import files
from kpitrack.jobs.models import Job

from .running import run_queued_jobs

pytestmark = pytest.mark.django_db

XLSX = "/reports/nia/budget/2013/xlsx/?q=2"


@pytest.fixture(autouse=True)
def object_storage(settings, media):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    storage = storages["default"]
    assert isinstance(storage, InMemoryStorage)
    yield storage
    assert not media.exists() or not any(media.rglob("*"))  # nothing went to MEDIA_ROOT


def _download(client, job) -> bytes:
    response = client.get(f"/jobs/{job.pk}/download/")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def _age(storage, name, days):
    # InMemoryStorage keeps each file's times on its node; an S3 object's is its LastModified.
    storage._resolve(name).modified_time = timezone.now() - timedelta(days=days)


def test_a_report_is_stored_there_and_served_again_without_rendering(as_bob, object_storage):
    response = as_bob.get(XLSX)
    assert response.status_code == 302
    (job,) = run_queued_jobs()
    assert job.state == "done" and job.reused is False
    assert job.result.startswith("exports/") and object_storage.exists(job.result)
    first = _download(as_bob, job)
    assert first[:2] == b"PK"  # a whole workbook
    with object_storage.open(job.result, "rb") as stored:
        assert stored.read() == first

    again = as_bob.get(XLSX)
    assert again.status_code == 200  # at once, from storage: no second job, no render
    assert Job.objects.count() == 1
    assert b"".join(again.streaming_content) == first


def test_storing_again_under_a_name_replaces_the_object(object_storage):
    name = files.save_atomically("exports/ab/same.pdf", b"%PDF-1 first")
    assert files.save_atomically("exports/ab/same.pdf", b"%PDF-1 second") == name
    assert object_storage.listdir("exports/ab") == ([], ["same.pdf"])
    with files.open_file(name) as stored:
        assert stored.read() == b"%PDF-1 second"


def test_prune_exports_removes_old_objects_and_keeps_recent_ones(as_bob, object_storage, settings):
    as_bob.get(XLSX)
    (job,) = run_queued_jobs()
    kept = files.save_atomically("exports/ab/recent.pdf", b"%PDF-1.7")
    old = files.save_atomically("exports/cd/old.pdf", b"%PDF-1.7")
    for name in (old, job.result):
        _age(object_storage, name, settings.EXPORT_RETENTION_DAYS + 1)
    Job.objects.filter(pk=job.pk).update(finished_at=job.finished_at - timedelta(days=365))

    call_command("prune_exports", stdout=open(os.devnull, "w"))

    assert object_storage.exists(kept)
    assert not object_storage.exists(old)
    assert not object_storage.exists(job.result)
    assert not Job.objects.filter(pk=job.pk).exists()
