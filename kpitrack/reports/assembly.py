"""Everything a report prints, gathered once in a fixed number of queries; the HTML, PDF and
Excel outputs all render from these objects, so the three never disagree."""

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from budget.models import AchievementPolicy, AnnualPolicy, HeadcountLine, PolicyGoal, Unit
from budget.selectors import (
    achievement_policy_rows,
    annual_policy,
    budget_years,
    has_budget_data,
    headcount_budgets,
    units_of,
)
from kpitrack.core.engine.achievement import HUNDRED, Policy, Status, status_for
from kpitrack.core.engine.calendar import to_roc
from kpitrack.core.formatting import chinese_number
from performance.models import Result, StrategicGoal
from performance.reasons import status_label
from performance.selectors import (
    Achievement,
    achievements_for_year,
    goal_years,
    has_goals,
    indicators_of_year,
    unapproved_results,
)

from .orgchart import org_chart_svg
from .wording import (
    NUMBERED,
    achievement_lines,
    hang_width,
    is_short,
    recompute_note,
    split_number,
    target_text,
)

BUDGET = "budget"
PERFORMANCE = "performance"
KINDS = (BUDGET, PERFORMANCE)


class ReportNotFound(Exception):
    """The agency has no data at all for the requested report year."""


@dataclass(frozen=True)
class HeadcountRow:
    label: str
    values: list[int]
    total: int


@dataclass(frozen=True)
class HeadcountTable:
    programme: str
    explanation: str
    categories: list[str]
    rows: list[HeadcountRow]


@dataclass(frozen=True)
class Heading:
    """One numbered part of a 績效衡量暨達成情形分析 cell: 「一、衡量標準：…」, 「(二)達成度：…」.

    `label` is printed as the document words it ("" when the text carries its own label, as a
    transcribed 「小結：…」 does); `own_line` starts numbered text on the line below the label, as
    the documents do; `missing` marks an empty part of an entered result (a placeholder).
    """

    label: str
    lines: list[str]
    items: list["Heading"] = field(default_factory=list)
    missing: bool = False
    note: str | None = None  # kpitrack's recomputation, printed right after this part's text
    tail: list[str] = field(default_factory=list)  # lines printed after the text, before `note`

    @property
    def own_line(self) -> bool:
        return len(self.lines) > 1 and bool(NUMBERED.match(self.lines[0]))

    @property
    def empty(self) -> bool:
        return not self.lines and not self.items


@dataclass(frozen=True)
class CellLine:
    """One printed line of a 績效衡量暨達成情形分析 cell, with its hanging indent.

    A numbered line (一、 (一) 1. (1)) hangs its number by `hang` em, so its wrapped lines start
    where its text does; an unnumbered line starts `indent` em in, under the text above it.
    """

    number: str
    text: str
    label: str = ""
    hang: Decimal = Decimal(0)
    indent: Decimal = Decimal(0)
    heading: bool = False  # the part's own number and label, printed bold
    opens_part: bool = False  # the first line of a top-level part (一、 二、), a little apart
    missing: bool = False
    note: bool = False


_CHINESE_NUMBER = re.compile(r"[(（][一二三四五六七八九十]+[)）]")


def _cell_lines(analysis: list[Heading], closing_note: str | None) -> list[CellLine]:
    lines: list[CellLine] = []

    def part(number, heading, top):
        hang = indent = hang_width(number)
        inline = heading.lines[:1] if heading.lines and not heading.own_line else []
        text = "".join(inline)
        missing = heading.missing
        lines.append(CellLine(number, text, heading.label, hang, hang, True, top, missing))
        outer = hang  # where the text of the latest (一)-level line starts
        for line in heading.lines[len(inline) :]:
            own, text = split_number(line)
            if own:
                # (一) lines stand flush with the part, as the documents' paragraphs do; 1. and
                # (1) items sit under the text of the line they belong to, as their lists do.
                left = Decimal(0) if _CHINESE_NUMBER.match(own) else outer
                width = hang_width(own)
                indent = left + width
                if not left:
                    outer = indent
                lines.append(CellLine(own, text, hang=width, indent=indent))
            else:
                lines.append(CellLine("", line, indent=indent))
        for line in heading.tail:
            lines.append(CellLine("", line, indent=indent))
        if heading.note:
            lines.append(CellLine("", heading.note, indent=indent, note=True))

    for n, heading in enumerate(analysis, start=1):
        part(f"{chinese_number(n)}、", heading, True)
        for m, item in enumerate(heading.items, start=1):
            part(f"({chinese_number(m)})", item, False)
    if closing_note:
        lines.append(CellLine("", closing_note, note=True))
    return lines


