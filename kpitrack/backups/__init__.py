"""Backups of a kpitrack site (`manage.py backup` / `manage.py restore`): one archive holding the
database, every file under MEDIA_ROOT and a manifest (versions, applied migrations, row counts
per table, sha256 and size of every member). README, "Backups", says how to use them.

A backup is written to a temporary file beside its destination and renamed into place, readable
by its owner only. A restore checks the whole archive before it touches anything: a damaged,
truncated or tampered archive, one of the other database engine or one made by newer code is
refused with nothing changed."""

import os
import platform
import re
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import django
from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django.utils.translation import gettext as _

from . import archive, databases
from .archive import FORMAT, KIND, MEDIA, SUFFIX, BackupError

__all__ = ["BackupError", "Written", "Restored", "write_backup", "restore_backup"]

PREFIX = "kpitrack-backup-"
_NAMED = re.compile(rf"^{PREFIX}\d{{8}}T\d{{6}}Z{re.escape(SUFFIX)}$")


@dataclass
class Written:
    path: Path
    manifest: dict
    pruned: list[Path] = field(default_factory=list)


@dataclass
class Restored:
    manifest: dict
    # Tables whose row count differs from the manifest's: (table, in the manifest, restored).
    mismatches: list[tuple[str, int | None, int | None]]
    # Migrations of this code the restored database has not applied (run `manage.py migrate`).
    unapplied: list[str]


