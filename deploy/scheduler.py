"""The scheduler of the compose deployment (deploy/compose.yaml): runs kpitrack's periodic
commands at set times of day, each as its own `manage.py` process, as the systemd timers do on a
plain server (deploy/systemd/). Standard library only.

KPITRACK_SCHEDULE lists the jobs, `HH:MM command [arguments]` separated by `;`, times in
Taiwan's time zone (kpitrack's TIME_ZONE). The default:

    08:00 send_reminders; 03:30 clearsessions; 03:45 prune_exports;
    02:30 backup /data/backups --keep 14

A job whose time passed while the scheduler was stopped is not caught up: it runs at its next
time (the timers' Persistent=true does catch up). `--now` runs every job once, at once, and exits
with the first failure's status: a way to try the schedule by hand.
"""

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Taipei")
DEFAULT = (
    "08:00 send_reminders; 03:30 clearsessions; 03:45 prune_exports; "
    "02:30 backup /data/backups --keep 14"
)
PROJECT = Path(__file__).resolve().parent.parent
_JOB = re.compile(r"(?P<hour>[01]\d|2[0-3]):(?P<minute>[0-5]\d)\s+(?P<command>\S.*)")


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Job:
    hour: int
    minute: int
    command: tuple[str, ...]

    def next_run(self, now: datetime) -> datetime:
        """The first time at or after `now` (aware) that this job is due."""
        local = now.astimezone(ZONE)
        due = local.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        return due if due >= local else due + timedelta(days=1)

    def __str__(self):
        return f"{self.hour:02d}:{self.minute:02d} {shlex.join(self.command)}"


def parse(text: str) -> list[Job]:
    jobs = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        match = _JOB.fullmatch(part)
        if match is None:
            raise ScheduleError(
                f"KPITRACK_SCHEDULE: {part!r} is not 'HH:MM command [arguments]' (00:00-23:59)"
            )
        jobs.append(
            Job(int(match["hour"]), int(match["minute"]), tuple(shlex.split(match["command"])))
        )
    if not jobs:
        raise ScheduleError("KPITRACK_SCHEDULE is set but names no job")
    return jobs


def run(job: Job) -> int:
    print(f"scheduler: running {job}", flush=True)
    status = subprocess.run([sys.executable, "manage.py", *job.command], cwd=PROJECT).returncode
    print(f"scheduler: {job} exited {status}", flush=True)
    return status


def loop(jobs: list[Job]):
    upcoming = {job: job.next_run(datetime.now(ZONE)) for job in jobs}
    while True:
        job, due = min(upcoming.items(), key=lambda item: item[1])
        wait = (due - datetime.now(ZONE)).total_seconds()
        if wait > 0:
            # Short sleeps: a clock that is set or a host that slept does not shift a job by hours.
            time.sleep(min(wait, 60))
            continue
        run(job)
        upcoming[job] = job.next_run(due + timedelta(minutes=1))


def main(argv: list[str]) -> int:
    # In a container this is process 1, which ignores SIGTERM unless it says otherwise.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        jobs = parse(os.environ.get("KPITRACK_SCHEDULE", DEFAULT))
    except ScheduleError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)
        return 2
    if argv == ["--now"]:
        failures = [status for status in map(run, jobs) if status]
        return failures[0] if failures else 0
    if argv:
        print("usage: scheduler.py [--now]", file=sys.stderr)
        return 2
    for job in jobs:
        print(f"scheduler: {job} (next {job.next_run(datetime.now(ZONE)):%Y-%m-%d %H:%M %Z})")
    sys.stdout.flush()
    loop(jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