@dataclass(frozen=True)
class ReportRow:
    """An indicator's Achievement as a report prints it; reads through to the Achievement."""

    achievement: Achievement
    analysis: list[Heading]
    note: str | None  # kpitrack's recomputation beside a reprinted line
    light: Status | None  # None: no light printed for this row
    number: int = 0  # its place in the section, counted over every goal (一、二、… in print)
    draft: str | None = None  # 「（草稿，尚未核定）」 when its figures are not approved yet

    def __getattr__(self, name):
        return getattr(self.achievement, name)

    @property
    def line(self) -> list[str]:
        return achievement_lines(self.achievement)

    @property
    def transcribed(self) -> bool:
        return self.result is not None and self.result.is_transcribed

    @property
    def note_unplaced(self) -> bool:
        """The note has no printed line to stand beside, so it closes the cell instead."""
        parts = [p for heading in self.analysis for p in (heading, *heading.items)]
        return self.note is not None and not any(p.note for p in parts)

    @property
    def cell(self) -> list[CellLine]:
        lines = _cell_lines(self.analysis, self.note if self.note_unplaced else None)
        if self.draft:
            lines.append(CellLine("", self.draft, note=True))
        return lines


@dataclass(frozen=True)
class GoalGroup:
    goal: StrategicGoal
    rows: list  # Achievement or Indicator


class _RocYear:
    """Anything with a Gregorian `year` also shows its ROC year."""

    @property
    def roc_year(self) -> int:
        return to_roc(self.year)


class _DraftMark:
    """A report with anything missing or unapproved says so on every page; a final one doesn't.

    `incomplete` lists what is missing or unapproved; `draft_mark` is the text every page
    carries (None for a complete, approved report).
    """

    @property
    def is_draft(self) -> bool:
        return bool(self.incomplete)

    @property
    def draft_mark(self) -> str | None:
        return _("草稿：資料未完備或未核定，非正式版本") if self.is_draft else None


class _Titles(_RocYear):
    """`document` names the kind of report without its year (the cover prints the year once,
    on its own line above it); `dated_title` is both in one line, the PDF's title."""

    @property
    def dated_title(self) -> str:
        return _("中華民國%(roc)s年度%(document)s") % {
            "roc": self.roc_year,
            "document": self.document,
        }


@dataclass
class Section(_RocYear):
    year: int
    through_quarter: int
    groups: list[GoalGroup]
    uses_lights: bool = True
    pending: list[str] = field(default_factory=list)  # what keeps this section from final

    @property
    def rows(self) -> list[ReportRow]:
        return [row for group in self.groups for row in group.rows]

    @property
    def period_label(self) -> str:
        if self.through_quarter == 4:
            return _("全年度")
        return _("1-%(month)s月") % {"month": self.through_quarter * 3}


@dataclass
class BudgetReport(_Titles, _DraftMark):
    agency: object
    year: int
    through_quarter: int
    units: list[Unit]
    org_chart: str
    headcounts: list[HeadcountTable]
    policy: AnnualPolicy | None
    policy_goals: list[PolicyGoal]
    kpis: list[GoalGroup]
    prior: Section
    elapsed: Section
    missing: list[str] = field(default_factory=list)
    kind: str = BUDGET

    @property
    def incomplete(self) -> list[str]:
        return self.missing + self.prior.pending + self.elapsed.pending

    @property
    def title(self):
        return _("預算總說明")

    @property
    def document(self):
        return self.title

    @property
    def toc(self) -> list[tuple[str, str, int]]:
        name, roc = self.agency.name, self.roc_year
        return [
            ("sec-duties", _("一、現行法定職掌"), 1),
            ("sec-duties-agency", _("(一)機關主要職掌"), 2),
            ("sec-duties-units", _("(二)內部分層業務"), 2),
            ("sec-duties-chart", _("(三)組織系統圖及預算員額說明表"), 2),
            (
                "sec-policy",
                _("二、%(a)s%(roc)s年度施政目標與重點") % {"a": name, "roc": roc},
                1,
            ),
            ("sec-policy-goals", _("(一)年度施政目標"), 2),
            ("sec-policy-kpi", _("(二)年度關鍵績效指標"), 2),
            ("sec-results", _("三、%(a)s以前年度實施狀況及成果概述") % {"a": name}, 1),
            (
                "sec-results-prior",
                _("(一)前(%(roc)s)年度施政績效及達成情形分析") % {"roc": self.prior.roc_year},
                2,
            ),
            (
                "sec-results-elapsed",
                _("(二)上(%(roc)s)年度已過期間施政績效及達成情形") % {"roc": self.elapsed.roc_year},
                2,
            ),
        ]


