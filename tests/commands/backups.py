"""For the backup and restore tests: a site with results entered and approved with evidence, a
fresh database and media folder to restore into (a new SQLite file, or a PostgreSQL database
made and dropped here), and `manage.py` run against it as an operator runs it (in a fresh
interpreter, tests/interpreters.py)."""

import json
import os
import sqlite3
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.core.files.uploadedfile import SimpleUploadedFile

from tests import interpreters
from tests.conftest import ROOT, SEED, make_alice
from tests.performance.conftest import build_workflow

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def _again(result):
    from performance.models import Result

    return Result.objects.get(pk=result.pk)


def fill_source(*, documents: bool = True):
    """The source documents loaded, then through the services: the count indicator's quarter
    entered with two evidence files and approved by 初核 and 複核, the ratio's entered with one
    and returned by 初核. Returns the workflow (tests/performance/conftest.py)."""
    from kpitrack.sources import load_folder
    from performance.services import (
        evidence_add,
        result_final_approve,
        result_first_approve,
        result_return,
        result_save_draft,
        result_submit,
    )

    if documents:
        load_folder(SEED)  # a transactional test may start from a flushed database
    alice = make_alice()
    flow = build_workflow(alice)

    def entered(indicator, figures, files):
        result = result_save_draft(
            indicator=indicator,
            quarter=flow.quarter,
            figures=figures,
            narrative={},
            expected_version=None,
            user=alice,
        )
        for name, content in files:
            evidence_add(
                result=result, upload=SimpleUploadedFile(name, content), user=alice, reason="佐證"
            )
        result = _again(result)
        return _again(result_submit(result=result, expected_version=result.version, user=alice))

    count = entered(flow.count, {"value": "120"}, [("核卡清冊.pdf", PDF), ("照片.png", PNG)])
    for approve, level in ((result_first_approve, "初核"), (result_final_approve, "複核")):
        count = _again(
            approve(result=count, expected_version=count.version, user=alice, reason=level)
        )
    ratio = entered(flow.ratio, {"num": "45", "den": "50"}, [("查獲統計.pdf", PDF + b"%ratio")])
    result_return(result=ratio, expected_version=ratio.version, user=alice, comment="附件不足")
    return flow


@dataclass
class Target:
    """A database and media folder for `manage.py` in another process."""

    database_url: str
    media_root: Path

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDIA_ROOT")}
        env.update(
            KPITRACK_ENV_FILE="",
            DEBUG="1",
            DATABASE_URL=self.database_url,
            MEDIA_ROOT=str(self.media_root),
        )
        return env

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return interpreters.run(["manage.py", *args], cwd=ROOT, env=self.env())

    def execute(self, statement: str) -> None:
        """One SQL statement on the target, from outside kpitrack (as another program might)."""
        if self.database_url.startswith("sqlite:///"):
            database = sqlite3.connect(self.database_url.removeprefix("sqlite:///"))
            try:
                database.execute(statement)
                database.commit()
            finally:
                database.close()
            return
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as database:
            database.execute(statement)

    def restore_each(self, runs: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
        """tests/commands/restore_each.py: each (archive, options) restored in one process."""
        done = interpreters.run(
            ["-m", "tests.commands.restore_each"], input=json.dumps(runs), cwd=ROOT, env=self.env()
        )
        assert done.returncode == 0, done.stderr
        return [tuple(outcome) for outcome in json.loads(done.stdout)]

    def snapshot(self, *, with_api: bool = False) -> dict:
        """tests/commands/snapshot.py of this target, read in another process."""
        args = ["-m", "tests.commands.snapshot"] + (["--api"] if with_api else [])
        done = interpreters.run(args, cwd=ROOT, env=self.env())
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def _postgres_admin(settings_dict: dict):
    import psycopg

    params = {
        "host": settings_dict.get("HOST"),
        "port": settings_dict.get("PORT"),
        "user": settings_dict.get("USER"),
        "password": settings_dict.get("PASSWORD"),
    }
    params = {k: str(v) for k, v in params.items() if v}
    return psycopg.connect(dbname="postgres", autocommit=True, **params)


@contextmanager
def fresh_target(tmp_path: Path):
    """An empty database of the engine under test and an empty media folder that does not exist
    yet. On PostgreSQL the database is `<test database>_restored`, dropped afterwards."""
    from django.db import connection
    from psycopg import sql

    media_root = tmp_path / "restored-media"
    if connection.vendor == "sqlite":
        yield Target(f"sqlite:///{tmp_path / 'restored.sqlite3'}", media_root)
        return
    settings_dict = connection.settings_dict
    name = f"{settings_dict['NAME']}_restored"
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with _postgres_admin(settings_dict) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD")
    login = f"{user}:{quote(password, safe='')}" if password else user
    host = f"{settings_dict.get('HOST') or '127.0.0.1'}:{settings_dict.get('PORT') or 5432}"
    try:
        yield Target(f"postgres://{login}@{host}/{quote(name)}", media_root)
    finally:
        with _postgres_admin(settings_dict) as admin:
            admin.execute(drop)
