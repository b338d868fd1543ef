"""Everything a report prints, gathered once in a fixed number of queries; the HTML, PDF and
Excel outputs all render from these objects, so the three never disagree."""

from collections import Counter
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from budget.models import (
    AchievementPolicy,
    AnnualPolicy,
    HeadcountBudget,
    HeadcountLine,
    PolicyGoal,
    Unit,
)
from budget.selectors import achievement_policy_rows
from kpitrack.engine.achievement import Status
from kpitrack.engine.calendar import to_roc
from performance.models import Indicator, StrategicGoal
from performance.reasons import status_label
from performance.selectors import Achievement, achievements_for_year

from .orgchart import org_chart_svg

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
class GoalGroup:
    goal: StrategicGoal
    rows: list  # Achievement or Indicator


class _RocYear:
    """Anything with a Gregorian `year` also shows its ROC year."""

    @property
    def roc_year(self) -> int:
        return to_roc(self.year)


@dataclass
class Section(_RocYear):
    year: int
    through_quarter: int
    groups: list[GoalGroup]

    @property
    def rows(self) -> list[Achievement]:
        return [row for group in self.groups for row in group.rows]

    @property
    def period_label(self) -> str:
        if self.through_quarter == 4:
            return _("全年度")
        return _("1-%(month)s月") % {"month": self.through_quarter * 3}


@dataclass
class BudgetReport(_RocYear):
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
    def title(self):
        return _("預算總說明")

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
class PerformanceReport(_RocYear):
    agency: object
    year: int
    section: Section
    lights: AchievementPolicy  # the thresholds in force that year
    missing: list[str] = field(default_factory=list)
    kind: str = PERFORMANCE

    @property
    def title(self):
        return _("%(roc)s年度施政績效報告") % {"roc": self.roc_year}

    @property
    def toc(self) -> list[tuple[str, str, int]]:
        return [
            ("sec-summary", _("一、指標達成情形燈號統計"), 1),
            ("sec-indicators", _("二、績效目標及衡量指標達成情形"), 1),
        ]

    @property
    def light_counts(self) -> list[tuple[str, str, int]]:
        counts = Counter(row.outcome.status for row in self.section.rows)
        return [(s.value, status_label(s), counts[s]) for s in Status]


def _group(rows, goal_of) -> list[GoalGroup]:
    groups: list[GoalGroup] = []
    for row in rows:
        goal = goal_of(row)
        if groups and groups[-1].goal.pk == goal.pk:
            groups[-1].rows.append(row)
        else:
            groups.append(GoalGroup(goal=goal, rows=[row]))
    return groups


def _section(agency, year, through_quarter) -> Section:
    rows = achievements_for_year(year=year, through_quarter=through_quarter, agency=agency)
    return Section(year, through_quarter, _group(rows, lambda row: row.indicator.goal))


def _headcount_tables(agency, year) -> list[HeadcountTable]:
    categories = list(HeadcountLine.Category)
    budgets = HeadcountBudget.objects.filter(agency=agency, year=year).prefetch_related("lines")
    tables = []
    for budget in budgets:
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
    if StrategicGoal.objects.filter(agency=agency, year=year).exists():
        return True
    if kind == BUDGET:
        return (
            AnnualPolicy.objects.filter(agency=agency, year=year).exists()
            or HeadcountBudget.objects.filter(agency=agency, year=year).exists()
        )
    return False


def report_years(agency, kind: str) -> list[int]:
    years = set(StrategicGoal.objects.filter(agency=agency).values_list("year", flat=True))
    if kind == BUDGET:
        years |= set(AnnualPolicy.objects.filter(agency=agency).values_list("year", flat=True))
        years |= set(HeadcountBudget.objects.filter(agency=agency).values_list("year", flat=True))
    return sorted(years, reverse=True)


def budget_report(agency, year: int, through_quarter: int = 2) -> BudgetReport:
    if not has_year(agency, BUDGET, year):
        raise ReportNotFound(
            _("%(agency)s沒有民國%(roc)s年度（%(year)s）的資料。")
            % {"agency": agency.name, "roc": to_roc(year), "year": year}
        )
    units = list(agency.units.select_related("parent").order_by("order", "id"))
    policy = AnnualPolicy.objects.filter(agency=agency, year=year).first()
    policy_goals = list(policy.goals.prefetch_related("items").order_by("order")) if policy else []
    indicators = (
        Indicator.objects.filter(goal__agency=agency, goal__year=year)
        .select_related("goal", "responsible_unit")
        .prefetch_related("parts")
        .order_by("goal__order", "order", "id")
    )
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
        prior=_section(agency, year - 2, 4),
        elapsed=_section(agency, year - 1, through_quarter),
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
    if not has_year(agency, PERFORMANCE, year):
        raise ReportNotFound(
            _("%(agency)s沒有民國%(roc)s年度（%(year)s）的績效指標。")
            % {"agency": agency.name, "roc": to_roc(year), "year": year}
        )
    lights = achievement_policy_rows(pairs=[(agency.pk, year)])[agency.pk, year]
    return PerformanceReport(
        agency=agency, year=year, section=_section(agency, year, 4), lights=lights
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
