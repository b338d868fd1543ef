"""The 季管考 report (issue 17): an agency's (or a ministry's agencies') indicators through one
quarter, judged against the quarter's milestone (分季目標; Q4 against the annual target), with
the annual rate beside it, each result's state, and 落後原因 / 改善措施 where one is behind;
summed up by goal and by unit (and by agency for a ministry).

Figures in any state are printed, each labelled with its state; anything not final makes the
whole report a draft (the mark on every page, as the other reports). The HTML page, the PDF and
the workbook all render from one `QuarterlyReport`; `render_quarterly` is the one call a
command or a background job needs."""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from budget.selectors import agency_subtree
from kpitrack.core.engine.achievement import Status
from kpitrack.core.engine.calendar import to_roc
from kpitrack.core.formatting import figure
from performance.judgements import QuarterJudgement
from performance.reasons import status_label
from performance.selectors import (
    goal_years,
    quarter_judgements,
    quarterly_read,
    transcribed_agency_ids,
)

from .assembly import ReportNotFound, _DraftMark, _Titles
from .render import pdf_bytes, print_html
from .xlsx import quarterly_workbook

QUARTERLY = "quarterly"
FORMATS = ("html", "pdf", "xlsx")

# Said before a job is started and by the report itself: a transcribed year has no quarters.
_TRANSCRIBED = gettext_noop(
    "%(agency)s民國%(roc)s年度的績效資料轉錄自已發布的年度文件，只有全年度數字，沒有分季資料，"
    "無法產生季管考報表。"
)


def _figure(value: Decimal | None) -> str:
    return "—" if value is None else figure(value)


@dataclass(frozen=True)
class QuarterRow:
    """One indicator through the quarter. `final`: its result's figures are approved (see
    performance.selectors.approved_results_q); `result` is None when nothing was entered."""

    number: int  # its place in its agency's section, over every goal
    indicator: object
    judgement: QuarterJudgement
    result: object | None
    final: bool

    @property
    def unit_name(self) -> str:
        unit = self.indicator.responsible_unit
        return unit.name if unit is not None else _("（未指定）")

    @property
    def state_label(self) -> str:
        if self.result is None:
            return _("尚未填報")
        if self.final:
            return _("已核定")
        return self.result.get_state_display()

    @property
    def parts(self):
        return self.judgement.parts

    @property
    def single(self):
        """The one target part, whose figures the workbook writes as numbers; None otherwise."""
        return self.parts[0] if len(self.parts) == 1 else None

    def _joined(self, text) -> str:
        if not self.parts:
            return "—"
        if self.single:
            return text(self.single)
        return "、".join(f"{part.label} {text(part)}" for part in self.parts)

    @property
    def milestone_text(self) -> str:
        def planned(part):
            value = _figure(part.milestone)
            return _("%(value)s（預設）") % {"value": value} if part.default else value

        return self._joined(planned)

    @property
    def actual_text(self) -> str:
        return self._joined(lambda part: _figure(part.value))

    @property
    def target_text(self) -> str:
        return self._joined(lambda part: _figure(part.target))

    @property
    def progress(self) -> Decimal | None:
        return self.judgement.progress

    @property
    def annual_rate(self) -> Decimal | None:
        return self.judgement.annual_rate

    @property
    def status(self) -> Status:
        return self.judgement.status

    @property
    def light_label(self) -> str:
        return status_label(self.status)

    @property
    def pace_label(self) -> str:
        return self.judgement.pace_label

    @property
    def behind(self) -> bool:
        return self.judgement.behind

    @property
    def shortfall_reason(self) -> str:
        return self.result.shortfall_reason if self.result is not None else ""

    @property
    def improvement(self) -> str:
        return self.result.improvement if self.result is not None else ""


@dataclass(frozen=True)
class Tally:
    """A summary line: how many indicators, by light, how many behind or not approved, and the
    simple (unweighted) mean of 達成進度 over the `averaged` indicators that have one."""

    label: str
    count: int
    lights: tuple[int, ...]  # in LIGHTS order
    behind: int
    unapproved: int
    average: Decimal | None
    averaged: int


LIGHTS = (Status.GREEN, Status.YELLOW, Status.RED, Status.WHITE)


def light_headings() -> list[tuple[str, str]]:
    return [(status.value, status_label(status)) for status in LIGHTS]


def _tally(label: str, rows: list[QuarterRow]) -> Tally:
    counts = Counter(row.status for row in rows)
    rates = [row.progress for row in rows if row.progress is not None]
    average = (sum(rates) / len(rates)).quantize(Decimal("0.01")) if rates else None
    return Tally(
        label=label,
        count=len(rows),
        lights=tuple(counts[status] for status in LIGHTS),
        behind=sum(1 for row in rows if row.behind),
        unapproved=sum(1 for row in rows if not row.final),
        average=average,
        averaged=len(rates),
    )


@dataclass(frozen=True)
class GoalRows:
    goal: object
    rows: list[QuarterRow]


@dataclass
class AgencySection:
    agency: object
    groups: list[GoalRows]

    @property
    def rows(self) -> list[QuarterRow]:
        return [row for group in self.groups for row in group.rows]

    @property
    def by_goal(self) -> list[Tally]:
        return [_tally(group.goal.title, group.rows) for group in self.groups]

    @property
    def by_unit(self) -> list[Tally]:
        units: dict[str, list[QuarterRow]] = {}
        for row in self.rows:
            units.setdefault(row.unit_name, []).append(row)
        return [_tally(name, rows) for name, rows in units.items()]

    @property
    def total(self) -> Tally:
        return _tally(_("合計"), self.rows)


