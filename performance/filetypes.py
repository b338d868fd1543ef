"""What an uploaded file is, read from its content (magic bytes, a zip's members), never from
its name: a name can say .pdf about anything."""

import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import BinaryIO


@dataclass(frozen=True)
class Kind:
    label: str
    content_type: str
    suffixes: tuple[str, ...]

    def matches(self, name: str) -> bool:
        return PurePath(name).suffix.lower() in self.suffixes


PDF = Kind("PDF", "application/pdf", (".pdf",))
PNG = Kind("PNG", "image/png", (".png",))
JPEG = Kind("JPEG", "image/jpeg", (".jpg", ".jpeg"))
XLSX = Kind(
    "Excel (xlsx)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)
)
DOCX = Kind(
    "Word (docx)",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
)
ODF_KINDS = {
    "application/vnd.oasis.opendocument.text": Kind(
        "ODF (odt)", "application/vnd.oasis.opendocument.text", (".odt",)
    ),
    "application/vnd.oasis.opendocument.spreadsheet": Kind(
        "ODF (ods)", "application/vnd.oasis.opendocument.spreadsheet", (".ods",)
    ),
    "application/vnd.oasis.opendocument.presentation": Kind(
        "ODF (odp)", "application/vnd.oasis.opendocument.presentation", (".odp",)
    ),
}
ALL_KINDS = (PDF, PNG, JPEG, XLSX, DOCX, *ODF_KINDS.values())
_MAGIC = ((b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG))


def accepted_kinds() -> str:
    return "、".join(kind.label for kind in ALL_KINDS)


def _zip_kind(file: BinaryIO) -> Kind | None:
    try:
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                return ODF_KINDS.get(declared)
            if "[Content_Types].xml" not in names:
                return None
            if "xl/workbook.xml" in names:
                return XLSX
            if "word/document.xml" in names:
                return DOCX
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return None
    return None


def sniff(file: BinaryIO) -> Kind | None:
    """The kind `file` (positioned at its start) holds, or None if it is none we accept."""
    head = file.read(8)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"PK\x03\x04"):
        file.seek(0)
        return _zip_kind(file)
    return None
