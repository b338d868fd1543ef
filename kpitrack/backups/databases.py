"""The database half of a backup: PostgreSQL through pg_dump / pg_restore (custom format), SQLite
through its online backup API. The facts the manifest records (tables and their row counts,
applied migrations, server version) are read from the same snapshot that is dumped.

pg_dump and pg_restore get the connection from the environment (PGHOST, PGPORT, PGUSER,
PGDATABASE, PGPASSWORD and the SSL options), never from their command line, where any user of
the machine could read a password."""

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from .archive import DATABASE_MEMBERS, BackupError

# Rows `manage.py migrate` writes into a database that holds no data yet: such a database is
# still empty for a restore.
MIGRATE_WRITES = {"django_migrations", "django_content_type", "auth_permission"}

_PG_SETTINGS = {"HOST": "PGHOST", "PORT": "PGPORT", "USER": "PGUSER", "NAME": "PGDATABASE"}
_PG_OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}


@dataclass
class Facts:
    """What the manifest says about the database, read from the snapshot that was dumped."""

    version: str
    row_counts: dict[str, int]
    migrations: dict[str, list[str]]


def member_name(connection) -> str:
    return DATABASE_MEMBERS[connection.vendor]


def _pg_env(settings_dict: dict) -> dict:
    env = dict(os.environ)
    for key, variable in _PG_SETTINGS.items():
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    for option, variable in _PG_OPTIONS.items():
        value = (settings_dict.get("OPTIONS") or {}).get(option)
        if value is not None:
            env[variable] = str(value)
    return env


def _run(tool: str, arguments: list[str], settings_dict: dict) -> str:
    program = shutil.which(tool)
    if program is None:
        raise BackupError(
            _("找不到 %(tool)s：請安裝 postgresql-client（make system-packages 會安裝）。")
            % {"tool": tool}
        )
    done = subprocess.run(
        [program, "--no-password", *arguments],
        env=_pg_env(settings_dict),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(
            _("%(tool)s 失敗（結束碼 %(code)s）：%(error)s")
            % {"tool": tool, "code": done.returncode, "error": done.stderr.strip()}
        )
    return done.stdout


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _count_and_migrations(cursor, tables: list[str]) -> tuple[dict, dict]:
    counts = {}
    for table in sorted(tables):
        cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608 -- quoted name
        counts[table] = cursor.fetchone()[0]
    migrations: dict[str, list[str]] = {}
    if "django_migrations" in tables:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in cursor.fetchall():
            migrations.setdefault(app, []).append(name)
    return counts, migrations


def _sqlite_tables(cursor) -> list[str]:
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' "
        "ESCAPE '!' ORDER BY name"
    )
    return [row[0] for row in cursor.fetchall()]


def sqlite_facts(path: Path) -> Facts:
    """Facts of an SQLite file, opened read-only."""
    database = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        cursor = database.cursor()
        counts, migrations = _count_and_migrations(cursor, _sqlite_tables(cursor))
    finally:
        database.close()
    return Facts(sqlite3.sqlite_version, counts, migrations)


def _pg_facts(connection) -> Facts:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        tables = connection.introspection.table_names(cursor)
        counts, migrations = _count_and_migrations(cursor, tables)
    return Facts(version, counts, migrations)


def dump(connection, target: Path) -> Facts:
    """Writes the database to `target` (a new file) and returns its facts."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        copy = sqlite3.connect(target)
        try:
            # One step (all pages at once): a consistent copy of the live database.
            connection.connection.backup(copy)
        finally:
            copy.close()
        return sqlite_facts(target)
    if connection.in_atomic_block:
        raise RuntimeError("a backup runs in its own transaction, not inside another")
    # pg_dump reads the snapshot this transaction exported, so the manifest's row counts and
    # migrations are exactly those of the dump, whatever is written meanwhile.
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        facts = _pg_facts(connection)
        _run(
            "pg_dump",
            ["--format=custom", f"--snapshot={snapshot}", f"--file={target}"],
            connection.settings_dict,
        )
    return facts


def facts(connection) -> Facts:
    """Facts of the configured database as it is now (after a restore)."""
    if connection.vendor == "sqlite":
        return sqlite_facts(Path(connection.settings_dict["NAME"]))
    return _pg_facts(connection)


def is_in_memory(connection) -> bool:
    name = str(connection.settings_dict["NAME"])
    return connection.vendor == "sqlite" and (name == ":memory:" or "mode=memory" in name)


def filled_tables(connection) -> list[str]:
    """Tables of the configured database that hold rows `migrate` does not write itself."""
    if connection.vendor == "sqlite" and not Path(connection.settings_dict["NAME"]).exists():
        return []
    with connection.cursor() as cursor:
        tables = [
            t for t in connection.introspection.table_names(cursor) if t not in MIGRATE_WRITES
        ]
        counts, _migrations = _count_and_migrations(cursor, tables)
    return [table for table, count in counts.items() if count]


def check_staged(connection, path: Path) -> None:
    """The staged database can be read: pg_restore lists its contents, or SQLite's integrity
    check passes."""
    if connection.vendor == "sqlite":
        try:
            database = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                verdict = database.execute("PRAGMA integrity_check").fetchall()
            finally:
                database.close()
        except sqlite3.DatabaseError as exc:
            verdict = [(str(exc),)]
        if verdict != [("ok",)]:
            raise BackupError(
                _("備份中的 SQLite 資料庫無法使用，未變更任何資料：%(error)s")
                % {"error": "; ".join(str(row[0]) for row in verdict[:5])}
            )
        return
    _run("pg_restore", ["--list", str(path)], connection.settings_dict)


def restore(connection, path: Path, *, tables: list[str]) -> None:
    """Replaces the configured database's content with the staged dump at `path`, all or
    nothing. `tables`: the archive's tables; on PostgreSQL any other table (left by newer
    migrations of a replaced database) is dropped afterwards."""
    connection.close()
    if connection.vendor == "sqlite":
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(connection.settings_dict["NAME"], timeout=20)
        try:
            # The backup API writes the whole file in one transaction of the target: readers
            # see the old database or the new one, never half of each.
            source.backup(target)
        except sqlite3.Error as exc:
            raise BackupError(
                _("無法寫入 SQLite 資料庫，未變更任何資料：%(error)s") % {"error": exc}
            ) from None
        finally:
            source.close()
            target.close()
        return
    _run(
        "pg_restore",
        [
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={connection.settings_dict['NAME']}",
            str(path),
        ],
        connection.settings_dict,
    )
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table not in tables:
                cursor.execute(f"DROP TABLE IF EXISTS {_quote(table)} CASCADE")
