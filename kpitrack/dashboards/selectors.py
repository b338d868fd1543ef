"""Reads for the dashboards. Each function runs a fixed number of queries, whatever the number of
agencies, indicators or years in its scope."""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Q

from budget.models import Agency, Unit
from kpitrack.engine.achievement import (
    HUNDRED,
    ZERO,
    Outcome,
    Policy,
    Status,
    round_decimal,
    status_for,
)
from kpitrack.engine.calendar import FULL_YEAR
from kpitrack.permissions import agencies_for_user
from performance.models import Indicator, Result, StrategicGoal
from performance.models import Outcome as StoredOutcome
from performance.outcomes import (
    Brief,
    Projection,
    Stored,
    briefs_for_year,
    stored_for_code,
    stored_for_indicators,
)
from performance.selectors import Achievement

LIGHTS = (Status.GREEN, Status.YELLOW, Status.RED, Status.WHITE)
ATTENTION_SHOWN = 10


# --- scope and period ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a dashboard covers: one agency, or a ministry with the agencies under it."""

    agency: Agency
    agencies: tuple[Agency, ...]

    @property
    def is_ministry(self) -> bool:
        return len(self.agencies) > 1 or self.agencies[0].pk != self.agency.pk

    @property
    def ids(self) -> list[int]:
        return [a.pk for a in self.agencies]


def scope_for(*, user, code: str) -> Scope | None:
    """The agency `code` with the agencies directly under it that `user` may see; None when the
    user may not see it. One query."""
    visible = list(
        agencies_for_user(user)
        .filter(Q(code=code) | Q(parent__code=code))
        .select_related("parent")
        .order_by("code")
    )
    own = next((a for a in visible if a.code == code), None)
    if own is None:
        return None
    return Scope(agency=own, agencies=tuple(visible))


def default_scope_code(*, user) -> str | None:
    """The agency a dashboard opens on: a top-level agency (a ministry) the user may see before
    the agencies under it, then by code. One query."""
    first = agencies_for_user(user).order_by(F("parent").asc(nulls_first=True), "code").first()
    return None if first is None else first.code


def years_of(scope: Scope) -> list[int]:
    """The years with strategic goals in the scope, newest first. One query."""
    return list(
        StrategicGoal.objects.filter(agency_id__in=scope.ids)
        .order_by("-year")
        .values_list("year", flat=True)
        .distinct()
    )


def latest_approved(scope: Scope, year: int | None = None) -> tuple[int, int] | None:
    """(year, quarter) of the latest approved data in the scope (within `year` if given), from
    the stored outcomes' index. One query."""
    entered = StoredOutcome.objects.filter(agency_id__in=scope.ids, entered=True)
    if year is not None:
        entered = entered.filter(year=year)
    return (
        entered.order_by("-year", "-through_quarter").values_list("year", "through_quarter").first()
    )


# --- rows ------------------------------------------------------------------------------------


@dataclass
class Row:
    """An indicator in a list: its brief standing and the state of its quarter's result; `full`
    (the achievement with its parts, reasons and projection) is read only for the rows shown."""

    brief: Brief
    state: str | None  # of the quarter's result in any state; None: nothing entered
    full: Stored | None = None

    @property
    def achievement(self) -> Achievement:
        return self.full.achievement

    @property
    def indicator(self) -> Indicator:
        return self.full.achievement.indicator

    @property
    def outcome(self) -> Outcome:
        return self.full.achievement.outcome

    @property
    def projection(self) -> Projection | None:
        return self.full.projection

    @property
    def policy(self) -> Policy:
        return self.brief.policy

    @property
    def status(self) -> Status:
        return self.brief.status

    @property
    def projected_miss(self) -> bool:
        return self.brief.projected_status not in (None, Status.GREEN)

    @property
    def attention(self) -> tuple[str, ...]:
        """Why a manager should look at it first: red, returned, projected to miss, not entered."""
        reasons = []
        if self.status is Status.RED:
            reasons.append("red")
        if self.state == Result.State.RETURNED:
            reasons.append("returned")
        if self.projected_miss:
            reasons.append("projected_miss")
        if self.state is None:
            reasons.append("not_entered")
        return tuple(reasons)

    # Sort keys: django-tables2 sorts lists by comparing values, and None does not compare.
    @property
    def rate_key(self) -> Decimal:
        return self.brief.rate if self.brief.rate is not None else Decimal(-1)

    @property
    def status_key(self) -> int:
        return LIGHTS.index(self.status)

    @property
    def unit_key(self) -> str:
        return self.brief.unit_name

    @property
    def state_key(self) -> str:
        return self.state or ""


def rows_for(scope: Scope, year: int, quarter: int, *, unit: Unit | None = None) -> list[Row]:
    """Every indicator of the scope's agencies (or of one unit) for `year` through `quarter`
    from the stored outcomes, briefly, with the state of the quarter's result whatever it is.
    Three queries."""
    states = dict(
        Result.objects.filter(
            indicator__goal__agency_id__in=scope.ids, indicator__goal__year=year, quarter=quarter
        ).values_list("indicator_id", "state")
    )
    return [
        Row(brief=b, state=states.get(b.indicator_id))
        for b in briefs_for_year(agency_ids=scope.ids, year=year, through_quarter=quarter)
        if unit is None or b.unit_id == unit.pk
    ]


def with_full(rows: list[Row], quarter: int) -> list[Row]:
    """The rows with their full achievements read (two queries), for the rows a page shows."""
    stored = {
        s.achievement.indicator.pk: s
        for s in stored_for_indicators(
            ids=[row.brief.indicator_id for row in rows], through_quarter=quarter
        )
    }
    for row in rows:
        row.full = stored[row.brief.indicator_id]
    return rows


