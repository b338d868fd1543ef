"""How much kpitrack's Excel import costs against openpyxl merely reading the same file.

Run: .venv/bin/python bench/import.py [--figures 10000]   (or `make bench-import`)

It builds, in a throwaway SQLite database, one agency with one unit and enough indicators that
a quarter's workbook holds `--figures` figures (a third count indicators with one figure, two
thirds ratio indicators with a numerator and a denominator), downloads that unit's workbook
through kpitrack, fills every figure, and measures in the same process:
  floor  = openpyxl's read-only parse of the filled file (every cell's value, as a reader must);
  import = kpitrack's whole import as a person gets it: the preview (archive checks, parse,
           signature, validation, dry run of every row through results_save_drafts, rolled
           back) and the confirm (what the preview read, checked and written again, committed,
           with history), as the upload page does it.
It prints both, import/floor (goal: at most 3) in wall-clock and in CPU time (the CPU ratio
holds on a machine shared with other work), and the time per row.
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--figures", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="kpitrack-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    # As deployed: with DEBUG on, Django also keeps and formats every query it runs.
    os.environ["DEBUG"] = os.environ.get("BENCH_DEBUG", "0")
    os.environ["SECRET_KEY"] = "bench-" + "x" * 40
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ["KPITRACK_ENV_FILE"] = ""
    os.environ["DJANGO_SETTINGS_MODULE"] = "kpitrack.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from openpyxl import load_workbook

    from performance.models import Result, ResultFigure
    from performance.workbook import HEADER_ROW, KEY_COLUMN
    from performance.workbook_import import build_for

    user, agency, unit, year, quarter = _data(args.figures)
    data = build_for(user, agency=agency, unit=unit, year=year, quarter=quarter)
    data = _fill(data, load_workbook, HEADER_ROW, KEY_COLUMN)

    # Interleaved, so that a change in the machine's load between them touches both alike.
    floors, imports = [], []
    for _ in range(args.runs):
        floors.append(_floor(data, load_workbook))
        imports.append(_import(data, user))
        figures, rows = ResultFigure.objects.count(), Result.objects.count()
        assert figures == args.figures, figures
        _forget()
    floor, floor_cpu, cells = (statistics.median(m[n] for m in floors) for n in range(3))
    total, total_cpu, previewed = (statistics.median(m[n] for m in imports) for n in range(3))
    print(
        f"workbook          {len(data):,} bytes, {rows:,} rows, {figures:,} figures, "
        f"{cells:,} cells; medians of {args.runs} interleaved runs"
    )
    print(f"floor (openpyxl read-only parse)               {floor * 1000:9.1f} ms wall")
    print(f"import (preview + confirm)                     {total * 1000:9.1f} ms wall")
    print(f"  of which the preview                         {previewed * 1000:9.1f} ms wall")
    print(
        f"import/floor      {total / floor:.2f} wall, {total_cpu / floor_cpu:.2f} CPU   (goal: 3)"
    )
    print(f"per row           {total / rows * 1000:.2f} ms")


def _import(data: bytes, user):
    """The upload page's preview, then its confirm of what the preview read: wall, CPU and
    the preview's wall time."""
    from performance.workbook_import import import_parsed, import_workbook

    start, start_cpu = time.perf_counter(), time.process_time()
    preview = import_workbook(data, name="bench.xlsx", user=user, commit=False)
    previewed = time.perf_counter() - start
    assert preview.ok, preview.lines()[:5]
    done = import_parsed(
        preview.parsed,
        name="bench.xlsx",
        user=user,
        commit=True,
        planned=preview.plan(),
    )
    assert done.written
    return time.perf_counter() - start, time.process_time() - start_cpu, previewed


def _forget():
    """Back to the state before the import (outside the timing), so every run writes all."""
    from django.db import connection

    from performance.models import Result, ResultFigure

    tables = [
        ResultFigure.history.model,
        ResultFigure,
        Result.history.model,
        Result,
    ]
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def _floor(data: bytes, load_workbook):
    """openpyxl reading every cell's value of the file, read-only: median wall and CPU time of
    three reads, and the number of cells."""
    walls, cpus = [], []
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        book = load_workbook(io.BytesIO(data), read_only=True)
        cells = sum(1 for row in book.worksheets[0].iter_rows(values_only=True) for _ in row)
        book.close()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return statistics.median(walls), statistics.median(cpus), cells


def _data(figures: int):
    """An agency whose unit has count and ratio indicators holding `figures` figures, this
    quarter's entry window open, and an administrator."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from budget.models import Agency, Unit
    from performance.models import (
        Indicator,
        IndicatorInput,
        ReportingPeriod,
        StrategicGoal,
        TargetPart,
    )

    user = get_user_model().objects.create_superuser("bench", "bench@example.org", "x")
    agency = Agency.objects.create(code="bench", name="測試署")
    unit = Unit.objects.create(agency=agency, code="u1", name="第一組")
    today = timezone.localdate()
    year, quarter = today.year, 1
    ReportingPeriod.objects.create(
        agency=agency,
        year=year,
        quarter=quarter,
        opens_on=today - timedelta(days=1),
        closes_on=today + timedelta(days=30),
        first_review_due=today + timedelta(days=40),
        final_review_due=today + timedelta(days=50),
    )
    goal = StrategicGoal.objects.create(agency=agency, year=year, code="g", title="目標")
    # Three figures per pair of indicators: a count (1) and a ratio (2).
    pairs = figures // 3
    methods = ["count", "ratio"] * pairs + ["count"] * (figures - 3 * pairs)
    indicators = Indicator.objects.bulk_create(
        Indicator(
            goal=goal,
            code=f"i{n}",
            order=n,
            name=f"指標{n}",
            method=method,
            responsible_unit=unit,
        )
        for n, method in enumerate(methods)
    )
    inputs, parts = [], []
    for indicator in indicators:
        if indicator.method == "ratio":
            inputs += [
                IndicatorInput(indicator=indicator, key="num", label="查獲件數", unit="件"),
                IndicatorInput(
                    indicator=indicator, key="den", label="受理件數", unit="件", order=1
                ),
            ]
            parts.append(TargetPart(indicator=indicator, key="rate", label="比率", value=50))
        else:
            inputs.append(IndicatorInput(indicator=indicator, key="n", label="件數", unit="件"))
            parts.append(TargetPart(indicator=indicator, key="n", label="件數", value=100))
    IndicatorInput.objects.bulk_create(inputs)
    TargetPart.objects.bulk_create(parts)
    return user, agency, unit, year, quarter


def _fill(data: bytes, load_workbook, header_row: int, key_column: int) -> bytes:
    """Every figure typed in, none falling short (so no narrative is required)."""
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    headers = {cell.value: cell.column for cell in sheet[header_row]}
    count = headers["件數（件）"]
    num, den = headers["分子：查獲件數（件）"], headers["分母：受理件數（件）"]
    for row in range(header_row + 1, sheet.max_row + 1):
        if sheet.cell(row, key_column).value is None:
            continue
        if sheet.cell(row, count).protection.locked:
            sheet.cell(row, num, Decimal("80") + row % 7)
            sheet.cell(row, den, 100)
        else:
            sheet.cell(row, count, 150 + row % 11)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


if __name__ == "__main__":
    main()
