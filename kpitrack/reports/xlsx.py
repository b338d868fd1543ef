"""Each report's tables as an Excel workbook: one sheet per table, real numbers, frozen headers."""

from dataclasses import replace
from decimal import Decimal
from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from budget.models import HeadcountLine
from kpitrack.core.engine.calendar import to_roc
from kpitrack.core.formatting import decimals
from kpitrack.core.sheets import fit_rows, print_setup
from kpitrack.core.text import cleaned, keep_as_text
from performance.reasons import status_label

from .assembly import BUDGET
from .wording import achievement_lines, target_text, unavailable_reason

HEADER_FILL = PatternFill("solid", fgColor="E6E6E6")
PERCENT = "0.00%"
NUMBER = "number"  # chosen per cell by _number_format, from the figure's own decimals
PERCENT_AS_PRINTED = "percent as printed"  # a % format with the printed figure's decimals


def _percent(rate: Decimal | None):
    # Excel stores percentages as fractions; Decimal keeps the division exact before openpyxl
    # writes the cell.
    return None if rate is None else rate / 100


def _number_format(value) -> str:
    """Whole numbers with thousands separators; others with exactly their own decimals."""
    places = min(decimals(value), 4) if isinstance(value, Decimal) else 0
    return "#,##0." + "0" * places if places else "#,##0"


def _percent_format(fraction) -> str:
    """A published percentage shows as printed: 1.0055 as 100.55%, 1.61 as 161%."""
    if not isinstance(fraction, Decimal):
        return PERCENT
    places = min(max(decimals(fraction) - 2, 0), 4)
    return "0." + "0" * places + "%" if places else "0%"


def _header_text(text) -> str:
    # 「&」 starts a header code in Excel; a literal one is doubled.
    return _cell(text).replace("&", "&&")


def _page_header_footer(wb, report):
    """Each printed page names the agency, the document and its year, and says which page of how
    many it is, as the PDF's running header and footer do."""
    year = _("中華民國%(roc)s年度") % {"roc": report.roc_year}
    footer = _("第 %(page)s 頁 / 共 %(pages)s 頁") % {"page": "&P", "pages": "&N"}
    for ws in wb.worksheets:
        for header in (ws.oddHeader, ws.evenHeader, ws.firstHeader):
            header.left.text = _header_text(report.agency.name)
            header.center.text = _header_text(report.title)
            header.right.text = _header_text(year)
        for page_footer in (ws.oddFooter, ws.evenFooter, ws.firstFooter):
            page_footer.center.text = footer


def _cell(value):
    # Lazy translations and other text-like objects become plain strings for openpyxl, without
    # the characters XML cannot hold (text stored before they were refused).
    if value is None or isinstance(value, int | Decimal):
        return value
    return cleaned(str(value))


def _append(ws, values):
    ws.append([_cell(v) for v in values])
    for cell in ws[ws.max_row]:
        # A narrative such as 「=(A-B)/B」 or 「-5%」 must stay the text it is.
        keep_as_text(cell)


def _page_setup(ws, title_columns=None):
    """Prints like the report: A4 landscape, the header repeated, and a wide sheet over as many
    pages across as keep it readable, its naming columns repeated on each."""
    print_setup(ws, title_rows="1:1", title_columns=title_columns)
    ws.print_options.gridLines = True