@dataclass
class QuarterlyReport(_Titles, _DraftMark):
    agency: object
    year: int
    quarter: int
    sections: list[AgencySection]
    notes: list[str] = field(default_factory=list)  # agencies left out, and why
    kind: str = QUARTERLY
    body_template: str = "reports/_quarterly.html"
    landscape: bool = True  # eleven columns: A4 across

    @property
    def through_quarter(self) -> int:
        return self.quarter

    @property
    def is_ministry(self) -> bool:
        return len(self.sections) > 1 or self.sections[0].agency.pk != self.agency.pk

    @property
    def by_agency(self) -> list[Tally]:
        return [_tally(section.agency.name, section.rows) for section in self.sections]

    @property
    def total(self) -> Tally:
        return _tally(_("合計"), [row for section in self.sections for row in section.rows])

    @property
    def incomplete(self) -> list[str]:
        pending = []
        for section in self.sections:
            prefix = f"{section.agency.name}：" if self.is_ministry else ""
            for row in section.rows:
                if row.result is None:
                    pending.append(
                        prefix + _("「%(name)s」：尚未填報。") % {"name": row.indicator.name}
                    )
                elif not row.final:
                    pending.append(
                        prefix
                        + _("「%(name)s」：%(state)s，尚未核定。")
                        % {"name": row.indicator.name, "state": row.state_label}
                    )
        return pending

    @property
    def document(self) -> str:
        return _("第%(q)s季管考報告") % {"q": self.quarter}

    @property
    def title(self) -> str:
        return _("%(roc)s年度第%(q)s季管考報告") % {"roc": self.roc_year, "q": self.quarter}

    @property
    def file_key(self) -> str:
        return f"{self.kind}-{self.year}-q{self.quarter}"

    @property
    def toc(self) -> list:
        return []

    @property
    def light_headings(self) -> list[tuple[str, str]]:
        return light_headings()


def quarterly_years(agency) -> list[int]:
    """The years with indicators of the agency or an agency under it, newest first."""
    years = goal_years(agencies=agency_subtree(agency=agency))
    return sorted(set().union(*years.values()), reverse=True)


def quarterly_members(agency, *, visible=None) -> list:
    """The agencies the report of `agency` covers: it and, for a ministry, each agency under it
    whose id is in `visible` (all of them when `visible` is None). One query."""
    subtree = agency_subtree(agency=agency)
    return [a for a in subtree if visible is None or a.pk in visible] or [agency]


def quarterly_require(agency, year: int, members) -> None:
    """Raises ReportNotFound, with the message the page shows, when none of `members` has
    indicators in `year`, or every one that has was transcribed from the published documents:
    before a job is started only to fail. Two queries."""
    having = [pk for pk, years in goal_years(agencies=members).items() if year in years]
    if having:
        if set(having) - transcribed_agency_ids(agency_ids=having, year=year):
            return
        raise ReportNotFound(_(_TRANSCRIBED) % {"agency": agency.name, "roc": to_roc(year)})
    raise ReportNotFound(
        _("%(agency)s沒有民國%(roc)s年度（%(year)s）的績效指標。")
        % {"agency": agency.name, "roc": to_roc(year), "year": year}
    )


def quarterly_report(agency, year: int, quarter: int, *, visible=None) -> QuarterlyReport:
    """The report of `agency` (and, for a ministry, of each agency under it whose id is in
    `visible`, or all of them when `visible` is None) for `year` through `quarter`. Raises
    ReportNotFound when no agency has indicators that year, or its figures were transcribed
    from the published annual documents (no quarters to report)."""
    agencies = quarterly_members(agency, visible=visible)
    read = quarterly_read(agencies=agencies, year=year, quarter=quarter)
    judgements = quarter_judgements(ids=[i.pk for i in read.indicators], quarter=quarter)
    roc = to_roc(year)
    sections, notes, transcribed = [], [], []
    for member in agencies:
        indicators = [i for i in read.indicators if i.goal.agency_id == member.pk]
        if not indicators:
            continue
        if member.pk in read.transcribed:
            transcribed.append(member)
            continue
        groups: list[GoalRows] = []
        for number, indicator in enumerate(indicators, 1):
            result = read.results.get(indicator.pk)
            row = QuarterRow(
                number=number,
                indicator=indicator,
                judgement=judgements[indicator.pk],
                result=result,
                final=result is not None and result.pk in read.final,
            )
            if groups and groups[-1].goal.pk == indicator.goal_id:
                groups[-1].rows.append(row)
            else:
                groups.append(GoalRows(indicator.goal, [row]))
        sections.append(AgencySection(member, groups))
    message = _(_TRANSCRIBED)
    if not sections:
        if transcribed:
            raise ReportNotFound(message % {"agency": agency.name, "roc": roc})
        raise ReportNotFound(
            _("%(agency)s沒有民國%(roc)s年度（%(year)s）的績效指標。")
            % {"agency": agency.name, "roc": roc, "year": year}
        )
    notes = [message % {"agency": other.name, "roc": roc} for other in transcribed]
    return QuarterlyReport(agency, year, quarter, sections, notes)


def render_quarterly(*, agency, year: int, quarter: int, format: str, visible=None) -> bytes:
    """The report as bytes in `format` (html: the print document, as `render_report` writes
    it). Raises ReportNotFound as quarterly_report does."""
    if format not in FORMATS:
        raise ValueError(format)
    report = quarterly_report(agency, year, quarter, visible=visible)
    if format == "pdf":
        return pdf_bytes(report)
    if format == "xlsx":
        return quarterly_workbook(report)
    return print_html(report).encode("utf-8")
