"""`manage.py backup` on the database of this pass: one archive, readable by its owner only,
holding the database, every media file and a manifest whose row counts and checksums are those
of what it holds; an existing file is kept unless --force; --keep prunes only older archives of
the command's own naming in a folder."""

import hashlib
import io
import json
import re
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import django
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from . import snapshot
from .backups import fill_source

pytestmark = pytest.mark.django_db(transaction=True)
NAMED = re.compile(r"^kpitrack-backup-\d{8}T\d{6}Z\.tar\.gz$")


def _read(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        assert all(m.isreg() for m in members)
        return {m.name: tar.extractfile(m).read() for m in members}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_archive_holds_the_database_every_media_file_and_a_manifest(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    fill_source(documents=False)
    tables = snapshot.tables()
    media = snapshot.media()
    folder = tmp_path / "backups"
    folder.mkdir()
    out = io.StringIO()
    call_command("backup", str(folder), stdout=out)

    [archive] = folder.iterdir()  # no temporary file left beside it
    assert NAMED.match(archive.name)
    assert archive.stat().st_mode & 0o777 == 0o600
    assert str(archive) in out.getvalue()
    members = _read(archive)
    manifest = json.loads(members.pop("manifest.json"))
    database = "database.sqlite3" if connection.vendor == "sqlite" else "database.dump"
    assert sorted(members) == sorted([database, *(f"media/{name}" for name in media)])
    assert manifest["files"] == {
        name: {"sha256": _sha256(data), "size": len(data)} for name, data in members.items()
    }
    assert {name: manifest["files"][f"media/{name}"]["sha256"] for name in media} == media
    assert manifest["row_counts"] == {table: len(rows) for table, rows in tables.items()}
    assert manifest["row_counts"]["performance_evidence"] == 3
    assert manifest["database"]["engine"] == connection.vendor
    assert manifest["django"] == django.get_version()
    assert manifest["kpitrack"]["version"] == "0.1.0"
    assert "0001_initial" in manifest["migrations"]["performance"]

    # The database member is the database: SQLite opens it, pg_restore lists its tables.
    dumped = tmp_path / database
    dumped.write_bytes(members[database])
    if connection.vendor == "sqlite":
        copy = sqlite3.connect(dumped)
        count = copy.execute("SELECT COUNT(*) FROM performance_evidence").fetchone()[0]
        copy.close()
        assert count == 3
    else:
        listing = subprocess.run(
            [shutil.which("pg_restore"), "--list", str(dumped)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "TABLE DATA public performance_evidence" in listing


def test_an_existing_file_is_kept_unless_forced(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    archive = tmp_path / "backups" / "site.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(b"an older backup")
    with pytest.raises(CommandError, match="已存在；要覆寫請加 --force"):
        call_command("backup", str(archive), stdout=io.StringIO())
    assert archive.read_bytes() == b"an older backup"
    assert [p.name for p in archive.parent.iterdir()] == ["site.tar.gz"]

    call_command("backup", str(archive), "--force", stdout=io.StringIO())
    assert "manifest.json" in _read(archive)
    assert archive.stat().st_mode & 0o777 == 0o600


def test_with_object_storage_the_backup_says_the_files_are_not_in_it(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    archive = tmp_path / "site.tar.gz"
    call_command("backup", str(archive), stdout=io.StringIO(), stderr=(quiet := io.StringIO()))
    assert quiet.getvalue() == ""  # the file system: the files are in the archive
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    err = io.StringIO()
    call_command("backup", str(archive), "--force", stdout=io.StringIO(), stderr=err)
    assert "不在這份備份中" in err.getvalue()


def test_keep_deletes_only_the_older_archives_it_named(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    folder = tmp_path / "backups"
    folder.mkdir()
    others = ["kpitrack-backup-manual.tar.gz", "notes.txt", "kpitrack-backup-20100101T000000Z.tgz"]
    older = [f"kpitrack-backup-20{y}0101T000000Z.tar.gz" for y in (19, 20, 21)]
    for name in [*others, *older]:
        (folder / name).write_bytes(b"x")
    out = io.StringIO()
    call_command("backup", str(folder), "--keep", "2", stdout=out)
    kept = sorted(p.name for p in folder.iterdir())
    [new] = [name for name in kept if NAMED.match(name) and name not in older]
    assert kept == sorted([*others, older[-1], new])
    assert all(str(folder / name) in out.getvalue() for name in older[:2])


def test_keep_needs_a_folder(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    with pytest.raises(CommandError, match="--keep 只能與資料夾一起使用"):
        call_command("backup", str(tmp_path / "site.tar.gz"), "--keep", "3")
    with pytest.raises(CommandError, match="資料夾 .* 不存在"):
        call_command("backup", str(tmp_path / "missing" / "site.tar.gz"))
    assert list(tmp_path.iterdir()) == []


def test_a_backup_is_never_written_inside_the_media_folder(tmp_path, settings):
    # Each would hold the ones before it.
    settings.MEDIA_ROOT = tmp_path / "media"
    inside = tmp_path / "media" / "backups"
    inside.mkdir(parents=True)
    for path in (inside, inside / "site.tar.gz", tmp_path / "media"):
        with pytest.raises(CommandError, match="不可寫在媒體資料夾"):
            call_command("backup", str(path))
    assert list(inside.iterdir()) == []