def _sheet(wb, title, headers, rows, widths, formats=None, title_columns=None):
    ws = wb.create_sheet(title)
    _append(ws, headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        _append(ws, row)
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    for column, number_format in (formats or {}).items():
        for (cell,) in ws.iter_rows(min_row=2, min_col=column, max_col=column):
            if number_format == NUMBER:
                cell.number_format = _number_format(cell.value)
            elif number_format == PERCENT_AS_PRINTED:
                cell.number_format = _percent_format(cell.value)
            else:
                cell.number_format = number_format
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    fit_rows(ws)
    _page_setup(ws, title_columns)
    return ws


def _lines(text) -> str:
    return "\n".join(line for line in (text or "").splitlines() if line.strip())


# The achievement sheet's columns: header, width, number format (None: text). The light column
# is there only when the section prints lights, as in the report.
LIGHT_COLUMN = "light"


def _achievement_columns(section):
    columns = [
        (_("策略目標"), 22, None),
        (_("績效指標"), 22, None),
        (_("目標值"), 16, None),
        (_("衡量標準"), 36, None),
        (_("辦理情形"), 60, None),
        (_("原發布達成情形"), 30, None),
        # A percentage like 重算達成率 (the document's 100.55% is 1.0055), so the two compare.
        (_("原發布數值"), 10, PERCENT_AS_PRINTED),
        (_("重算說明"), 40, None),
        (_("重算實際值"), 12, NUMBER),
        (_("重算達成率"), 10, PERCENT),
        (_("報告所列達成度"), 34, None),
        (_("與原發布比對"), 10, None),
        (LIGHT_COLUMN, 8, None),
        (_("無法計算原因"), 24, None),
        (_("未達成原因"), 30, None),
        (_("改善措施"), 30, None),
        (_("效益"), 40, None),
        (_("其他說明"), 24, None),
    ]
    if not section.uses_lights:
        return [c for c in columns if c[0] != LIGHT_COLUMN]
    return [(_("燈號") if c[0] == LIGHT_COLUMN else c[0], *c[1:]) for c in columns]


def _achievement_rows(section):
    rows = []
    for group in section.groups:
        for row in group.rows:
            outcome = row.outcome
            result = row.result
            text = lambda name, result=result: getattr(result, name) if result else ""  # noqa: E731
            light = [status_label(row.light) if row.light else ""] if section.uses_lights else []
            rows.append(
                [
                    group.goal.title,
                    row.indicator.name,
                    target_text(row.indicator),
                    _lines(row.indicator.measurement_standard),
                    _lines(text("progress")),
                    text("published_text"),
                    _percent(row.published_rate),
                    row.note or "",
                    outcome.value,
                    _percent(outcome.rate),
                    "\n".join(achievement_lines(row)),
                    {True: _("不符"), False: _("相符"), None: ""}[row.mismatch],
                    *light,
                    unavailable_reason(row),
                    _lines(text("shortfall_reason")),
                    _lines(text("improvement")),
                    _lines(text("benefit")),
                    _lines(text("remarks")),
                ]
            )
    return rows


def _achievement_sheet(wb, title, section):
    columns = _achievement_columns(section)
    _sheet(
        wb,
        title,
        [header for header, _width, _format in columns],
        _achievement_rows(section),
        [width for _header, width, _format in columns],
        {n: fmt for n, (_header, _width, fmt) in enumerate(columns, start=1) if fmt},
        title_columns="A:B",  # goal and indicator
    )


def _parts_rows(section):
    rows = []
    for group in section.groups:
        for row in group.rows:
            for part in row.parts:
                rows.append(
                    [
                        row.indicator.code,
                        row.indicator.name,
                        part.label,
                        part.target,
                        part.unit,
                        part.value,
                        _percent(part.rate),
                        _percent(part.published_rate),
                    ]
                )
    return rows


def _parts_sheet(wb, title, section):
    _sheet(
        wb,
        title,
        [
            _("指標代碼"),
            _("績效指標"),
            _("目標項目"),
            _("目標值"),
            _("單位"),
            _("實際值"),
            _("達成率"),
            _("原發布達成率"),
        ],
        _parts_rows(section),
        [20, 28, 24, 14, 8, 14, 12, 12],
        {4: NUMBER, 6: NUMBER, 7: PERCENT, 8: PERCENT_AS_PRINTED},
    )


def _budget(wb, report):
    agency = report.agency
    _sheet(
        wb,
        _("法定職掌與施政重點"),
        [_("項目"), _("內容")],
        [
            [_("機關主要職掌"), _lines(agency.duties)],
            [_("內部分層業務"), _lines(f"{agency.organisation_intro}\n{agency.leadership}")],
            [_("施政目標與重點"), _lines(report.policy.intro if report.policy else "")],
        ],
        [20, 120],
    )
    _sheet(
        wb,
        _("內部單位"),
        [_("序號"), _("單位"), _("類別"), _("業務職掌")],
        [[n, u.name, u.get_kind_display(), u.duties] for n, u in enumerate(report.units, 1)],
        [8, 22, 8, 80],
    )
    headcount_rows = []
    for table in report.headcounts:
        for row in table.rows:
            headcount_rows.append(
                [table.programme, row.label, *row.values, row.total, table.explanation]
            )
    categories = [str(c.label) for c in HeadcountLine.Category]
    _sheet(
        wb,
        _("預算員額"),
        [_("業務計畫"), _("年度及類別"), *categories, _("合計"), _("增減說明")],
        headcount_rows,
        [14, 16] + [10] * (len(categories) + 1) + [60],
        {c: "#,##0" for c in range(3, len(categories) + 4)},
    )
    policy_rows = []
    for goal in report.policy_goals:
        items = list(goal.items.all())
        if not items:
            policy_rows.append([goal.order, goal.title, goal.body, None, ""])
        for item in items:
            policy_rows.append([goal.order, goal.title, goal.body, item.order, item.text])
    _sheet(
        wb,
        _("施政目標與重點"),
        [_("序號"), _("施政目標"), _("說明"), _("重點序號"), _("施政重點")],
        policy_rows,
        [8, 24, 40, 10, 60],
    )
    kpi_rows = []
    for group in report.kpis:
        for ind in group.rows:
            kpi_rows.append(
                [
                    group.goal.title,
                    ind.name,
                    ind.evaluation_system,
                    ind.evaluation_method,
                    ind.measurement_standard,
                    target_text(ind),
                ]
            )
    _sheet(
        wb,
        _("關鍵績效指標"),
        [
            _("關鍵策略目標"),
            _("關鍵績效指標"),
            _("評估體制"),
            _("評估方式"),
            _("衡量標準"),
            _("%(roc)s年度目標值") % {"roc": report.roc_year},
        ],
        kpi_rows,
        [28, 28, 10, 14, 50, 20],
    )
    targets = []
    for group in report.kpis:
        for ind in group.rows:
            for part in ind.parts.all():
                targets.append([ind.code, ind.name, part.label, part.value, part.unit, part.weight])
    _sheet(
        wb,
        _("目標值明細"),
        [_("指標代碼"), _("關鍵績效指標"), _("目標項目"), _("目標值"), _("單位"), _("權重")],
        targets,
        [20, 28, 24, 14, 8, 8],
        {4: NUMBER, 6: NUMBER},
    )
    for title, section in (
        (_("%(roc)s年度績效") % {"roc": to_roc(report.prior.year)}, report.prior),
        (
            _("%(roc)s年度%(period)s績效")
            % {"roc": to_roc(report.elapsed.year), "period": report.elapsed.period_label},
            report.elapsed,
        ),
    ):
        _achievement_sheet(wb, title, section)
        _parts_sheet(wb, title + _("（子項目）"), section)


def _performance(wb, report):
    if report.uses_lights:
        _sheet(
            wb,
            _("燈號統計"),
            [_("燈號"), _("指標數")],
            [[label, count] for _code, label, count in report.light_counts]
            + [[_("合計"), report.lit_count]],
            [12, 10],
            {2: "0"},
        )
    _achievement_sheet(wb, _("指標達成情形"), report.section)
    _parts_sheet(wb, _("目標項目明細"), report.section)


def _draft(wb, report):
    """A draft says so on every sheet, on screen (a banner above the header row) and on paper
    (the print header), and lists what keeps it from final on a sheet of its own, first."""
    ws = _sheet(
        wb,
        _("資料缺漏或未核定"),
        [_("序號"), _("項目")],
        [[n, item] for n, item in enumerate(report.incomplete, start=1)],
        [8, 100],
    )
    wb.move_sheet(ws, offset=-(len(wb.worksheets) - 1))
    for ws in wb.worksheets:
        ws.insert_rows(1)
        ws["A1"] = _cell(report.draft_mark)
        keep_as_text(ws["A1"])
        ws["A1"].font = Font(bold=True, size=12)
        ws["A1"].alignment = Alignment(vertical="center")
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ws.max_column)
        ws.freeze_panes = "A3"
        ws.print_title_rows = "1:2"
        fit_rows(ws, min_row=2)
        ws.oddHeader.center.text = _cell(report.draft_mark)
        ws.oddHeader.center.font = "-,Bold"


