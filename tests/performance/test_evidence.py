"""evidence_add / evidence_delete: size limit, type by content, storage outside the static
root, history of both."""

import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from performance.models import Evidence, Result
from performance.services import (
    ResultLocked,
    evidence_add,
    evidence_delete,
    result_save_draft,
)

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    Workbook().save(buffer)
    return buffer.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def result(workflow, alice):
    return result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": "120"},
        narrative={},
        expected_version=None,
        user=alice,
    )


def _add(result, user, name, content):
    return evidence_add(
        result=result, upload=SimpleUploadedFile(name, content), user=user, reason="核卡清冊"
    )


def _stored(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_a_pdf_is_stored_under_media_root_with_its_history(media, result, alice):
    evidence = _add(result, alice, "核卡清冊.pdf", PDF)
    path = Path(evidence.file.path)
    assert path.read_bytes() == PDF
    assert media in path.parents
    assert Path(django_settings.STATIC_ROOT) not in path.parents
    assert "核卡清冊" not in path.name  # never the uploader's name on disk
    assert (evidence.original_name, evidence.content_type, evidence.size) == (
        "核卡清冊.pdf",
        "application/pdf",
        len(PDF),
    )
    row = evidence.history.latest()
    assert (row.history_type, row.history_user, row.history_change_reason) == (
        "+",
        alice,
        "核卡清冊",
    )


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("photo.png", PNG, "image/png"),
        ("photo.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 16, "image/jpeg"),
        (
            "sheet.xlsx",
            _xlsx(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            "memo.docx",
            _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "memo.odt",
            _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}),
            "application/vnd.oasis.opendocument.text",
        ),
    ],
)
def test_each_accepted_kind_is_recognised_by_its_content(
    media, result, alice, name, content, content_type
):
    assert _add(result, alice, name, content).content_type == content_type


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("fake.pdf", b"MZ\x90\x00 this is an executable", "不是可接受的檔案類型"),
        ("fake.pdf", PNG, "內容是 PNG，與副檔名不符"),
        ("fake.xlsx", _zip({"readme.txt": b"hello"}), "不是可接受的檔案類型"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "不是可接受的檔案類型"),
        ("empty.pdf", b"", "檔案是空的"),
    ],
)
def test_a_file_whose_content_is_not_accepted_is_refused_and_nothing_is_kept(
    media, result, alice, name, content, words
):
    with pytest.raises(ValidationError) as excinfo:
        _add(result, alice, name, content)
    assert words in excinfo.value.message_dict["file"][0]
    assert not Evidence.objects.exists()
    assert _stored(media) == []


def test_a_file_over_the_size_limit_is_refused(settings, media, result, alice):
    settings.EVIDENCE_MAX_BYTES = len(PDF) - 1
    with pytest.raises(ValidationError) as excinfo:
        _add(result, alice, "big.pdf", PDF)
    assert "超過上限" in excinfo.value.message_dict["file"][0]
    assert _stored(media) == []


def test_deleting_keeps_the_history_and_removes_the_file_after_commit(
    media, result, alice, django_capture_on_commit_callbacks
):
    evidence = _add(result, alice, "a.pdf", PDF)
    path = Path(evidence.file.path)
    with pytest.raises(ValidationError):
        evidence_delete(evidence=evidence, user=alice, reason="")
    with django_capture_on_commit_callbacks(execute=True):
        evidence_delete(evidence=evidence, user=alice, reason="上傳錯檔")
    assert not Evidence.objects.exists()
    assert not path.exists()
    rows = Evidence.history.filter(id=evidence.pk).order_by("history_id")
    assert [(r.history_type, r.history_change_reason) for r in rows] == [
        ("+", "核卡清冊"),
        ("-", "上傳錯檔"),
    ]


def test_an_approved_result_takes_no_new_evidence(media, result, alice):
    Result.objects.filter(pk=result.pk).update(state=Result.State.APPROVED)
    with pytest.raises(ResultLocked):
        _add(result, alice, "a.pdf", PDF)
    assert _stored(media) == []


def test_only_people_who_enter_the_indicator_attach_evidence(media, result, people):
    with pytest.raises(PermissionDenied):
        _add(result, people["other_staff"], "a.pdf", PDF)
    assert _add(result, people["staff"], "a.pdf", PDF).uploaded_by == people["staff"]
