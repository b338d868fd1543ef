"""Evidence in object storage (issue 16): the FileField is on STORAGES["default"], so with
STORAGE_BACKEND=s3 an upload is an object, downloaded only through the permission-checked view
(streamed by kpitrack, never a redirect to the object's address) and removed with its row.

There is no S3 or MinIO server here: Django's InMemoryStorage stands in for one (nothing on this
machine's disk, only the storage API)."""

import pytest
from django.core.files.storage import InMemoryStorage, storages
from django.urls import reverse

from performance.models import Evidence
from performance.services import evidence_delete

from .cast import Role, member
from .test_view_evidence import PDF, _upload, result  # noqa: F401, F811 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def object_storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    storage = storages["default"]
    assert isinstance(storage, InMemoryStorage)
    yield storage
    assert not settings.MEDIA_ROOT.exists()  # nothing went to the disk


def test_evidence_is_an_object_downloaded_through_the_view_and_removed_with_its_row(
    client,
    django_user_model,
    workflow,
    result,  # noqa: F811 (the fixture)
    object_storage,
    django_capture_on_commit_callbacks,
):
    staff = member(django_user_model, workflow, Role.STAFF)
    client.force_login(staff)
    assert _upload(client, result, "會議紀錄.pdf", PDF).status_code == 302
    evidence = Evidence.objects.get(result=result)
    assert object_storage.exists(evidence.file.name)

    response = client.get(reverse("evidence-download", args=[evidence.pk]))
    assert response.status_code == 200  # streamed, not a redirect to the store
    assert b"".join(response.streaming_content) == PDF

    client.force_login(django_user_model.objects.create_user("outsider"))
    assert client.get(reverse("evidence-download", args=[evidence.pk])).status_code in (403, 404)

    with django_capture_on_commit_callbacks(execute=True):
        evidence_delete(evidence=evidence, user=staff, reason="上傳錯檔")
    assert not object_storage.exists(evidence.file.name)