def report_workbook(report) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    if report.kind == BUDGET:
        _budget(wb, report)
    else:
        _performance(wb, report)
    return _finished(wb, report)


# --- the 季管考 report (issue 17) --------------------------------------------------------------


def _tally_sheet(wb, title, first, report, tallies):
    """A summary table: counts by light, behind, not approved, and the mean 達成進度."""
    headers = [
        first,
        _("指標數"),
        *(label for _code, label in report.light_headings),
        _("落後"),
        _("未核定"),
        _("平均達成進度"),
        _("可計算達成進度之指標數"),
    ]
    rows = [
        [t.label, t.count, *t.lights, t.behind, t.unapproved, _percent(t.average), t.averaged]
        for t in tallies
    ]
    lights = len(report.light_headings)
    counts = {column: "0" for column in range(2, 5 + lights)}
    _sheet(
        wb,
        title,
        headers,
        rows,
        [30, 8, *([8] * lights), 8, 8, 12, 12],
        {**counts, 5 + lights: PERCENT, 6 + lights: "0"},
    )


def _quarterly_rows(report):
    for section in report.sections:
        for row in section.rows:
            single = row.single
            behind = row.behind
            yield [
                section.agency.name,
                row.indicator.goal.title,
                row.unit_name,
                row.indicator.name,
                # One target part: its figures as numbers; several: the worded figures.
                single.milestone if single else row.milestone_text,
                (_("預設") if single.default else _("已設定")) if single else "",
                single.value if single else row.actual_text,
                _percent(row.progress),
                single.target if single else row.target_text,
                _percent(row.annual_rate),
                row.light_label,
                row.pace_label,
                row.state_label,
                _lines(row.shortfall_reason) if behind else "",
                _lines(row.improvement) if behind else "",
            ]


