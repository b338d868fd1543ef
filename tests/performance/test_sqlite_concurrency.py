"""Two processes saving to one SQLite file at the same moment both succeed: the second waits.

Each writer reads, then writes, inside one transaction, as the services do. With SQLite's default
deferred transactions both take a read lock first and neither can then upgrade to write: one
fails at once with "database is locked". The settings begin every transaction IMMEDIATE instead.
"""

import os
import sqlite3

from tests import interpreters
from tests.conftest import ROOT

# Both writers announce they are ready, wait for each other, then read, pause and write in one
# transaction, so their transactions overlap.
WRITER = """
import time
from pathlib import Path
from django.contrib.auth import get_user_model
from django.db import transaction
me, other = Path(r"{folder}") / "{name}.ready", Path(r"{folder}") / "{other}.ready"
me.touch()
while not other.exists():
    time.sleep(0.01)
User = get_user_model()
with transaction.atomic():
    User.objects.count()
    time.sleep(0.5)
    User.objects.create_user("{name}")
"""


def _env(database):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS")}
    env.update(KPITRACK_ENV_FILE="", DEBUG="1", DATABASE_URL=f"sqlite:///{database}")
    return env


def test_two_simultaneous_writers_on_sqlite_both_succeed(tmp_path):
    database = tmp_path / "kpitrack.sqlite3"
    env = _env(database)
    # Forked with Django's modules imported (tests/interpreters.py), each a process of its own.
    migrate = interpreters.run(["manage.py", "migrate", "auth", "-v", "0"], cwd=ROOT, env=env)
    assert migrate.returncode == 0, migrate.stderr

    writers = [
        interpreters.start(
            ["manage.py", "shell", "-c", WRITER.format(folder=tmp_path, name=name, other=other)],
            cwd=ROOT,
            env=env,
            log=tmp_path / f"{name}.log",
        )
        for name, other in (("ann", "ben"), ("ben", "ann"))
    ]
    returncodes = [writer.wait(timeout=120) for writer in writers]
    outcomes = [
        ((tmp_path / f"{name}.log").read_text(), returncode)
        for name, returncode in zip(("ann", "ben"), returncodes, strict=True)
    ]

    for output, returncode in outcomes:
        assert "database is locked" not in output
        assert returncode == 0, output
    with sqlite3.connect(database) as connection:
        names = sorted(row[0] for row in connection.execute("SELECT username FROM auth_user"))
    assert names == ["ann", "ben"]
