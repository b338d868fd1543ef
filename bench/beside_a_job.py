"""A request served beside a job's thread: how long my work takes while another thread of the
same process keeps the GIL busy (as an in-process job rendering a report does), at CPython's
default switch interval and at the one kpitrack/jobs/runners.py sets when a process runs jobs.

Run: KPITRACK_ENV_FILE= .venv/bin/python bench/beside_a_job.py [--runs 60]
     [--database-url postgres://postgres@127.0.0.1:5432/bench_requests]
on the database `bench/requests.py --keep` built (its plan file must be there). Prints the
median and p95 wall ms of the page alone, then beside a busy thread at each interval, and each
as a ratio to the page alone.
"""

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import in_process_settings  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/bench_requests"
    )
    args = parser.parse_args()
    name = args.database_url.rsplit("/", 1)[-1]
    plan_file = Path(tempfile.gettempdir()) / f"kpitrack-requests-{name}.json"
    if not plan_file.exists():
        sys.exit(f"no {plan_file}: build the database first, bench/requests.py --keep")
    in_process_settings(
        args.database_url, media_root=tempfile.mkdtemp(prefix="kpitrack-beside-"), name="beside"
    )
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bench.requests import QUARTER
    from kpitrack.jobs.runners import JOB_SWITCH_INTERVAL

    plan = json.loads(plan_file.read_text())
    client = Client()
    client.force_login(get_user_model().objects.get(username="load000"))
    path = f"/work/?year={plan['year']}&quarter={QUARTER}"

    def measure() -> tuple[float, float]:
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            if client.get(path, secure=True).status_code != 200:
                sys.exit(f"my work did not answer 200: {path}")
            times.append(time.perf_counter() - start)
        times.sort()
        return statistics.median(times) * 1000, times[int(len(times) * 0.95)] * 1000

    for _ in range(5):
        client.get(path, secure=True)
    default = sys.getswitchinterval()
    alone = measure()
    rows = [("alone", alone)]
    busy = threading.Event()

    def burn():  # pure Python, as most of a report's layout is
        n = 0
        while not busy.is_set():
            for i in range(1000):
                n += i * i

    thread = threading.Thread(target=burn, daemon=True)
    thread.start()
    try:
        for interval in (default, JOB_SWITCH_INTERVAL):
            sys.setswitchinterval(interval)
            rows.append((f"beside a busy thread, switch {interval * 1000:g} ms", measure()))
    finally:
        busy.set()
        sys.setswitchinterval(default)
    print(f"{'my work':<42} {'p50 ms':>8} {'p95 ms':>8} {'p50/alone':>10}")
    for label, (p50, p95) in rows:
        print(f"{label:<42} {p50:8.1f} {p95:8.1f} {p50 / alone[0]:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
