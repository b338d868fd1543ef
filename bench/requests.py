"""CPU time and queries per request, for each endpoint of bench/load.py's mix, in-process.

Run: KPITRACK_ENV_FILE= .venv/bin/python bench/requests.py [--runs 20] [--database-url …]
     [--keep] [--reuse] [--cold] [--profile ENDPOINT]

Wall-clock load runs on a shared machine move with whatever else runs; the CPU one request
costs the process that serves it, and the queries it sends, do not (much). This builds the data
bench/load.py builds (its `prepare`: `generate_demo` at the same default size, the same users,
entry exceptions and contested drafts) in a throwaway PostgreSQL database, then requests each
endpoint of the load mix through Django's test client as one of those users, signed in, with
DEBUG off: the median `time.process_time()` over `--runs` requests (after 3 to warm up), and the
queries of one request. `--profile NAME` prints cProfile's top functions for that endpoint.
`--keep` keeps the database; `--reuse` uses a kept one as it is (no rebuild). `--cold` empties
the cache before each request (outside the time measured): the dashboards' pages are then built,
as most visits of an indicator's page are under bench/load.py.

`--first` measures instead what a gunicorn worker's first requests cost (with `--profile NAME`,
the profile of that endpoint's first request; with `--queries NAME`, the SQL of its second and
the time each took): each endpoint in a new
process that starts as a worker does (kpitrack/gunicorn.conf.py's post_worker_init), signed in
with a session made beforehand, its first three requests' wall times and the median of the next
ten. Under bench/load.py every worker meets each endpoint for a first time, and an endpoint
asked for ten times a run (the report's start) has its p95 set by them.

Also the median wall time of a request in the process (the database's answers included),
the CPU other threads of the process spent while it was answered ("beside ms", a mean: a job's
thread rendering beside it), and, where the server runs on this machine, its own CPU per
request ("DB ms": the backend's /proc/<pid>/schedstat over the runs; a save's includes the
bench's read of the version before each save). Not measured: the network to a remote server.

The report PDF start (the load mix's pdf phase) starts a job each time: before each request,
outside the time measured, the pool's last job is waited for and every report job and file is
removed, so the report is not stored and no job joined. Its CPU is the process's, the job's
thread included while the request runs.
"""

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import in_process_settings, ministry_options, postgresql  # noqa: E402

QUARTER = 3
PDF_START = "report PDF (start)"


def endpoints(plan) -> list[tuple[str, str, str, dict]]:
    """(name, method, path, body) of each request in bench/load.py's mix."""
    agency, unit, code = plan["hot"][0]
    ministry, year = plan["ministry"], plan["year"]
    read = f"/api/v1/results/?year={year}&quarter={QUARTER}&agency={agency}&unit={unit}"
    return [
        ("sign-in page (anonymous)", "GET", "/accounts/login/", None),
        ("my work", "GET", f"/work/?year={year}&quarter={QUARTER}", None),
        ("ministry overview", "GET", f"/dashboards/{ministry}/", None),
        ("ministry indicator table", "GET", f"/dashboards/{ministry}/indicators/", None),
        ("indicator page", "GET", f"/dashboards/{agency}/indicators/{code}/", None),
        ("API results (read)", "GET", read, None),
        ("API save", "POST", "/api/v1/results/", {"agency": agency, "indicator": code}),
        ("job status", "GET", "/jobs/{job}/status/", None),
        (PDF_START, "GET", f"/reports/{agency}/performance/{year}/pdf/", None),
    ]


def _request(client, method, path, body, plan, cold=False):
    """(ready, send): what the request sends, and sending it. A save needs the result's current
    version and figure, read by `ready`, outside the time measured; with `cold`, `ready` empties
    the cache, so a cached page is built again (as most of the load bench's visits of an
    indicator's page are: 100 pages over 5 workers' own caches)."""
    from django.core.cache import cache

    from performance.models import Result

    agency, _unit, code = plan["hot"][0]

    def ready():
        if cold:
            cache.clear()
        if path.endswith("/pdf/"):
            _no_report_jobs()
        if method == "GET":
            return None
        result = Result.objects.get(
            indicator__goal__agency__code=agency,
            indicator__goal__year=plan["year"],
            indicator__code=code,
            quarter=QUARTER,
        )
        payload = dict(body, year=plan["year"], quarter=QUARTER, version=result.version)
        payload["figures"] = {"cases": str(int(result.figures.get(key="cases").value) + 1)}
        return json.dumps(payload)

    def send(data):
        if method == "GET":
            return client.get(path, secure=True)
        return client.post(path, data, content_type="application/json", secure=True)

    return ready, send


