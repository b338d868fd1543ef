"""Job results in shared storage (STORAGES["default"]: MEDIA_ROOT, or object storage through
django-storages when configured), never a partial file.

On a file system a result is written to a temporary name in its own folder and renamed when
complete, so a reader sees the whole file or none; a worker killed mid-write leaves only a
`.tmp` file, which no key names and prune_exports removes. An object store writes an object in
one request. A full disk fails the write with StorageFull and leaves nothing behind.
"""

import errno
import os
import tempfile
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.utils.translation import gettext as _

from kpitrack.core.stored_files import remove_older

from .kinds import JobFailed

TEMPORARY_SUFFIX = ".tmp"


class StorageFull(JobFailed):
    """No room left to write the job's file."""


def _storage():
    return storages["default"]


def _local_path(name: str) -> Path | None:
    """The file's path on this machine, or None when the storage is not the file system.

    Asked of the storage's class, not of path(): an object store has no path (S3 raises
    NotImplementedError), but another storage may answer one where no file is written (Django's
    InMemoryStorage), and a rename there would write beside the storage instead of into it."""
    storage = _storage()
    if not isinstance(storage, FileSystemStorage):
        return None
    return Path(storage.path(name))


def exists(name: str) -> bool:
    return bool(name) and _storage().exists(name)


def open_file(name: str):
    return _storage().open(name, "rb")


def delete(name: str) -> None:
    if name:
        _storage().delete(name)


def touch(name: str) -> None:
    """Marks a stored file as used now: retention counts from its last use."""
    path = _local_path(name)
    if path is not None:
        try:
            os.utime(path)
        except OSError:
            pass


def save_atomically(name: str, data: bytes) -> str:
    """Stores `data` under `name` (replacing what was there) as one whole file."""
    path = _local_path(name)
    if path is None:
        try:
            if _storage().exists(name):
                _storage().delete(name)
            return _storage().save(name, ContentFile(data))
        except OSError as exc:
            raise _write_error(exc) from exc
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX
        )
    except OSError as exc:
        raise _write_error(exc) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _write_error(exc) from exc
        raise
    return name


def _write_error(exc: OSError) -> JobFailed:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull(_("儲存空間已滿，無法寫入檔案；請通知系統管理者清出空間後再試一次。"))
    return JobFailed(
        _("無法寫入檔案：%(error)s") % {"error": exc.strerror or exc.__class__.__name__}
    )


def prune(folder: str, *, older_than_days: int, keep: set[str] = frozenset()) -> list[str]:
    """Removes the files under `folder` not used for `older_than_days` days (and temporary files
    left by a killed writer, after a day), except those named in `keep`. Returns their names."""
    return remove_older(
        _storage(),
        folder,
        seconds=older_than_days * 86400,
        keep=keep,
        temporary_suffix=TEMPORARY_SUFFIX,
    )
