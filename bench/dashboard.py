"""Dashboard pages at two sizes: one agency against a generated ministry (issue 16).

Run: DEBUG=1 .venv/bin/python bench/dashboard.py [--agencies 50 --indicators 40 --years 10]
     [--database-url postgres://postgres@127.0.0.1:5432/scale_bench]

It builds a synthetic ministry with `generate_demo` (default 50 agencies x 40 indicators x 10
years) and one agency with a single year of the same indicators, in a throwaway database: SQLite
in a temporary folder, or, with `--database-url`, a PostgreSQL database of that name which it
creates (dropping one left by an earlier run) and drops at the end unless `--keep` (a loopback
server only). It
then requests each page and API answer through Django's test client (the whole server side:
middleware, views, queries, templates) and prints, per page, the SQL queries at both sizes (they
must be equal), the median server time at both sizes and their ratio, measured in the same run.
Goals: the ministry overview and the ministry's indicator table API within 3x one agency's; an
indicator's ten-year page within 3x its one-year page.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import build_ministry, ministry_options, postgresql  # noqa: E402

GOAL = 3.0


def main():
    parser = argparse.ArgumentParser()
    ministry_options(parser, agencies=50, indicators=40, years=10)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database-url", help="postgres://…/<name>: created, used, dropped")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    args = parser.parse_args()
    if not (1 <= args.agencies <= 500 and 1 <= args.indicators <= 200 and 1 <= args.years <= 20):
        sys.exit("--agencies 1-500, --indicators 1-200, --years 1-20")

    drop = None
    if args.database_url:
        create, drop = postgresql(args.database_url)
        create()
        os.environ["DATABASE_URL"] = args.database_url
    else:
        tmp = tempfile.mkdtemp(prefix="kpitrack-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    try:
        run(args)
    finally:
        if drop is not None and not args.keep:
            from django.db import connections

            connections.close_all()
            drop()


def run(args):
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "kpitrack.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    built = build_ministry(args)
    call_command("generate_demo", agencies=1, indicators=args.indicators, years=1, prefix="one")

    # A superuser sees every agency, as a ministry's viewer would.
    user = get_user_model().objects.create_superuser("bench", password="bench-password-1")
    client = Client()
    client.force_login(user)

    def measure(url):
        client.get(url)  # warm: templates compiled, translations loaded
        queries = []

        def count(execute, sql, params, many, context):
            queries.append(sql)
            return execute(sql, params, many, context)

        # A wrapper, not CaptureQueriesContext: the request's end closes the connection here
        # (no test transaction around it), which empties the captured list.
        with connection.execute_wrapper(count):
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            client.get(url)
            times.append(time.perf_counter() - start)
        return len(queries), statistics.median(times)

    size = f"{args.agencies}x{args.indicators}x{args.years}"
    # (page, small address, large address, goal)
    pages = [
        ("overview: agency vs ministry", "/dashboards/demo-01/", "/dashboards/demo/", GOAL),
        ("overview API", "/api/v1/dashboards/demo-01/", "/api/v1/dashboards/demo/", GOAL),
        (
            "indicator table",
            "/dashboards/demo-01/indicators/",
            "/dashboards/demo/indicators/",
            None,
        ),
        (
            "indicator table API",
            "/api/v1/dashboards/demo-01/indicators/",
            "/api/v1/dashboards/demo/indicators/",
            GOAL,
        ),
        (
            "indicator table API, red only",
            "/api/v1/dashboards/demo-01/indicators/?light=red&page_size=10",
            "/api/v1/dashboards/demo/indicators/?light=red&page_size=10",
            None,
        ),
        (
            "indicator table, sorted by rate",
            "/dashboards/demo-01/indicators/?sort=-rate",
            "/dashboards/demo/indicators/?sort=-rate",
            None,
        ),
        ("xlsx export", "/dashboards/demo-01/indicators/?export=xlsx", None, None),
        ("per unit", "/dashboards/one-01/units/u1/", "/dashboards/demo-01/units/u1/", None),
        (
            "indicator: 1 year vs 10-year trend",
            "/dashboards/one-01/indicators/k003/",
            "/dashboards/demo-01/indicators/k003/",
            GOAL,
        ),
        (
            "indicator API: 1 year vs trend",
            "/api/v1/dashboards/one-01/indicators/k003/",
            "/api/v1/dashboards/demo-01/indicators/k003/",
            None,
        ),
    ]
    load = os.getloadavg()[0]
    print(f"database: {connection.vendor}; load average {load:.1f} on {os.cpu_count()} cores")
    print(f"generated ministry {size} (agencies x indicators x years) in {built:.0f} s")
    print(f"median of {args.runs} requests each, after one warm-up\n")
    print(f"{'page':36} {'queries':>11} {'small ms':>9} {'large ms':>9} {'ratio':>6}  goal")
    missed = []
    for name, small, large, goal in pages:
        q_small, t_small = measure(small)
        if large is None:
            print(f"{name:36} {q_small:>11} {t_small * 1000:9.1f}")
            continue
        q_large, t_large = measure(large)
        queries = f"{q_small}/{q_large}" + ("" if q_small == q_large else " !")
        ratio = t_large / t_small
        verdict = ""
        if goal is not None:
            verdict = f"<= {goal:g} " + ("ok" if ratio <= goal else "MISSED")
            if ratio > goal or q_small != q_large:
                missed.append(name)
        print(
            f"{name:36} {queries:>11} {t_small * 1000:9.1f} {t_large * 1000:9.1f} "
            f"{ratio:6.2f}  {verdict}"
        )
    print("\nsmall: one agency of the ministry (demo-01), or one agency with one year (one-01);")
    print(f"large: the generated ministry ({args.agencies} agencies) or a {args.years}-year trend.")
    print("Goals: ratio within 3 where a goal is shown, and the same queries at both sizes.")
    print("Missed: " + (", ".join(missed) if missed else "none"))


if __name__ == "__main__":
    main()