def _no_report_jobs():
    """Waits for the pool's jobs, then removes every report job and its file: the next request
    for a report starts a job of its own."""
    from kpitrack.jobs import files
    from kpitrack.jobs.models import Job
    from kpitrack.jobs.runners import drain_in_process_pool

    while drain_in_process_pool():
        pass
    for job in Job.objects.filter(kind="report"):
        if job.result:
            files.delete(job.result)
        job.delete()


def _server_cpu():
    """A callable answering the CPU seconds the database server's backend for this connection
    spent since this call, or None where the server is not a process of this machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/schedstat")

    def spent():
        return int(stat.read_text().split()[0]) / 1e9  # nanoseconds on the CPU

    if not stat.exists():
        return lambda: None
    before = spent()
    return lambda: spent() - before


def measure(args, plan):

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user = get_user_model().objects.get(username="load000")
    job = _bench_job()
    signed_in = Client()
    signed_in.force_login(user)
    anonymous = Client()
    rows = []
    for name, method, path, body in endpoints(plan):
        client = anonymous if "anonymous" in name else signed_in
        path = path.format(job=job)

        ready, send = _request(client, method, path, body, plan, args.cold)

        def one(ready=ready, send=send):
            return send(ready())

        expected = 302 if name == PDF_START else 200
        for _ in range(3):
            response = one()
            if response.status_code != expected:
                sys.exit(f"{name}: {response.status_code} for {method} {path}")
        times, walls, besides = [], [], []
        server = _server_cpu()
        for _ in range(args.runs):
            data = ready()
            start, wall, own = time.process_time(), time.perf_counter(), time.thread_time()
            send(data)
            times.append(time.process_time() - start)
            walls.append(time.perf_counter() - wall)
            besides.append(times[-1] - (time.thread_time() - own))
        server = server()
        data = ready()
        # Counted as the tests count them (tests/test_query_counts.py): BEGIN and COMMIT too.
        with CaptureQueriesContext(connection) as captured:
            send(data)
            queries = [q["sql"] for q in connection.queries[captured.initial_queries :]]
        rows.append(
            (
                name,
                statistics.median(times) * 1000,
                statistics.median(walls) * 1000,
                max(0.0, statistics.mean(besides) * 1000),
                None if server is None else server / args.runs * 1000,
                len(queries),
                len(one().content),
            )
        )
        if args.queries == name:
            for n, sql in enumerate(queries, 1):
                print(f"{n:3d} {sql[:200]}")
        if args.profile and args.profile == name:
            profiler = cProfile.Profile()
            for _ in range(args.runs):
                data = ready()  # not the request's: read before it, as the timing does
                profiler.enable()
                send(data)
                profiler.disable()
            stats = pstats.Stats(profiler).sort_stats(args.sort)
            stats.print_stats(45)
            if args.profile_out:
                stats.dump_stats(args.profile_out)
        if name == PDF_START:
            _no_report_jobs()  # no render left running when the database is dropped
    return rows


FIRST_RUNS = 3
HOT_RUNS = 10


def first_requests(args, plan) -> list[tuple[str, list[float], float]]:
    """(endpoint, [wall ms of a new worker's first FIRST_RUNS requests], hot median ms), each
    endpoint in a process of its own (first_child)."""
    import subprocess

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.test import Client

    signed_in = Client()
    signed_in.force_login(get_user_model().objects.get(username="load000"))
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    job = _bench_job()
    connections.close_all()
    rows = []
    for name, *_ in endpoints(plan):
        child = subprocess.run(
            [sys.executable, __file__, "--first-child", name, "--reuse"]
            + ["--database-url", args.database_url, "--profile", args.profile, "--sort", args.sort]
            + ["--queries", args.queries if args.queries == name else ""],
            env={**os.environ, "BENCH_SESSION": session, "BENCH_JOB": str(job)},
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode:
            sys.exit(f"{name}: the child failed\n{child.stderr[-2000:]}")
        if name in (args.profile, args.queries):
            print(child.stderr)
        firsts, hot = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append((name, firsts, hot))
    return rows


def first_child(args, plan) -> None:
    """One endpoint in this new process, started as a gunicorn worker starts: prints
    [[first requests' wall ms], hot median ms] as JSON."""
    import importlib.util

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    spec = importlib.util.spec_from_file_location(
        "gunicorn_conf", ROOT / "kpitrack" / "gunicorn.conf.py"
    )
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    client = Client()
    client.handler.load_middleware()  # as a worker's WSGI application has, before the hook
    conf.post_worker_init(None)
    name = args.first_child
    _name, method, path, body = next(e for e in endpoints(plan) if e[0] == name)
    if "anonymous" not in name:
        client.cookies[settings.SESSION_COOKIE_NAME] = os.environ["BENCH_SESSION"]
    ready, send = _request(client, method, path.format(job=os.environ["BENCH_JOB"]), body, plan)
    walls = []
    for run in range(FIRST_RUNS + HOT_RUNS):
        data = ready()
        profiler = cProfile.Profile() if run == 0 and args.profile == name else None
        captured = CaptureQueriesContext(connection) if run == 1 and args.queries else None
        wall = time.perf_counter()
        if profiler:
            profiler.enable()
        if captured is not None:
            with captured:
                response = send(data)
        else:
            response = send(data)
        if profiler:
            profiler.disable()
        walls.append((time.perf_counter() - wall) * 1000)
        for query in captured if captured is not None else []:
            print(f"{float(query['time']) * 1000:7.2f} ms {query['sql'][:150]}", file=sys.stderr)
        if profiler:
            pstats.Stats(profiler, stream=sys.stderr).sort_stats(args.sort).print_stats(60)
        if response.status_code != (302 if name == PDF_START else 200):
            sys.exit(f"{name}: {response.status_code} for {method} {path}")
    ready()  # the last report's job done before the process ends
    print(json.dumps([walls[:FIRST_RUNS], statistics.median(walls[FIRST_RUNS:])]))


def _bench_job() -> int:
    """A running job of load000's, as a PDF the load bench polls (never run here; its heartbeat
    is fresh, so the stale-job sweep leaves it be)."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from kpitrack.jobs.models import Job

    return Job.objects.create(
        kind="report-pdf",
        user=get_user_model().objects.get(username="load000"),
        params={},
        title="bench",
        state=Job.State.RUNNING,
        total=1,
        heartbeat_at=timezone.now() + timedelta(days=1),
    ).pk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    ministry_options(parser, agencies=5, indicators=20, years=3)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--hot", type=int, default=6)
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/bench_requests",
        help="postgres://…/<name> on a loopback server: created, used, dropped",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", action="store_true", help="use a kept database as it is")
    parser.add_argument("--profile", default="", help="an endpoint's name: print its profile")
    parser.add_argument("--queries", default="", help="an endpoint's name: print its SQL")
    parser.add_argument(
        "--cold", action="store_true", help="empty the cache before each request (not timed)"
    )
    parser.add_argument("--sort", default="cumulative", help="the profile's order (pstats)")
    parser.add_argument("--profile-out", default="", help="also write the profile to this file")
    parser.add_argument(
        "--first", action="store_true", help="a new worker's first requests, per endpoint"
    )
    parser.add_argument("--first-child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_child:
        args.reuse = True
    create, drop = postgresql(args.database_url)
    tmp = tempfile.mkdtemp(prefix="kpitrack-requests-")
    if not args.first_child:  # a child keeps its parent's settings: its secret key signs sessions
        in_process_settings(args.database_url, media_root=tmp, name="requests")
    try:
        if not args.reuse:
            create()
        import django

        django.setup()
        from bench.load import prepare

        name = args.database_url.rsplit("/", 1)[-1]
        plan_file = Path(tempfile.gettempdir()) / f"kpitrack-requests-{name}.json"
        if args.reuse:
            plan = json.loads(plan_file.read_text())
        else:
            plan = prepare(SimpleNamespace(**vars(args)))
            if args.keep:  # what --reuse needs to know of the kept database
                plan_file.write_text(json.dumps(plan))
        import logging

        logging.disable(logging.WARNING)
        if args.first_child:
            first_child(args, plan)
            return 0
        if args.first:
            print(f"{'endpoint':<28} {'1st ms':>8} {'2nd ms':>8} {'3rd ms':>8} {'hot ms':>8}")
            for name, firsts, hot in first_requests(args, plan):
                print(f"{name:<28} " + " ".join(f"{ms:8.1f}" for ms in [*firsts, hot]))
            return 0
        rows = measure(args, plan)
        print(
            f"{'endpoint':<28} {'CPU ms':>8} {'wall ms':>8} {'beside ms':>9} {'DB ms':>8} "
            f"{'queries':>8} {'bytes':>8}"
        )
        for name, ms, wall, beside, db, queries, size in rows:
            db_ms = "-" if db is None else f"{db:.2f}"
            print(
                f"{name:<28} {ms:8.1f} {wall:8.1f} {beside:9.1f} {db_ms:>8} {queries:8d} {size:8d}"
            )
        return 0
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep and not args.reuse:
            drop()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
