"""The indicator table as xlsx and CSV: one line per indicator and one per target part, numbers
as raw numbers, and text that a spreadsheet would read as a formula neutralised."""

import csv
import io
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from kpitrack.core.formatting import plain
from kpitrack.core.sheets import fit_rows, print_setup
from kpitrack.core.text import cleaned, neutral
from performance.models import Result
from performance.reasons import status_label

from .selectors import Row


def _neutral(text: str) -> str:
    # Without the characters XML cannot hold (text stored before they were refused), and a
    # leading ' where a spreadsheet would start a formula.
    return neutral(cleaned(text))


# Each column's width, in the order of headers(): text columns wide enough to read.
WIDTHS = [10, 20, 8, 8, 28, 16, 30, 24, 14, 12, 8, 12, 12, 10, 8, 10, 12, 12, 10, 10]
HEADER_FILL = PatternFill("solid", fgColor="E6E6E6")


def headers() -> list[str]:
    return [
        _("機關代碼"),
        _("機關"),
        _("年度"),
        _("截至季別"),
        _("策略目標"),
        _("指標代碼"),
        _("績效指標"),
        _("子項目"),
        _("主辦單位"),
        _("計算方式"),
        _("單位"),
        _("目標值"),
        _("實際值"),
        _("達成率（%）"),
        _("本季預定進度"),
        _("達成進度（%）"),
        _("燈號"),
        _("狀態"),
        _("全年預估值"),
        _("全年預估達成率（%）"),
        _("原發布數值"),
        _("與重算不符"),
    ]


def lines(rows: list[Row], year: int, quarter: int):
    """Each row's cells: Decimal for numbers, str for text, None for empty."""
    for row in rows:
        i, a, outcome = row.indicator, row.achievement, row.outcome
        single = a.parts[0] if len(a.parts) == 1 else None
        common = [
            i.goal.agency.code,
            i.goal.agency.name,
            year,
            quarter,
            i.goal.title,
            i.code,
            i.name,
        ]
        projection = row.projection
        judgement = row.judgement
        milestones = {p.key: p for p in judgement.parts}
        yield [
            *common,
            None,
            i.responsible_unit.name if i.responsible_unit else None,
            i.get_method_display(),
            single.unit if single else None,
            single.target if single else None,
            outcome.value,
            outcome.rate,
            milestones[single.key].milestone if single and single.key in milestones else None,
            judgement.progress,
            # The quarter's light: against its milestones through Q3, the target at Q4.
            status_label(judgement.status),
            Result.State(row.state).label if row.state else _("未填報"),
            projection.value if projection else None,
            projection.rate if projection else None,
            a.published_rate,
            None if a.mismatch is None else (_("是") if a.mismatch else _("否")),
        ]
        if single is not None:
            continue
        for part in a.parts:
            yield [
                *common,
                part.label,
                None,
                None,
                part.unit,
                part.target,
                part.value,
                part.rate,
                milestones[part.key].milestone if part.key in milestones else None,
                milestones[part.key].progress if part.key in milestones else None,
                None,
                None,
                None,
                None,
                part.published_rate,
                None if part.mismatch is None else (_("是") if part.mismatch else _("否")),
            ]


def _text(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, Decimal):
        return plain(cell)
    if isinstance(cell, int):
        return str(cell)
    return _neutral(str(cell))


def as_csv(rows: list[Row], year: int, quarter: int) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers())
    for line in lines(rows, year, quarter):
        writer.writerow([_text(cell) for cell in line])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(rows: list[Row], year: int, quarter: int) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("績效指標")
    sheet.append(headers())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for line in lines(rows, year, quarter):
        sheet.append([_cell(cell) for cell in line])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for n, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    sheet.freeze_panes = "A2"
    fit_rows(sheet)
    # Like the reports: the header on every page, and the indicator's code and name beside
    # the figures when the columns run over more than one page across.
    print_setup(sheet, title_rows="1:1", title_columns="F:G")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(cell):
    if isinstance(cell, Decimal):
        # openpyxl writes a Decimal through float; the plain text keeps every digit when a
        # figure has more than 15 significant ones, which a float cannot hold.
        return cell if len(plain(cell).replace("-", "").replace(".", "")) <= 15 else plain(cell)
    if cell is None or isinstance(cell, int):
        return cell
    return _neutral(str(cell))  # lazily translated labels too