@dataclass
class PerformanceReport(_Titles, _DraftMark):
    agency: object
    year: int
    section: Section
    lights: AchievementPolicy  # the thresholds in force that year
    missing: list[str] = field(default_factory=list)
    kind: str = PERFORMANCE

    @property
    def incomplete(self) -> list[str]:
        return self.missing + self.section.pending

    @property
    def uses_lights(self) -> bool:
        return self.section.uses_lights

    @property
    def recast_from(self) -> list[str]:
        """The documents other than a performance report that its reprinted figures come from
        (FY2011's, from the FY2013 budget explanation): the report is rebuilt, not a reprint."""
        sources = {
            row.result.source
            for row in self.section.rows
            if row.transcribed and not _printed_in_a_performance_report(row.result)
        }
        return sorted(sources)

    @property
    def recast_note(self) -> str | None:
        sources = self.recast_from
        if not sources:
            return None
        return _("本報告未經機關發布，係依%(sources)s所載內容重編，格式比照施政績效報告。") % {
            "sources": "、".join(f"「{source}」" for source in sources)
        }

    @property
    def title(self):
        return _("%(roc)s年度施政績效報告") % {"roc": self.roc_year}

    @property
    def document(self):
        return _("施政績效報告")

    @property
    def toc(self) -> list[tuple[str, str, int]]:
        if not self.uses_lights:
            # As the agency prints it: one untitled table, no section to list.
            return []
        return [
            ("sec-summary", _("一、指標達成情形燈號統計"), 1),
            ("sec-indicators", _("二、績效目標及衡量指標達成情形"), 1),
        ]

    @property
    def lit_count(self) -> int:
        return sum(1 for row in self.section.rows if row.light is not None)

    @property
    def light_counts(self) -> list[tuple[str, str, int]]:
        counts = Counter(row.light for row in self.section.rows if row.light is not None)
        # White (無法評估) is listed only when some entered result could not be evaluated.
        shown = [s for s in Status if s != Status.WHITE or counts[s]]
        return [(s.value, status_label(s), counts[s]) for s in shown]


def _group(rows, goal_of) -> list[GoalGroup]:
    groups: list[GoalGroup] = []
    for row in rows:
        goal = goal_of(row)
        if groups and groups[-1].goal.pk == goal.pk:
            groups[-1].rows.append(row)
        else:
            groups.append(GoalGroup(goal=goal, rows=[row]))
    return groups


def _lines(text) -> list[str]:
    return [line for line in (text or "").splitlines() if line.strip()]


def _analysis(row: Achievement, kind: str) -> list[Heading]:
    """The 績效衡量暨達成情形分析 cell: a reprint keeps the document's own parts and labels and
    adds none; an entered result gets every part, with a placeholder where one is still empty."""
    result = row.result
    transcribed = result is not None and result.is_transcribed
    layout = result.layout if transcribed else {}
    labels = layout.get("labels", {})

    def part(key, default, text, items=(), note=None, tail=()):
        lines = text if isinstance(text, list) else _lines(text)
        items = [i for i in items if not (transcribed and i.empty)]
        missing = not transcribed and not lines and not items
        tail = list(tail) if lines else []
        label = labels.get(key, default)
        return Heading(label, lines, items, missing, note if lines else None, tail)

    def text(name):
        return getattr(result, name) if result is not None else ""

    line = achievement_lines(row)
    note = recompute_note(row)
    extra = []
    if text("shortfall_reason") or (not transcribed and is_short(row)):
        extra.append(part("", _("未達成原因"), text("shortfall_reason")))
        extra.append(part("", _("改善措施"), text("improvement")))
    # A reprint prints only the target the document printed, never one built from parts.
    target = layout.get("target") or (
        row.indicator.target_text if transcribed else target_text(row.indicator)
    )
    if kind == PERFORMANCE:
        stated = []
        if _lines(target) and not _printed_in_a_performance_report(result):
            # Entered figures, and FY2011's recast from the budget document, state the target
            # the budget documents state (「年度目標值：8,000人」), after what was achieved.
            first, *rest = _lines(target)
            stated = [_("年度目標值：%(target)s") % {"target": first}, *rest]
        outcome = part("outcome", _("目標達成值"), line, extra, note, stated)
    else:
        achieved = part("achievement", _("達成度"), line, note=note)
        items = [part("target", _("年度目標值"), target), achieved]
        outcome = part("outcome", _("年度目標值及達成度"), [], items + extra)
    headings = [
        part("standard", _("衡量標準"), row.indicator.measurement_standard),
        part("progress", _("辦理情形"), text("progress")),
        outcome,
        part("benefit", _("效益"), text("benefit")),
    ]
    if text("remarks"):
        headings.append(Heading("", _lines(text("remarks"))))
    return [h for h in headings if not (transcribed and h.empty)]