def _quarterly_sheet(wb, report):
    headers = [
        _("機關"),
        _("策略目標"),
        _("主辦單位"),
        _("衡量指標"),
        _("分季目標（第%(q)s季）") % {"q": report.quarter},
        _("分季目標來源"),
        _("實際值"),
        _("達成進度"),
        _("年度目標值"),
        _("年度達成率"),
        _("燈號"),
        _("進度"),
        _("狀態"),
        _("落後原因"),
        _("改善措施"),
    ]
    _sheet(
        wb,
        _("季管考"),
        headers,
        list(_quarterly_rows(report)),
        [14, 24, 12, 30, 14, 8, 12, 10, 12, 10, 8, 10, 10, 36, 36],
        {5: NUMBER, 7: NUMBER, 8: PERCENT, 9: NUMBER, 10: PERCENT},
        title_columns="D:D",
    )


def quarterly_workbook(report) -> bytes:
    """The 季管考 report: its indicator table, then the summaries (by agency for a ministry, by
    goal, by unit), with the same print setup and draft marking as the other reports."""
    wb = Workbook()
    wb.remove(wb.active)
    _quarterly_sheet(wb, report)
    if report.is_ministry:
        _tally_sheet(wb, _("各機關摘要"), _("機關"), report, [*report.by_agency, report.total])
    goals, units = [], []
    for section in report.sections:
        prefix = f"{section.agency.name}　" if report.is_ministry else ""
        goals += [replace(t, label=prefix + t.label) for t in section.by_goal]
        units += [replace(t, label=prefix + t.label) for t in section.by_unit]
    _tally_sheet(wb, _("依策略目標摘要"), _("策略目標"), report, goals)
    _tally_sheet(wb, _("依主辦單位摘要"), _("主辦單位"), report, units)
    return _finished(wb, report)


def _finished(wb: Workbook, report) -> bytes:
    """Every report workbook ends alike: its pages' header and footer, the draft mark while
    anything in it is unapproved, the document's properties, the file."""
    _page_header_footer(wb, report)
    if report.is_draft:
        _draft(wb, report)
    wb.properties.title = f"{report.agency.name} {report.title}"
    wb.properties.creator = report.agency.name
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
