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


# Undoes the report's fixed table layouts: every table measured from its content, as before.
AUTO_LAYOUT = "<style>table { table-layout: auto !important; }</style>"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--year", type=int, default=2013)
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
