"""The backup archive: one gzip'd tar holding the database, every media file and manifest.json
(written last, naming every other member with its sha256 and size).

Reading never extracts a member the manifest and the rules below did not allow: regular files
only, relative names below `media/` or the two database names, no `..`, no links or devices, no
member twice. Everything is staged into a folder first and checked there, so a damaged archive
is refused before the database or the media folder is touched."""

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import zlib
from datetime import datetime
from pathlib import Path, PurePosixPath

from django.utils.translation import gettext as _

MANIFEST = "manifest.json"
FORMAT = 1
KIND = "kpitrack-backup"
DATABASE_MEMBERS = {"postgresql": "database.dump", "sqlite": "database.sqlite3"}
MEDIA = "media"
SUFFIX = ".tar.gz"
_CHUNK = 1024 * 1024
_MANIFEST_MAX_BYTES = 64 * 1024 * 1024


class BackupError(Exception):
    """A backup or restore refused, with a message for the operator (already translated)."""


class _Hashing:
    """A file read through for tarfile, hashing exactly the bytes that go into the archive."""

    def __init__(self, file):
        self.file, self.sha256, self.size = file, hashlib.sha256(), 0

    def read(self, size=-1):
        data = self.file.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def _tarinfo(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    return info


def write(fileobj, members: list[tuple[str, Path]], manifest: dict) -> dict:
    """Writes `members` (archive name, file) then manifest.json, with `files` filled in, into
    the open binary `fileobj`; returns the manifest written."""
    files = {}
    with tarfile.open(
        fileobj=fileobj, mode="w:gz", compresslevel=6, format=tarfile.PAX_FORMAT
    ) as tar:
        for name, path in members:
            try:
                source = path.open("rb")
            except FileNotFoundError:
                continue  # a media file deleted since the folder was listed
            with source:
                stat = path.stat()
                reader = _Hashing(source)
                # tarfile copies exactly `size` bytes and fails if the file shrank meanwhile.
                tar.addfile(_tarinfo(name, stat.st_size, stat.st_mtime), reader)
            files[name] = {"sha256": reader.sha256.hexdigest(), "size": reader.size}
        manifest = {**manifest, "files": files}
        data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
        created = datetime.fromisoformat(manifest["created_at"]).timestamp()
        tar.addfile(_tarinfo(MANIFEST, len(data), created), io.BytesIO(data))
    return manifest


def _damaged(archive: Path, why: str) -> BackupError:
    return BackupError(
        _("備份檔 %(path)s 已損壞或不完整，未變更任何資料：%(why)s") % {"path": archive, "why": why}
    )


def _safe_name(name: str) -> str | None:
    """The member's name if it may be extracted, else None."""
    if not name or "\\" in name or "\0" in name or name.startswith("/"):
        return None
    parts = PurePosixPath(name).parts
    if any(part in ("", ".", "..") for part in parts) or str(PurePosixPath(*parts)) != name:
        return None
    if name == MANIFEST or name in DATABASE_MEMBERS.values():
        return name
    if parts[0] == MEDIA and len(parts) > 1:
        return name
    return None


def stage(archive: Path, folder: Path) -> dict:
    """Extracts `archive` into `folder` (which must be empty) checking every member against the
    manifest; returns the manifest. Raises BackupError when anything is wrong."""
    seen: dict[str, dict] = {}
    manifest_data = None
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                name = _safe_name(member.name)
                if name is None or not member.isreg():
                    raise _damaged(archive, _("不允許的成員「%(name)s」。") % {"name": member.name})
                if name in seen or (name == MANIFEST and manifest_data is not None):
                    raise _damaged(archive, _("成員「%(name)s」重複。") % {"name": name})
                source = tar.extractfile(member)
                if name == MANIFEST:
                    if member.size > _MANIFEST_MAX_BYTES:
                        raise _damaged(archive, _("manifest.json 過大。"))
                    manifest_data = source.read()
                    continue
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest, size = hashlib.sha256(), 0
                with target.open("xb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                seen[name] = {"sha256": digest.hexdigest(), "size": size}
    except BackupError:
        raise
    except FileNotFoundError:
        raise BackupError(_("找不到備份檔 %(path)s。") % {"path": archive}) from None
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error, UnicodeError) as exc:
        raise _damaged(archive, str(exc) or exc.__class__.__name__) from None
    if manifest_data is None:
        raise _damaged(archive, _("缺少 manifest.json。"))
    try:
        manifest = json.loads(manifest_data)
        files = manifest["files"]
        if manifest.get("kind") != KIND or not isinstance(files, dict):
            raise ValueError(manifest.get("kind"))
    except (ValueError, KeyError, TypeError):
        raise _damaged(archive, _("manifest.json 無法讀取。")) from None
    if manifest.get("format") != FORMAT:
        raise BackupError(
            _("備份檔格式 %(format)s 不是本版本能還原的格式 %(expected)s。")
            % {"format": manifest.get("format"), "expected": FORMAT}
        )
    for name in sorted(set(files) | set(seen)):
        if name not in seen:
            raise _damaged(archive, _("缺少成員「%(name)s」。") % {"name": name})
        if name not in files:
            raise _damaged(archive, _("manifest.json 未列出成員「%(name)s」。") % {"name": name})
        if files[name] != seen[name]:
            raise _damaged(
                archive,
                _("成員「%(name)s」的大小或 sha256 與 manifest.json 不符。") % {"name": name},
            )
    return manifest


def move_media(staged: Path, media_root: Path, trash: Path) -> None:
    """Puts the staged media files in place of MEDIA_ROOT's entries (which go to `trash`).
    MEDIA_ROOT itself stays (it may be a mount point, with its own owner and mode)."""
    media_root.mkdir(parents=True, exist_ok=True)
    trash.mkdir(parents=True, exist_ok=True)
    for entry in list(media_root.iterdir()):
        shutil.move(entry, trash / entry.name)
    if staged.is_dir():
        for entry in list(staged.iterdir()):
            shutil.move(entry, media_root / entry.name)


def media_files(media_root: Path) -> list[tuple[str, Path]]:
    """(archive name, path) of every regular file under MEDIA_ROOT, in a fixed order; links and
    anything else that is not a plain file are left out (evidence is always a plain file)."""
    if not media_root.is_dir():
        return []
    found = []
    for path in sorted(media_root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            relative = path.relative_to(media_root).as_posix()
            found.append((f"{MEDIA}/{relative}", path))
    return found
