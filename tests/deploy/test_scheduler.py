"""deploy/scheduler.py, the compose deployment's scheduler: its schedule, when each job is next
due, and a real run of manage.py through it."""

import importlib.util
import os
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "deploy" / "scheduler.py"
_spec = importlib.util.spec_from_file_location("deploy_scheduler", SCRIPT)
scheduler = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scheduler)

TAIPEI = ZoneInfo("Asia/Taipei")


def test_the_default_schedule_is_reminders_and_expired_sessions_daily_and_the_backup_nightly():
    jobs = scheduler.parse(scheduler.DEFAULT)
    assert [(j.hour, j.minute, j.command) for j in jobs] == [
        (8, 0, ("send_reminders",)),
        (3, 30, ("clearsessions",)),
        (3, 45, ("prune_exports",)),
        (2, 30, ("backup", "/data/backups", "--keep", "14")),
    ]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 12, 6, 7, 59, 59, tzinfo=TAIPEI), datetime(2026, 12, 6, 8, 0)),
        (datetime(2026, 12, 6, 8, 0, tzinfo=TAIPEI), datetime(2026, 12, 6, 8, 0)),
        (datetime(2026, 12, 6, 8, 0, 1, tzinfo=TAIPEI), datetime(2026, 12, 7, 8, 0)),
        # 23:30 UTC is 07:30 the next day in Taipei.
        (datetime(2026, 12, 31, 23, 30, tzinfo=ZoneInfo("UTC")), datetime(2027, 1, 1, 8, 0)),
    ],
)
def test_a_job_is_next_due_at_its_time_in_taipei(now, expected):
    job = scheduler.parse("08:00 send_reminders")[0]
    assert job.next_run(now) == expected.replace(tzinfo=TAIPEI)


@pytest.mark.parametrize("text", ["8:00 send_reminders", "24:00 backup", "08:60 x", "08:00", " ; "])
def test_a_bad_schedule_is_refused_naming_the_variable(text):
    with pytest.raises(scheduler.ScheduleError, match="KPITRACK_SCHEDULE"):
        scheduler.parse(text)


def _run(*args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    clean.update(KPITRACK_ENV_FILE="", DEBUG="1", **env)
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=clean, capture_output=True, text=True
    )


def test_now_runs_each_job_through_manage_py():
    result = _run("--now", KPITRACK_SCHEDULE="03:00 check; 04:00 check --tag models")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("System check identified no issues") == 2
    assert "scheduler: 04:00 check --tag models exited 0" in result.stdout


def test_a_failing_job_is_reported_by_its_status():
    result = _run("--now", KPITRACK_SCHEDULE="03:00 no_such_command")
    assert result.returncode == 1
    assert "Unknown command: 'no_such_command'" in result.stderr


def test_a_bad_schedule_stops_the_scheduler_at_start():
    result = _run(KPITRACK_SCHEDULE="every night backup")
    assert result.returncode == 2
    assert "KPITRACK_SCHEDULE" in result.stderr


def test_the_documented_schedule_is_the_default():
    """An operator copies the example or the settings table's default to change one time: a copy
    without prune_exports would silently stop removing old stored exports (issue 16)."""
    example = (ROOT / "deploy" / "kpitrack.env.example").read_text()
    (line,) = [line for line in example.splitlines() if "KPITRACK_SCHEDULE=" in line]
    assert line.split("=", 1)[1] == scheduler.DEFAULT
    table = (ROOT / "docs" / "deploying.md").read_text()
    (row,) = [row for row in table.splitlines() if row.startswith("| `KPITRACK_SCHEDULE` |")]
    assert f"| `{scheduler.DEFAULT}` |" in row