def _code_version() -> dict:
    base = Path(settings.BASE_DIR)
    try:
        with (base / "pyproject.toml").open("rb") as file:
            version = tomllib.load(file)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        version = None
    commit = None
    git = shutil.which("git")
    if git and (base / ".git").exists():
        done = subprocess.run(
            [git, "-C", str(base), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            commit = done.stdout.strip() or None
    return {"version": version, "commit": commit}


def _destination(path: Path, now: datetime, *, force: bool, keep: int | None) -> Path:
    media_root = Path(settings.MEDIA_ROOT).resolve()
    where = path.resolve() if path.is_dir() else path.parent.resolve()
    if where == media_root or media_root in where.parents:
        # Each backup would then hold the ones before it.
        raise BackupError(_("備份不可寫在媒體資料夾 %(media)s 之內。") % {"media": media_root})
    if path.is_dir():
        return path / f"{PREFIX}{now:%Y%m%dT%H%M%SZ}{SUFFIX}"
    if keep is not None:
        raise BackupError(_("--keep 只能與資料夾一起使用：%(path)s 不是資料夾。") % {"path": path})
    if not path.parent.is_dir():
        raise BackupError(_("資料夾 %(path)s 不存在。") % {"path": path.parent})
    if path.exists() and not force:
        raise BackupError(_("%(path)s 已存在；要覆寫請加 --force。") % {"path": path})
    return path


def _prune(folder: Path, keep: int) -> list[Path]:
    """Deletes all but the newest `keep` archives this command named in `folder`."""
    ours = sorted(
        (
            p
            for p in folder.iterdir()
            if _NAMED.match(p.name) and p.is_file() and not p.is_symlink()
        ),
        reverse=True,
    )
    for old in ours[keep:]:
        try:
            old.unlink()
        except OSError as exc:
            raise BackupError(
                _("備份已寫入，但無法刪除較舊的備份 %(path)s：%(error)s")
                % {"path": old, "error": exc.strerror}
            ) from None
    return ours[keep:]


def write_backup(path: Path, *, force: bool = False, keep: int | None = None) -> Written:
    """Backs up the configured database and MEDIA_ROOT to `path` (a file, or a folder in which a
    timestamped name is chosen); with `keep`, leaves only the newest `keep` archives there."""
    connection = connections["default"]
    now = datetime.now(UTC).replace(microsecond=0)
    target = _destination(Path(path), now, force=force, keep=keep)
    try:
        work = Path(tempfile.mkdtemp(prefix=".kpitrack-backup-", dir=target.parent))
    except OSError as exc:
        raise BackupError(
            _("無法寫入備份 %(path)s：%(error)s") % {"path": target, "error": exc}
        ) from None
    try:
        dumped = work / databases.member_name(connection)
        facts = databases.dump(connection, dumped)
        # After the database: a file uploaded meanwhile is kept without its row (harmless),
        # rather than a row kept without its file.
        members = [(dumped.name, dumped), *archive.media_files(Path(settings.MEDIA_ROOT))]
        manifest = {
            "kind": KIND,
            "format": FORMAT,
            "created_at": now.isoformat(),
            "kpitrack": _code_version(),
            "django": django.get_version(),
            "python": platform.python_version(),
            "database": {"engine": connection.vendor, "version": facts.version},
            "migrations": facts.migrations,
            "row_counts": facts.row_counts,
        }
        partial = work / "archive.partial"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            manifest = archive.write(file, members, manifest)
            file.flush()
            os.fsync(file.fileno())
        if force:
            os.replace(partial, target)
        else:
            try:
                os.link(partial, target)  # fails, rather than overwrites, if it appeared meanwhile
            except FileExistsError:
                raise BackupError(
                    _("%(path)s 已存在；要覆寫請加 --force。") % {"path": target}
                ) from None
    except OSError as exc:
        raise BackupError(
            _("無法寫入備份 %(path)s：%(error)s") % {"path": target, "error": exc}
        ) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pruned = _prune(target.parent, keep) if keep is not None else []
    return Written(target, manifest, pruned)


def _known_migrations() -> set[tuple[str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)
    return known


def _check_compatible(connection, manifest: dict, archive_path: Path) -> None:
    engine = (manifest.get("database") or {}).get("engine")
    if engine != connection.vendor:
        raise BackupError(
            _("備份來自 %(archive)s 資料庫，但目前設定的是 %(configured)s；未變更任何資料。")
            % {"archive": engine, "configured": connection.vendor}
        )
    known = _known_migrations()
    unknown = sorted(
        f"{app}.{name}"
        for app, names in (manifest.get("migrations") or {}).items()
        for name in names
        if (app, name) not in known
    )
    if unknown:
        raise BackupError(
            _("備份來自較新版本的程式（本程式沒有這些 migration：%(names)s）；未變更任何資料。")
            % {"names": "、".join(unknown)}
        )
    if databases.member_name(connection) not in manifest["files"]:
        raise BackupError(
            _("備份檔 %(path)s 沒有資料庫；未變更任何資料。") % {"path": archive_path}
        )


def _media_in_use(media_root: Path) -> bool:
    return media_root.is_dir() and any(p.is_file() for p in media_root.rglob("*"))


def _staging_folder(media_root: Path) -> Path:
    # Beside MEDIA_ROOT, so that putting the files in place is a rename, not a copy.
    try:
        media_root.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".kpitrack-restore-", dir=media_root.parent))
    except OSError:
        return Path(tempfile.mkdtemp(prefix="kpitrack-restore-"))


def restore_backup(path: Path, *, replace: bool = False) -> Restored:
    """Restores the archive at `path` into the configured database and MEDIA_ROOT, which must
    be empty unless `replace`. Nothing is changed unless the whole archive checks out."""
    connection = connections["default"]
    media_root = Path(settings.MEDIA_ROOT)
    path = Path(path)
    if not path.is_file():
        raise BackupError(_("找不到備份檔 %(path)s。") % {"path": path})
    if databases.is_in_memory(connection):
        raise BackupError(_("無法還原到記憶體中的 SQLite 資料庫。"))
    staging = _staging_folder(media_root)
    try:
        try:
            manifest = archive.stage(path, staging / "archive")
        except OSError as exc:  # no room to stage, or the archive cannot be read
            raise BackupError(
                _("無法讀取備份檔 %(path)s 或暫存其內容，未變更任何資料：%(error)s")
                % {"path": path, "error": exc}
            ) from None
        _check_compatible(connection, manifest, path)
        staged_database = staging / "archive" / databases.member_name(connection)
        databases.check_staged(connection, staged_database)
        if not replace:
            filled = databases.filled_tables(connection)
            if filled:
                raise BackupError(
                    _(
                        "資料庫不是空的（%(count)s 個資料表有資料，例如 %(tables)s）；"
                        "要取代請加 --replace。"
                    )
                    % {"count": len(filled), "tables": "、".join(filled[:3])}
                )
            if _media_in_use(media_root):
                raise BackupError(
                    _("媒體資料夾 %(path)s 不是空的；要取代請加 --replace。") % {"path": media_root}
                )
        expected = manifest.get("row_counts") or {}
        databases.restore(connection, staged_database, tables=list(expected))
        try:
            archive.move_media(staging / "archive" / MEDIA, media_root, staging / "replaced")
        except OSError as exc:
            raise BackupError(
                _("資料庫已還原，但媒體檔案無法放入 %(path)s：%(error)s")
                % {"path": media_root, "error": exc}
            ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    found = databases.facts(connection).row_counts
    mismatches = [
        (table, expected.get(table), found.get(table))
        for table in sorted(set(expected) | set(found))
        if expected.get(table) != found.get(table)
    ]
    applied = {
        (app, name) for app, names in (manifest.get("migrations") or {}).items() for name in names
    }
    loader = MigrationLoader(None, ignore_no_migrations=True)
    unapplied = sorted(f"{a}.{n}" for a, n in loader.disk_migrations if (a, n) not in applied)
    return Restored(manifest, mismatches, unapplied)
