"""A full disk (or any failure to write) during an evidence upload: the user is told the storage
is full, in their language, and no file is left behind, truncated or empty. The storage is a real
FileSystemStorage whose disk fills up mid-write."""

import errno
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from performance.models import Evidence
from performance.services import evidence_add, result_save_draft

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n" + b"0" * 200_000 + b"\n%%EOF\n"


class _FillsUp:
    """An upload whose writing stops, as on a full disk, after `room` bytes."""

    def __init__(self, content, room: int, error: int):
        self.content, self.room, self.error = content, room, error

    def chunks(self, chunk_size=None):
        written = 0
        for chunk in self.content.chunks(4096):
            if written + len(chunk) > self.room:
                raise OSError(self.error, os.strerror(self.error))
            written += len(chunk)
            yield chunk


class FullDiskStorage(FileSystemStorage):
    """FileSystemStorage's own writing, on a disk with `ROOM` bytes free."""

    ROOM = 64 * 1024
    ERROR = errno.ENOSPC

    def _save(self, name, content):
        return super()._save(name, _FillsUp(content, self.ROOM, self.ERROR))


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": f"{__name__}.FullDiskStorage"},
    }
    return settings.MEDIA_ROOT


@pytest.fixture
def result(workflow, alice):
    return result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("120")},
        narrative={},
        expected_version=None,
        user=alice,
    )


def _files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.mark.parametrize("room", [0, 64 * 1024], ids=["nothing-written", "part-written"])
def test_a_full_disk_says_so_and_leaves_no_file(media, result, alice, room, monkeypatch):
    monkeypatch.setattr(FullDiskStorage, "ROOM", room)
    with pytest.raises(ValidationError) as excinfo:
        evidence_add(result=result, upload=SimpleUploadedFile("清冊.pdf", PDF), user=alice)
    assert "儲存空間已滿" in excinfo.value.message_dict["file"][0]
    assert _files(media) == []
    assert not Evidence.objects.exists()


def test_any_other_write_failure_leaves_no_file_either(media, result, alice, monkeypatch):
    monkeypatch.setattr(FullDiskStorage, "ERROR", errno.EIO)
    with pytest.raises(ValidationError) as excinfo:
        evidence_add(result=result, upload=SimpleUploadedFile("清冊.pdf", PDF), user=alice)
    assert "無法儲存" in excinfo.value.message_dict["file"][0]
    assert _files(media) == []


def test_the_page_shows_it_next_to_the_field_in_the_users_language(client, media, result, alice):
    client.force_login(alice)
    url = reverse("evidence-upload", args=[result.indicator_id, result.quarter])
    response = client.post(
        url, {"file": SimpleUploadedFile("list.pdf", PDF)}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "storage is full" in response.content.decode()
    assert _files(media) == []
