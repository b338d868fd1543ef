"""Dashboard pages at two sizes: the seeded agency against a generated ministry.

Run: DEBUG=1 .venv/bin/python bench/dashboard.py [--agencies 50 --indicators 40 --years 10]

In a throwaway SQLite database it loads the seeded agency (fixtures/nia, 11 KPIs a year), builds
a synthetic ministry with `generate_demo` (default 50 agencies x 40 indicators x 10 years) and
one agency with a single year of the same indicators, then requests each page and API answer
through Django's test client (the whole server side: middleware, views, queries, templates) and
prints, per page, the SQL queries at both sizes (they must be equal), the median server time at
both sizes and their ratio. Goals: the ministry overview within 3x the single agency's; an
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--agencies", type=int, default=50)
    parser.add_argument("--indicators", type=int, default=40)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="kpitrack-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "kpitrack.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from kpitrack.sources import load_folder

    setup_test_environment()
    call_command("migrate", verbosity=0)
    load_folder(ROOT / "fixtures" / "nia")
    started = time.perf_counter()
    call_command(
        "generate_demo",
        agencies=args.agencies,
        indicators=args.indicators,
        years=args.years,
        prefix="demo",
    )
    built = time.perf_counter() - started
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
    # (page, small address, large address)
    pages = [
        ("overview", "/dashboards/nia/", "/dashboards/demo/"),
        ("overview API", "/api/v1/dashboards/nia/", "/api/v1/dashboards/demo/"),
        ("indicator table", "/dashboards/nia/indicators/", "/dashboards/demo/indicators/"),
        (
            "indicator table API",
            "/api/v1/dashboards/nia/indicators/",
            "/api/v1/dashboards/demo/indicators/",
        ),
        ("xlsx export", "/dashboards/nia/indicators/?export=xlsx", None),
        ("per unit", "/dashboards/one-01/units/u1/", "/dashboards/demo-01/units/u1/"),
        (
            "indicator: 1 year vs 10-year trend",
            "/dashboards/one-01/indicators/k003/",
            "/dashboards/demo-01/indicators/k003/",
        ),
        (
            "indicator API: 1 year vs trend",
            "/api/v1/dashboards/one-01/indicators/k003/",
            "/api/v1/dashboards/demo-01/indicators/k003/",
        ),
    ]
    print(f"generated ministry {size} (agencies x indicators x years) in {built:.0f} s")
    print(f"median of {args.runs} requests each, after one warm-up\n")
    print(f"{'page':36} {'queries':>11} {'small ms':>9} {'large ms':>9} {'ratio':>6}")
    for name, small, large in pages:
        q_small, t_small = measure(small)
        if large is None:
            print(f"{name:36} {q_small:>11} {t_small * 1000:9.1f}")
            continue
        q_large, t_large = measure(large)
        queries = f"{q_small}/{q_large}" + ("" if q_small == q_large else " !")
        print(
            f"{name:36} {queries:>11} {t_small * 1000:9.1f} {t_large * 1000:9.1f} "
            f"{t_large / t_small:6.2f}"
        )
    print("\nsmall: the seeded agency (nia, 11 KPIs) or one agency with one year;")
    print(f"large: the generated ministry ({args.agencies} agencies) or a {args.years}-year trend.")
    print("Goals: overview ratio within 3; indicator 10-year/1-year ratio within 3.")


if __name__ == "__main__":
    main()
