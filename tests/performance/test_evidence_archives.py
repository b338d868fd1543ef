"""Zip-based evidence (odt, docx, xlsx…) is judged from the zip directory before any member is
read: sizes, compression ratio and number of members, as the workbook import does; no member is
read unbounded; Office files with macros are refused."""

import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from performance.models import Evidence
from performance.services import evidence_add, result_save_draft

pytestmark = pytest.mark.django_db

ODT = "application/vnd.oasis.opendocument.text"
BOMB = 24 * 1024 * 1024  # inflates from about 24 KB


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
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


def _refused(result, user, name, content) -> str:
    with pytest.raises(ValidationError) as excinfo:
        evidence_add(result=result, upload=SimpleUploadedFile(name, content), user=user)
    assert not Evidence.objects.exists()
    return excinfo.value.message_dict["file"][0]


def _stored(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_a_mimetype_that_inflates_enormously_is_refused_without_inflating_it(media, result, alice):
    bomb = _zip({"mimetype": ODT.encode() + b" " * (BOMB - len(ODT)), "content.xml": b"<x/>"})
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        message = _refused(result, alice, "bomb.odt", bomb)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "壓縮" in message
    assert peak < BOMB // 4, f"{peak:,} bytes were allocated: a member was inflated"
    assert _stored(media) == []


def test_a_large_mimetype_is_never_read_whole_even_when_stored_uncompressed(media, result, alice):
    # Stored (not deflated), so no ratio gives it away; only a bounded read keeps memory small.
    big = _zip({"mimetype": ODT.encode() + b" " * (4 * 1024 * 1024)}, zipfile.ZIP_STORED)
    tracemalloc.start()
    try:
        _refused(result, alice, "big.odt", big)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, f"{peak:,} bytes were allocated: the member was read whole"


def test_too_many_members_are_refused(media, result, alice):
    members = {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}
    members.update({f"word/media/{n}.txt": b"" for n in range(1_001)})
    assert "檔案數過多" in _refused(result, alice, "many.docx", _zip(members))


def test_a_member_too_large_when_inflated_is_refused(media, result, alice, monkeypatch):
    import performance.filetypes as filetypes

    monkeypatch.setattr(filetypes, "MAX_UNCOMPRESSED", 1024 * 1024)
    members = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}
    members["xl/media/image1.bin"] = bytes(range(256)) * 8192  # 2 MiB, barely compressible
    assert "解壓縮後過大" in _refused(result, alice, "big.xlsx", _zip(members))


@pytest.mark.parametrize(
    ("name", "members"),
    [
        ("macro.docx", {"word/document.xml": b"<w/>", "word/vbaProject.bin": b"x"}),
        ("macro.xlsx", {"xl/workbook.xml": b"<w/>", "xl/vbaProject.bin": b"x"}),
        ("macro.docx", {"word/document.xml": b"<w/>", "word/VBAPROJECT.BIN": b"x"}),
    ],
)
def test_office_files_with_macros_are_refused(media, result, alice, name, members):
    content = _zip({"[Content_Types].xml": b"<Types/>", **members})
    assert "巨集" in _refused(result, alice, name, content)
    assert _stored(media) == []


def test_an_ordinary_odt_and_docx_are_still_accepted(media, result, alice):
    odt = _zip({"mimetype": ODT.encode(), "content.xml": b"<x/>" * 1000})
    docx = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>" * 1000})
    for name, content in [("memo.odt", odt), ("memo.docx", docx)]:
        evidence_add(result=result, upload=SimpleUploadedFile(name, content), user=alice)
    assert Evidence.objects.count() == 2
