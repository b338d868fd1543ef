"""Two processes saving to one SQLite file at the same moment both succeed: the second waits.

Each writer reads, then writes, inside one transaction, as the services do. With SQLite's default
deferred transactions both take a read lock first and neither can then upgrade to write: one
fails at once with "database is locked". The settings begin every transaction IMMEDIATE instead.
"""

import os
import sqlite3
import subprocess
import sys

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
    manage = [sys.executable, "manage.py"]
    migrate = subprocess.run(
        [*manage, "migrate", "auth", "-v", "0"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr

    writers = [
        subprocess.Popen(
            [*manage, "shell", "-c", WRITER.format(folder=tmp_path, name=name, other=other)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, other in (("ann", "ben"), ("ben", "ann"))
    ]
    outcomes = [(writer.communicate(timeout=120)[1], writer.returncode) for writer in writers]

    for stderr, returncode in outcomes:
        assert "database is locked" not in stderr
        assert returncode == 0, stderr
    with sqlite3.connect(database) as connection:
        names = sorted(row[0] for row in connection.execute("SELECT username FROM auth_user"))
    assert names == ["ann", "ben"]
