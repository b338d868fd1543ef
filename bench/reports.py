"""How much kpitrack's assembly adds to WeasyPrint's own time for the FY2013 budget explanation.

Run: make bench   (or DEBUG=1 .venv/bin/python bench/reports.py [--runs N])

It loads the seeded data into a throwaway SQLite database, then measures, in the same process
and the same run, interleaved:
  auto   = WeasyPrint alone on the same print HTML with `table-layout: auto` forced on every
           table (what the report cost before its tables had set column widths);
  floor  = WeasyPrint alone turning the already-rendered print HTML into PDF;
  export = kpitrack's whole export (queries + engine + templates + WeasyPrint + the （續） pass),
           as a user gets it.
It prints the medians, export/auto (goal: at most 0.7), export/floor, pages, bytes, time per page.

`--ministry` (issue 16) measures instead, on a ministry made by `generate_demo` (default 4
agencies x 20 indicators x 2 years) in a throwaway database (SQLite in a temporary folder, or the
PostgreSQL database `--database-url` names, created and dropped):
  parallel/serial = the ministry's performance reports for the last year, one PDF per agency in
           one zip, rendered by `--jobs N` processes (default: the machine's cores) against one
           process: the same function as `render_report --all-agencies --jobs N`. Runs
           alternate; medians. Goal: at most 1/N + 10 %.
  stored/floor = the second request for an agency's report PDF, served from storage without
           rendering (the first one rendered it as a job), against the anonymous sign-in page,
           both through Django's test client (the whole server side: middleware, view, file
           read). Goal: at most 10, the load bench's goal for any page.
Run: make bench-ministry   (or DEBUG=1 .venv/bin/python bench/reports.py --ministry [--jobs N])
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

# Undoes the report's fixed table layouts: every table measured from its content, as before.
AUTO_LAYOUT = "<style>table { table-layout: auto !important; }</style>"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, help="default 7; with --ministry 3")
    parser.add_argument("--year", type=int, default=2013)
    parser.add_argument("--ministry", action="store_true", help="parallel bundle, stored export")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ministry_options(parser, agencies=4, indicators=20, years=2)
    parser.add_argument("--database-url", help="--ministry: postgres://…/<name>, made and dropped")
    args = parser.parse_args()
    if args.ministry:
        args.runs = args.runs or 3
        return ministry(args)
    args.runs = args.runs or 7

    tmp = tempfile.mkdtemp(prefix="kpitrack-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "kpitrack.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from bench.pages import count_pages

    call_command("migrate", verbosity=0)
    from weasyprint import HTML

    from budget.models import Agency
    from kpitrack.reports.assembly import budget_report
    from kpitrack.reports.pdf import font_config, html_to_pdf
    from kpitrack.reports.render import pdf_bytes, print_html
    from kpitrack.sources import load_folder

    load_folder(ROOT / "fixtures" / "nia")
    agency = Agency.objects.get(code="nia")

    html = print_html(budget_report(agency, args.year, 2))
    html_to_pdf(html)  # warm the font cache, as a running server has it warm
    auto_html = html.replace("</head>", AUTO_LAYOUT + "</head>", 1)
    assert auto_html != html

    auto, floor, export, assembly = [], [], [], []
    pdf = b""
    for _ in range(args.runs):
        start = time.perf_counter()
        HTML(string=auto_html).write_pdf(font_config=font_config(), pdf_tags=True)
        auto.append(time.perf_counter() - start)

        start = time.perf_counter()
        html_to_pdf(html)
        floor.append(time.perf_counter() - start)

        start = time.perf_counter()
        report = budget_report(agency, args.year, 2)
        rendered = print_html(report)
        assembly.append(time.perf_counter() - start)
        pdf = html_to_pdf(rendered)
        export.append(time.perf_counter() - start)

    # Also time the public entry point once, to be sure it is the same path.
    start = time.perf_counter()
    pdf_bytes(budget_report(agency, args.year, 2))
    entry = time.perf_counter() - start

    pages = count_pages(pdf)
    u, f, e, a = (statistics.median(x) for x in (auto, floor, export, assembly))
    print(f"report            budget explanation FY{args.year}, {args.runs} runs")
    print(f"pages             {pages}")
    print(f"bytes             {len(pdf):,}")
    print(f"auto (WeasyPrint alone, table-layout: auto forced, median) {u * 1000:8.1f} ms")
    print(f"export/auto       {e / u:.2f}   (goal: at most 0.70)")
    print(f"floor (WeasyPrint alone, median)   {f * 1000:8.1f} ms")
    print(f"export (kpitrack whole, median)    {e * 1000:8.1f} ms")
    print(f"  of which queries+engine+templates {a * 1000:7.1f} ms")
    print(f"overhead          {(e / f - 1) * 100:+.1f}%   (export/floor - 1; goal: under +10%)")
    print(f"assembly share    {a / f * 100:.1f}%   (assembly/floor: the part that is ours)")
    print(f"per page          {e / pages * 1000:.1f} ms   (goal: well under 500 ms)")
    print(f"entry point once  {entry * 1000:.1f} ms")


def ministry(args):
    if not (2 <= args.jobs <= 64 and 1 <= args.agencies <= 100 and 1 <= args.runs <= 50):
        sys.exit("--jobs 2-64, --agencies 1-100, --runs 1-50")
    tmp = tempfile.mkdtemp(prefix="kpitrack-bench-")
    drop = None
    if args.database_url:
        create, drop = postgresql(args.database_url)
        create()
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ["MEDIA_ROOT"] = f"{tmp}/media"
    os.environ.setdefault("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "kpitrack.settings"
    import django

    django.setup()
    try:
        _ministry(args)
    finally:
        from django.db import connections

        connections.close_all()
        if drop is not None:
            drop()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def _ministry(args):
    import zipfile
    from io import BytesIO

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from budget.models import Agency
    from kpitrack.jobs.execution import job_execute
    from kpitrack.jobs.models import Job
    from kpitrack.management.commands.render_report import _bundle
    from kpitrack.reports.pdf import html_to_pdf
    from performance.models import StrategicGoal

    setup_test_environment()  # the test client's answers carry their templates; no mail out
    import logging

    # WeasyPrint's notes on the screen-only CSS and each sign-in's security line would bury
    # the numbers.
    logging.disable(logging.WARNING)
    build_ministry(args)
    root = Agency.objects.get(code="demo")
    year = max(StrategicGoal.objects.values_list("year", flat=True))
    # The font configuration, as a running server has it.
    html_to_pdf('<html lang="zh-Hant"><p>暖</p></html>')

    serial, parallel, size = [], [], 0
    for _ in range(args.runs):
        start = time.perf_counter()
        data = _bundle("performance", year, None, root, 1)
        serial.append(time.perf_counter() - start)
        start = time.perf_counter()
        data = _bundle("performance", year, None, root, args.jobs)
        parallel.append(time.perf_counter() - start)
        size = len(data)
    pdfs = len([n for n in zipfile.ZipFile(BytesIO(data)).namelist() if n.endswith(".pdf")])
    s, p = statistics.median(serial), statistics.median(parallel)
    goal = 1 / args.jobs + 0.10

    # A stored export: the first request renders it as a job, the second is served from storage.
    user = get_user_model().objects.create_superuser("bench", password="bench-password-1")
    client, anonymous = Client(), Client()
    client.force_login(user)
    url = f"/reports/demo-01/performance/{year}/pdf/"
    first = client.get(url)
    assert first.status_code == 302, first.status_code
    job = Job.objects.get(pk=int(first["Location"].strip("/").split("/")[-1]))
    deadline = time.monotonic() + 300
    while Job.objects.get(pk=job.pk).state in Job.ACTIVE and time.monotonic() < deadline:
        time.sleep(0.2)  # the in-process pool runs it; below, at worst, this thread does
    if Job.objects.get(pk=job.pk).state in Job.ACTIVE:
        job_execute(job.pk)

    def timed(c, address, status):
        start = time.perf_counter()
        response = c.get(address)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        elapsed = time.perf_counter() - start
        assert response.status_code == status, (address, response.status_code)
        return elapsed, body

    _t, pdf = timed(client, url, 200)  # warm
    assert pdf.startswith(b"%PDF-")
    timed(anonymous, "/accounts/login/", 200)
    stored, floor = [], []
    for _ in range(max(15, args.runs)):
        stored.append(timed(client, url, 200)[0])
        floor.append(timed(anonymous, "/accounts/login/", 200)[0])
    st, fl = statistics.median(stored), statistics.median(floor)

    load = os.getloadavg()[0]
    print(f"database: {connection.vendor}; load average {load:.1f} on {os.cpu_count()} cores")
    print(
        f"ministry {args.agencies} agencies x {args.indicators} indicators x {args.years} years; "
        f"performance reports {year}: {pdfs} PDFs, zip {size:,} bytes; medians of {args.runs} "
        "alternating runs"
    )
    print(f"serial (1 process)            {s * 1000:9.1f} ms")
    print(f"parallel ({args.jobs} processes)       {p * 1000:9.1f} ms")
    verdict = "ok" if p / s <= goal else "MISSED"
    if load >= os.cpu_count():
        verdict += " (the load average was at least the cores: no idle core to render on)"
    print(
        f"parallel/serial   {p / s:.2f}   (goal: at most 1/{args.jobs} + 10% = {goal:.2f}) "
        + verdict
    )
    print(f"stored export, second request {st * 1000:9.2f} ms  ({len(pdf):,} bytes, median)")
    print(f"floor (anonymous sign-in page){fl * 1000:9.2f} ms  (median)")
    verdict = "ok" if st / fl <= 10 else "MISSED"
    print(f"stored/floor      {st / fl:.2f}   (goal: at most 10) {verdict}")


if __name__ == "__main__":
    main()