def _printed_in_a_performance_report(result) -> bool:
    # `source` names the document a result was transcribed from, as the fixtures spell it.
    return result is not None and result.is_transcribed and "施政績效報告" in result.source


def _light(row: Achievement, policy: Policy, transcribed: bool) -> Status | None:
    """The row's light; a reprinted result without raw figures follows its published figure,
    and has no light at all when it printed none to follow (never 「無法評估」)."""
    status = row.outcome.status
    if status != Status.WHITE or not transcribed:
        return status
    published = row.published_rate
    if published is None:
        return None
    if row.published_basis == Result.Basis.VALUE:
        target = row.parts[0].target if len(row.parts) == 1 else None
        if not target:
            return None
        published = published / target * HUNDRED
    return status_for(Decimal(published), policy)


def _pending(rows: list[ReportRow], unapproved, year) -> list[str]:
    """What keeps a section from being final: results not approved, missing or incomplete."""
    roc = to_roc(year)
    pending = [
        _("%(roc)s年度「%(name)s」：%(state)s，尚未核定。")
        % {"roc": roc, "name": r.indicator.name, "state": r.get_state_display()}
        for r in unapproved
    ]
    waiting = {r.pk for r in unapproved}
    for row in rows:
        name = row.indicator.name
        if row.transcribed or (row.result is not None and row.result.pk in waiting):
            continue  # a reprint is complete; an unapproved result is listed once, above
        if row.result is None:
            pending.append(_("%(roc)s年度「%(name)s」：尚未填報。") % {"roc": roc, "name": name})
            continue
        if row.outcome.rate is None:
            pending.append(
                _("%(roc)s年度「%(name)s」：無法計算達成度（%(reason)s）")
                % {"roc": roc, "name": name, "reason": row.reason}
            )
        parts = [p for heading in row.analysis for p in (heading, *heading.items)]
        empty = [p.label for p in parts if p.missing]
        if empty:
            pending.append(
                _("%(roc)s年度「%(name)s」：尚未填寫%(parts)s。")
                % {"roc": roc, "name": name, "parts": "、".join(empty)}
            )
    return pending


def _section(agency, year, through_quarter, kind, lights: AchievementPolicy | None = None):
    """One year's results as rows; `lights` is the policy in force when the report has a
    light column (the performance report), None when it has none (the budget explanation)."""
    uses_lights = lights is not None and lights.uses_lights
    policy = lights.engine_policy if uses_lights else None
    # Unapproved figures print too, each marked as such (the whole report is then a draft).
    unapproved = unapproved_results(agency=agency, year=year, quarter=through_quarter)
    waiting = {r.pk for r in unapproved}
    rows = []
    achievements = achievements_for_year(
        year=year, through_quarter=through_quarter, agency=agency, include_unapproved=True
    )
    for number, achievement in enumerate(achievements, 1):
        result = achievement.result
        transcribed = result is not None and result.is_transcribed
        draft = (
            _("（%(state)s，尚未核定）") % {"state": result.get_state_display()}
            if result is not None and result.pk in waiting
            else None
        )
        rows.append(
            ReportRow(
                achievement=achievement,
                analysis=_analysis(achievement, kind),
                note=recompute_note(achievement),
                light=_light(achievement, policy, transcribed) if uses_lights else None,
                number=number,
                draft=draft,
            )
        )
    return Section(
        year,
        through_quarter,
        _group(rows, lambda row: row.indicator.goal),
        uses_lights=uses_lights,
        pending=_pending(rows, unapproved, year),
    )