# --- overview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalStanding:
    """A strategic goal's achievement: its indicators' rates weighted by their weights, each
    counted at most 100% so one indicator far above target cannot hide another's miss."""

    goal_id: int
    title: str
    agency: Agency
    rate: Decimal | None
    status: Status
    evaluated: int
    total: int
    counts: dict


def as_pairs(counts: dict) -> list[tuple[Status, int]]:
    """Counts per light in the lights' order, for templates."""
    return [(light, counts[light.value]) for light in LIGHTS]


@dataclass(frozen=True)
class AgencyStanding:
    agency: Agency
    counts: dict
    total: int

    @property
    def count_pairs(self):
        return as_pairs(self.counts)


@dataclass
class Overview:
    scope: Scope
    year: int
    quarter: int
    rows: list[Row]
    counts: dict = field(default_factory=dict)
    goals: list[GoalStanding] = field(default_factory=list)
    attention: list[Row] = field(default_factory=list)
    attention_total: int = 0
    agencies: list[AgencyStanding] = field(default_factory=list)
    projected: int = 0

    @property
    def count_pairs(self):
        return as_pairs(self.counts)


def light_counts(rows) -> dict:
    counted = Counter(row.status for row in rows)
    return {light.value: counted.get(light, 0) for light in LIGHTS}


def goal_standing(rows: list[Row], agency: Agency) -> GoalStanding:
    weighted, weights = ZERO, ZERO
    for row in rows:
        rate, weight = row.brief.rate, row.brief.weight
        if rate is None or not weight:
            continue
        weighted += weight * min(rate, HUNDRED)
        weights += weight
    policy = rows[0].policy
    rate = round_decimal(weighted / weights, policy.decimals, policy.rounding) if weights else None
    return GoalStanding(
        goal_id=rows[0].brief.goal_id,
        title=rows[0].brief.goal_title,
        agency=agency,
        rate=rate,
        status=status_for(rate, policy),
        evaluated=sum(1 for row in rows if row.brief.rate is not None),
        total=len(rows),
        counts=light_counts(rows),
    )


_ATTENTION_ORDER = ("red", "returned", "projected_miss", "not_entered")


def _attention_key(row: Row):
    return (_ATTENTION_ORDER.index(row.attention[0]), row.rate_key, row.brief.indicator_id)


def overview(scope: Scope, year: int, quarter: int, rows: list[Row]) -> Overview:
    """Counts, goals, agencies and the first indicators needing attention (read in full: two
    queries)."""
    agencies = {a.pk: a for a in scope.agencies}
    by_goal: dict[int, list[Row]] = {}
    by_agency: dict[int, list[Row]] = {}
    for row in rows:
        by_goal.setdefault(row.brief.goal_id, []).append(row)
        by_agency.setdefault(row.brief.agency_id, []).append(row)
    attention = sorted((row for row in rows if row.attention), key=_attention_key)
    return Overview(
        scope=scope,
        year=year,
        quarter=quarter,
        rows=rows,
        counts=light_counts(rows),
        goals=[
            goal_standing(goal_rows, agencies[goal_rows[0].brief.agency_id])
            for goal_rows in by_goal.values()
        ],
        attention=with_full(attention[:ATTENTION_SHOWN], quarter),
        attention_total=len(attention),
        agencies=[
            AgencyStanding(
                agency=a, counts=light_counts(by_agency[a.pk]), total=len(by_agency[a.pk])
            )
            for a in scope.agencies
            if a.pk in by_agency
        ],
        projected=sum(1 for row in rows if row.brief.projected_status is not None),
    )


def unit_of(scope: Scope, code: str) -> Unit | None:
    """The scope's own agency's unit with this code (codes repeat across agencies)."""
    return Unit.objects.filter(agency=scope.agency, code=code).first()


# --- one indicator over the quarters and the years --------------------------------------------


@dataclass(frozen=True)
class Point:
    """An indicator's outcome for a year through a quarter."""

    year: int
    quarter: int
    outcome: Outcome


@dataclass(frozen=True)
class IndicatorPage:
    indicator: Indicator
    year: int
    quarter: int
    quarterly: list[Point]  # through each quarter that has approved figures
    trend: list[Point]  # each year's latest quarter with approved figures
    projection: Projection | None
    result: Result | None  # the latest approved result of the year, for its narrative
    policy: Policy


def indicator_outcomes(*, agency: Agency, code: str) -> dict[int, list[Stored]]:
    """The stored outcomes of the agency's indicator `code` by year, oldest year first. Two
    queries, whatever the number of years."""
    by_year: dict[int, list[Stored]] = {}
    for s in stored_for_code(agency_id=agency.pk, code=code):
        by_year.setdefault(s.achievement.indicator.goal.year, []).append(s)
    return by_year


def indicator_page(*, by_year: dict[int, list[Stored]], year: int) -> IndicatorPage:
    """The indicator in `year` through each quarter, and its outcome in every year. One query
    (the narrative)."""
    trend = []
    for y, stored in by_year.items():
        entered = [s for s in stored if s.entered]
        if entered:
            trend.append(Point(y, entered[-1].quarter, entered[-1].achievement.outcome))
    stored = by_year[year]
    quarterly = [Point(year, s.quarter, s.achievement.outcome) for s in stored if s.entered]
    latest = next((s for s in reversed(stored) if s.entered), None)
    indicator = stored[0].achievement.indicator
    result = None
    if latest is not None:
        result = Result.objects.filter(
            indicator=indicator, quarter=latest.quarter, state=Result.State.APPROVED
        ).first()
    return IndicatorPage(
        indicator=indicator,
        year=year,
        quarter=latest.quarter if latest else FULL_YEAR,
        quarterly=quarterly,
        trend=trend,
        projection=latest.projection if latest else None,
        result=result,
        policy=stored[0].policy,
    )
