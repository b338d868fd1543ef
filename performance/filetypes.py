"""What an uploaded file is, read from its content (magic bytes, a zip's members), never from
its name: a name can say .pdf about anything."""

import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import BinaryIO

from django.utils.translation import gettext as _

# A zip is judged from its directory before any member is read (Python's zipfile never inflates a
# member past its declared size, so the directory bounds what reading can cost). The entry
# workbook passes its own limits (settings); evidence uses these.
MAX_MEMBERS = 1_000
MAX_UNCOMPRESSED = 100 * 1024 * 1024
# Office XML compresses about 10-30×; a bomb thousands of times. Small members may compress far.
MAX_RATIO = 200
RATIO_FROM_BYTES = 1024 * 1024
# An ODF `mimetype` member is one short line; nothing longer is read.
MIMETYPE_MAX_BYTES = 100


class UnsafeArchive(Exception):
    """A zip refused from its directory alone. `reason`: macros, members, size or ratio."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def message(self, name: str) -> str:
        """What an evidence upload answers (the workbook words its own)."""
        return {
            "macros": _("不接受含巨集的 Office 檔案（%(name)s），請另存為不含巨集的格式後上傳。"),
            "members": _("「%(name)s」的壓縮內容結構異常（檔案數過多），已拒絕。"),
            "size": _("「%(name)s」解壓縮後過大，可能是壓縮炸彈，已拒絕。"),
            "ratio": _("「%(name)s」的壓縮比異常，可能是壓縮炸彈，已拒絕。"),
        }[self.reason] % {"name": name}


def check_directory(
    members: list[zipfile.ZipInfo],
    *,
    max_members: int | None = None,
    max_uncompressed: int | None = None,
    max_ratio: int | None = None,
) -> None:
    """Raises UnsafeArchive for macros (vbaProject.bin), too many members, too much inflated
    data or a bomb's compression ratio, reading the zip directory only."""
    if any(m.filename.lower().endswith("vbaproject.bin") for m in members):
        raise UnsafeArchive("macros")
    if len(members) > (max_members or MAX_MEMBERS):
        raise UnsafeArchive("members")
    if sum(m.file_size for m in members) > (max_uncompressed or MAX_UNCOMPRESSED):
        raise UnsafeArchive("size")
    ratio = max_ratio or MAX_RATIO
    for member in members:
        if member.file_size > RATIO_FROM_BYTES and member.file_size > ratio * max(
            member.compress_size, 1
        ):
            raise UnsafeArchive("ratio")


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
            members = archive.infolist()
            check_directory(members)
            names = {m.filename for m in members}
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    declared = member.read(MIMETYPE_MAX_BYTES + 1)
                if len(declared) > MIMETYPE_MAX_BYTES:
                    return None
                return ODF_KINDS.get(declared.decode("ascii", "replace").strip())
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
    """The kind `file` (positioned at its start) holds, or None if it is none we accept;
    raises UnsafeArchive for a zip refused from its directory."""
    head = file.read(8)
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"PK\x03\x04"):
        file.seek(0)
        return _zip_kind(file)
    return None