def _headcount_tables(agency, year) -> list[HeadcountTable]:
    categories = list(HeadcountLine.Category)
    tables = []
    for budget in headcount_budgets(agency=agency, year=year):
        lines = {line.category: line for line in budget.lines.all()}

        def row(label, pick, lines=lines):
            values = [pick(lines[c]) if c in lines else 0 for c in categories]
            return HeadcountRow(label, values, sum(values))

        tables.append(
            HeadcountTable(
                programme=budget.programme,
                explanation=budget.explanation,
                categories=[c.label for c in categories],
                rows=[
                    row(_("上年度編列數"), lambda line: line.previous),
                    row(_("本年度增（減）"), lambda line: line.change),
                    row(_("合計"), lambda line: line.current),
                ],
            )
        )
    return tables


def has_year(agency, kind: str, year: int) -> bool:
    if has_goals(agency=agency, year=year):
        return True
    return kind == BUDGET and has_budget_data(agency=agency, year=year)


def require_year(agency, kind: str, year: int) -> None:
    """Raises ReportNotFound, with the message a page shows, when the year has no data."""
    if has_year(agency, kind, year):
        return
    if kind == BUDGET:
        message = _("%(agency)s沒有民國%(roc)s年度（%(year)s）的資料。")
    else:
        message = _("%(agency)s沒有民國%(roc)s年度（%(year)s）的績效指標。")
    raise ReportNotFound(message % {"agency": agency.name, "roc": to_roc(year), "year": year})


def report_years(agency, kind: str) -> list[int]:
    years = goal_years(agencies=[agency]).get(agency.pk, set())
    if kind == BUDGET:
        years |= budget_years(agencies=[agency]).get(agency.pk, set())
    return sorted(years, reverse=True)


def budget_report(agency, year: int, through_quarter: int = 2) -> BudgetReport:
    require_year(agency, BUDGET, year)
    units = units_of(agency=agency)
    policy, policy_goals = annual_policy(agency=agency, year=year)
    indicators = indicators_of_year(agency=agency, year=year)
    report = BudgetReport(
        agency=agency,
        year=year,
        through_quarter=through_quarter,
        units=units,
        org_chart=org_chart_svg(agency, units),
        headcounts=_headcount_tables(agency, year),
        policy=policy,
        policy_goals=policy_goals,
        kpis=_group(indicators, lambda indicator: indicator.goal),
        prior=_section(agency, year - 2, 4, BUDGET),
        elapsed=_section(agency, year - 1, through_quarter, BUDGET),
    )
    if not units:
        report.missing.append(_("尚未建立內部單位。"))
    if not report.headcounts:
        report.missing.append(_("尚無本年度預算員額資料。"))
    if policy is None:
        report.missing.append(_("尚無本年度施政目標與重點。"))
    if not report.kpis:
        report.missing.append(_("尚無本年度關鍵績效指標。"))
    if not report.prior.groups:
        report.missing.append(
            _("尚無前（%(roc)s）年度施政績效資料。") % {"roc": report.prior.roc_year}
        )
    if not report.elapsed.groups:
        report.missing.append(
            _("尚無上（%(roc)s）年度施政績效資料。") % {"roc": report.elapsed.roc_year}
        )
    return report


def performance_report(agency, year: int) -> PerformanceReport:
    require_year(agency, PERFORMANCE, year)
    lights = achievement_policy_rows(pairs=[(agency.pk, year)])[agency.pk, year]
    return PerformanceReport(
        agency=agency,
        year=year,
        section=_section(agency, year, 4, PERFORMANCE, lights),
        lights=lights,
    )


def report_for(agency, kind: str, year: int, through_quarter: int = 2):
    if kind == BUDGET:
        return budget_report(agency, year, through_quarter)
    return performance_report(agency, year)


__all__ = [
    "BUDGET",
    "PERFORMANCE",
    "KINDS",
    "BudgetReport",
    "PerformanceReport",
    "ReportNotFound",
    "budget_report",
    "performance_report",
    "report_for",
    "report_years",
]
