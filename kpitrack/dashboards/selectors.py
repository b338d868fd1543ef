"""Reads for the dashboards. Each function runs a fixed number of queries, whatever the number of
agencies, indicators or years in its scope."""

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    DecimalField,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Collate
from django.http import Http404

from budget.models import Agency, Unit
from budget.selectors import achievement_policies
from kpitrack.core.caching import cache_get, cache_set, versioned_key
from kpitrack.core.engine.achievement import (
    HUNDRED,
    ZERO,
    Outcome,
    Policy,
    Status,
    round_decimal,
    status_for,
)
from kpitrack.core.engine.calendar import FULL_YEAR
from kpitrack.core.prepared import Prepared, model_columns, model_from_row
from performance.judgements import QuarterJudgement
from performance.models import (
    Indicator,
    Result,
    StrategicGoal,
    TargetPart,
)
from performance.models import Outcome as StoredOutcome
from performance.outcome_reads import (
    Brief,
    Projection,
    Stored,
    brief_of,
    read_rows,
    stored_for_code,
    stored_for_indicators,
    with_related,
)
from performance.permissions import agencies_for_user, can_view_agency, require
from performance.selectors import Achievement, approved_results_q

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


def scope_for(*, user, code: str) -> Scope:
    """The agency `code` with the agencies directly under it that `user` may see. Raises Http404
    for an unknown code and PermissionDenied for an agency that is not the user's."""
    # One query for the agency and those under it (codes are unique), then arithmetic on the
    # user's memberships, as `access_agency` and `agencies_for_user` would check them.
    family = [model_from_row(Agency, row) for row in _FAMILY(code)]
    return _scope_of(user, code, family)


# The agency `code` with those under it (and, versioned, each with its outcomes' version):
# every dashboard page reads it first, cached or not (issue 16); its SQL is built once
# (kpitrack.core.prepared).
_FAMILY = Prepared(lambda code: _family(code).values_list(*model_columns(Agency)))
_VERSIONED_FAMILY = Prepared(
    lambda code: _family(code).values_list(*model_columns(Agency), "outcomes_version__token")
)


# The version of an agency without a version row (made since, in bulk): its first refresh or
# change makes one, so this one is never seen again after a change.
_UNVERSIONED = "-"


def scope_version(scope: "Scope", tokens: dict[int, str | None]) -> str:
    """The version of what `scope` shows, from each agency's (`tokens`, by id): a new one when
    any of its agencies' changes, the same while none does (issue 16: a save in one agency
    leaves the others' cache alone)."""
    parts = [f"{pk}:{tokens[pk] or _UNVERSIONED}" for pk in sorted(scope.ids)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def versioned_scope_for(*, user, code: str) -> tuple[Scope, dict[int, str | None]]:
    """`scope_for` and each of its agencies' outcomes' version (by id: `scope_version` makes a
    page's from them), read together: one query where a cached dashboard page ran two. The
    versions are read in the same statement as the agencies, before any outcome: what is read
    after them is at least as new."""
    rows = _VERSIONED_FAMILY(code)
    family = [model_from_row(Agency, row[:-1]) for row in rows]
    scope = _scope_of(user, code, family)  # refuses an unknown code
    return scope, {agency.pk: row[-1] for agency, row in zip(family, rows, strict=True)}


def _family(code: str):
    return Agency.objects.filter(Q(code=code) | Q(parent__code=code)).order_by("code")


def _scope_of(user, code: str, family: list[Agency]) -> Scope:
    agency = next((a for a in family if a.code == code), None)
    if agency is None:
        raise Http404("agency")
    require(can_view_agency(user, agency))
    return Scope(agency=agency, agencies=tuple(a for a in family if can_view_agency(user, a)))


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
    """(year, quarter) of the latest approved data in the scope (within `year` if given): the
    latest of each agency's, each one index lookup, so the time does not grow with the years
    and indicators stored. One query."""
    entered = StoredOutcome.objects.filter(agency=OuterRef("pk"), entered__in=[True])
    if year is not None:
        entered = entered.filter(year=year)
    key = entered.order_by("-year", "-through_quarter").values(
        key=F("year") * 10 + F("through_quarter")
    )[:1]
    keys = (
        Agency.objects.filter(pk__in=scope.ids)
        .annotate(latest=Subquery(key))
        .values_list("latest", flat=True)
    )
    latest = max((k for k in keys if k is not None), default=None)
    return None if latest is None else divmod(latest, 10)


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
    def judgement(self):
        """The quarter's judgement against its milestone (Q4: the annual target)."""
        return self.full.judgement

    @property
    def rate_key(self) -> Decimal:
        # Sorted by what the light says: 達成進度 through Q3, the annual rate at Q4.
        return self.brief.progress if self.brief.progress is not None else Decimal(-1)

    @property
    def status_key(self) -> int:
        return LIGHTS.index(self.status)

    @property
    def unit_key(self) -> str:
        return self.brief.unit_name

    @property
    def state_key(self) -> str:
        return self.state or ""


# --- the indicator table: filtered, sorted, counted and paged in the database ----------------

NOT_ENTERED = "none"  # the state filter's value for "nothing entered for the quarter"
SORTS = ("agency", "goal", "indicator", "unit", "rate", "status", "state")
# The order of a list, and of the rows a sort finds equal (a stable sort on top of it).
LIST_ORDER = ("agency__code", "indicator__goal__order", "indicator__order", "indicator_id")


def _text(expression):
    """Text compared code point by code point on both databases (SQLite's default; PostgreSQL's
    "C" collation), so names sort the same whatever the server's locale."""
    return Collate(expression, "C") if connection.vendor == "postgresql" else expression


def _sort_key(name: str):
    # What each sortable column compares; a missing rate or 達成進度 sorts as -1 and a missing
    # state as "", below every rate and state.
    return {
        "agency": lambda: _text(F("agency__name")),
        "goal": lambda: _text(F("indicator__goal__title")),
        "indicator": lambda: _text(F("indicator__name")),
        "unit": lambda: _text(Coalesce(F("indicator__responsible_unit__name"), Value(""))),
        # What the light says: 達成進度 through Q3, the annual rate at Q4 (the judgement).
        "rate": lambda: Coalesce(
            F("progress"),
            F("rate"),
            Value(Decimal(-1)),
            output_field=DecimalField(max_digits=30, decimal_places=6),
        ),
        "status": lambda: Case(
            *(When(status=light.value, then=Value(n)) for n, light in enumerate(LIGHTS)),
            default=Value(len(LIGHTS)),
        ),
        "state": lambda: _text(Coalesce(F("state"), Value(""))),
    }[name]()


def with_state(outcomes, quarter: int):
    """`outcomes` with `state`: their indicator's result for `quarter`, whatever its state (NULL:
    nothing entered). One join, read once however often `state` is used (a subquery would be
    repeated at each use, with the joins of Result's default ordering)."""
    return outcomes.annotate(
        quarter_result=FilteredRelation(
            "indicator__results", condition=Q(indicator__results__quarter=quarter)
        ),
        state=F("quarter_result__state"),
    )


@dataclass(frozen=True)
class TableRows:
    """The indicator table's rows, read lazily: `count` is one query and a page (`rows`) is two,
    whatever the size of the ministry. Sorting is stable over the list's order (agency code,
    goal, indicator), ascending or descending, as a sort of the whole list would be."""

    scope: Scope
    year: int
    quarter: int
    agency_id: int | None = None
    unit_id: int | None = None
    goal_id: int | None = None
    light: str | None = None
    state: str | None = None  # a Result.State value or NOT_ENTERED
    sort: tuple[str, ...] = ()  # SORTS names, "-" first for descending

    def outcomes(self):
        outcomes = StoredOutcome.objects.filter(
            agency_id__in=self.scope.ids, year=self.year, through_quarter=self.quarter
        )
        outcomes = with_state(outcomes, self.quarter)
        if self.agency_id is not None:
            outcomes = outcomes.filter(agency_id=self.agency_id)
        if self.unit_id is not None:
            outcomes = outcomes.filter(indicator__responsible_unit_id=self.unit_id)
        if self.goal_id is not None:
            outcomes = outcomes.filter(indicator__goal_id=self.goal_id)
        if self.light:
            outcomes = outcomes.filter(status=self.light)
        if self.state == NOT_ENTERED:
            outcomes = outcomes.filter(state__isnull=True)
        elif self.state:
            outcomes = outcomes.filter(state=self.state)
        return outcomes

    def _order(self) -> list:
        keys = []
        for name in self.sort:
            key = _sort_key(name.removeprefix("-"))
            keys.append(key.desc() if name.startswith("-") else key.asc())
        return [*keys, *LIST_ORDER]

    def ordered(self):
        return self.outcomes().order_by(*self._order())

    def sorted_by(self, sort) -> "TableRows":
        """The same rows in another order; unknown names are left out."""
        known = tuple(name for name in sort if name.removeprefix("-") in SORTS)
        return replace(self, sort=known)

    def count(self) -> int:
        """One query."""
        return self.outcomes().count()

    def rows(self, start: int | None = None, stop: int | None = None) -> list[Row]:
        """The rows from `start` to `stop` (all by default) in full. Two queries: the page is
        chosen by sorting the ids alone (a ministry's thousands of rows, narrow), then only its
        rows are read whole and put in the same order."""
        page = self.ordered().values("pk")[start:stop]
        outcomes = list(
            with_related(
                with_state(StoredOutcome.objects.filter(pk__in=page), self.quarter)
            ).order_by(*self._order())
        )
        return [
            Row(brief=brief_of(s), state=o.state, full=s)
            for o, s in zip(outcomes, read_rows(outcomes), strict=True)
        ]


# --- overview --------------------------------------------------------------------------------


# The quarter's 達成進度 (against its milestones through Q3); an outcome stored before milestones
# has none until `rebuild_outcomes`, and counts with its annual rate as it did then.
JUDGED = Coalesce("progress", "rate")


@dataclass(frozen=True)
class GoalStanding:
    """A strategic goal's standing: its indicators' 達成進度 (against the quarter's milestones
    through Q3, the annual rate at Q4) weighted by their weights, each counted at most 100% so
    one indicator far above target cannot hide another's miss."""

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
    goals_total: int = 0
    goals_green: int = 0  # goals whose weighted achievement is green

    @property
    def count_pairs(self):
        return as_pairs(self.counts)


@dataclass
class Overview:
    scope: Scope
    year: int
    quarter: int
    total: int = 0
    counts: dict = field(default_factory=dict)
    goals: list[GoalStanding] = field(default_factory=list)
    attention: list[Row] = field(default_factory=list)
    attention_total: int = 0
    agencies: list[AgencyStanding] = field(default_factory=list)
    projected: int = 0
    # Where these figures are cached (None: not cached), for a caller caching what it derives
    # from them alone; it changes with the stored outcomes' version.
    cache_key: str | None = None

    @property
    def count_pairs(self):
        return as_pairs(self.counts)


def light_counts(rows) -> dict:
    counted = Counter(row.status for row in rows)
    return {light.value: counted.get(light, 0) for light in LIGHTS}


# One stored outcome of the overview, as `_lines` reads it.
AGENCY, GOAL, TITLE, WEIGHT, JUDGED_AT, STATUS, PROJECTED, INDICATOR, STATE = range(9)


def _lines(outcomes, quarter: int) -> list[tuple]:
    """Every outcome of the overview's quarter, in the goals' order, with what the counts, the
    goals and the attention list need of it: one pass over the ministry's outcomes (read from
    their covering index) instead of one per part, each of which read them all. One query."""
    return list(
        with_state(outcomes, quarter)
        .order_by("agency__code", "indicator__goal__order", "indicator__order", "indicator_id")
        .values_list(
            "agency_id",
            "indicator__goal_id",
            "indicator__goal__title",
            "indicator__weight",
            JUDGED,
            "status",
            "projected_status",
            "indicator_id",
            "state",
        )
    )


def _goals(lines, agencies: dict[int, Agency], year: int) -> list[GoalStanding]:
    """Every goal's standing from its indicators' stored rates and lights. One query (the
    policies)."""
    by_goal: dict[int, list] = {}
    for line in lines:
        by_goal.setdefault(line[GOAL], []).append(line)
    policies = achievement_policies(pairs={(agency_id, year) for agency_id in agencies})
    goals = []
    for goal_id, goal_lines in by_goal.items():
        agency_id, title = goal_lines[0][AGENCY], goal_lines[0][TITLE]
        weighted, weights = ZERO, ZERO
        for line in goal_lines:
            weight, rate = line[WEIGHT], line[JUDGED_AT]
            if rate is not None and weight:
                weighted += weight * min(rate, HUNDRED)
                weights += weight
        policy = policies[agency_id, year]
        rate = (
            round_decimal(weighted / weights, policy.decimals, policy.rounding) if weights else None
        )
        counted = Counter(line[STATUS] for line in goal_lines)
        goals.append(
            GoalStanding(
                goal_id=goal_id,
                title=title,
                agency=agencies[agency_id],
                rate=rate,
                status=status_for(rate, policy),
                evaluated=sum(1 for line in goal_lines if line[JUDGED_AT] is not None),
                total=len(goal_lines),
                counts={light.value: counted.get(light.value, 0) for light in LIGHTS},
            )
        )
    return goals


def _priority(line) -> int | None:
    """Why an indicator needs attention, the most urgent first: red (behind its milestone
    through Q3), returned, projected to miss, not entered; None if it does not."""
    if line[STATUS] == Status.RED:
        return 0
    if line[STATE] == Result.State.RETURNED:
        return 1
    if line[PROJECTED] in (Status.RED, Status.YELLOW):
        return 2
    if line[STATE] is None:
        return 3
    return None


def _attention(lines) -> list[tuple[int, str | None]]:
    """(indicator id, state of the quarter's result) of every indicator needing attention, the
    most urgent first, then the lowest 達成進度 (none first), then by indicator."""
    urgent = [(p, line) for line in lines if (p := _priority(line)) is not None]
    urgent.sort(
        key=lambda pair: (
            pair[0],
            pair[1][JUDGED_AT] is not None,
            pair[1][JUDGED_AT] or ZERO,
            pair[1][INDICATOR],
        )
    )
    return [(line[INDICATOR], line[STATE]) for _p, line in urgent]


# The cached figures change key with the outcomes' version; the timeout only frees the space
# of versions nobody asks for any more.
OVERVIEW_CACHE_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class _Figures:
    """What the overview computes from the quarter's outcomes, as plain values (agencies by
    id), so it can be cached and shared by the page and the API in any language."""

    per_agency: dict[int, dict]
    projected: int
    attention: list[tuple[int, str | None]]
    goals: list[tuple]  # GoalStanding's fields, the agency's id for the agency


def _figures(
    scope: Scope, year: int, quarter: int, unit: Unit | None, token
) -> tuple[_Figures, str | None]:
    """The overview's figures, from the cache when the stored outcomes have not been refreshed
    since they were computed (issue 16: a ministry's are computed from thousands of outcomes).
    No query when cached; three when not.

    `token` is the scope's version (`scope_version`), read with the scope before any outcome:
    the outcomes read after it are at least as new (a refresh commits both together), so a key
    never holds figures older than its version."""
    what = f"{sorted(scope.ids)}|{year}|{quarter}|{unit.pk if unit else ''}"
    key = versioned_key("overview", token, what)
    found = None if key is None else cache_get(key)
    if found is not None:
        return found, key
    outcomes = StoredOutcome.objects.filter(
        agency_id__in=scope.ids, year=year, through_quarter=quarter
    )
    if unit is not None:
        outcomes = outcomes.filter(indicator__responsible_unit=unit)
    lines = _lines(outcomes, quarter)
    per_agency: dict[int, dict] = {}
    projected = 0
    for line in lines:
        counts = per_agency.setdefault(line[AGENCY], dict.fromkeys([s.value for s in LIGHTS], 0))
        counts[line[STATUS]] += 1
        projected += line[PROJECTED] != ""
    figures = _Figures(
        per_agency=per_agency,
        projected=projected,
        attention=_attention(lines),
        goals=[
            (
                g.goal_id,
                g.title,
                g.agency.pk,
                g.rate,
                g.status.value,
                g.evaluated,
                g.total,
                g.counts,
            )
            for g in _goals(lines, {a.pk: a for a in scope.agencies}, year)
        ],
    )
    if key is not None:
        cache_set(key, figures, OVERVIEW_CACHE_SECONDS)
    return figures, key


def overview(scope: Scope, year: int, quarter: int, *, unit: Unit | None = None, token) -> Overview:
    """Counts per light and agency, goals, and the indicators needing attention, from one read
    of the quarter's outcomes (cached per version of the outcomes); only the attention list
    shown is read in full. Three queries when cached, six when not, for an agency as for a
    ministry (with the scope's read, which brings `token`, the outcomes' version)."""
    figures, key = _figures(scope, year, quarter, unit, token)
    agencies = {a.pk: a for a in scope.agencies}
    per_agency = figures.per_agency
    counts = {light.value: sum(c[light.value] for c in per_agency.values()) for light in LIGHTS}
    attention = figures.attention
    shown = dict(attention[:ATTENTION_SHOWN])
    full = stored_for_indicators(ids=list(shown), through_quarter=quarter)
    goals = [
        GoalStanding(
            goal_id=goal_id,
            title=title,
            agency=agencies[agency_id],
            rate=rate,
            status=Status(status),
            evaluated=evaluated,
            total=total,
            counts=goal_counts,
        )
        for goal_id, title, agency_id, rate, status, evaluated, total, goal_counts in figures.goals
    ]
    goals_of = Counter(g.agency.pk for g in goals)
    green_goals_of = Counter(g.agency.pk for g in goals if g.status is Status.GREEN)
    return Overview(
        scope=scope,
        year=year,
        quarter=quarter,
        total=sum(counts.values()),
        counts=counts,
        goals=goals,
        attention=[
            Row(brief=brief_of(s), state=shown[s.achievement.indicator.pk], full=s)
            for s in sorted(full, key=lambda s: list(shown).index(s.achievement.indicator.pk))
        ],
        attention_total=len(attention),
        agencies=[
            AgencyStanding(
                a,
                per_agency[a.pk],
                sum(per_agency[a.pk].values()),
                goals_total=goals_of[a.pk],
                goals_green=green_goals_of[a.pk],
            )
            for a in scope.agencies
            if a.pk in per_agency
        ],
        projected=figures.projected,
        cache_key=key,
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
    judgement: QuarterJudgement | None = None  # against the quarter's milestone (Q4: target)


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
    parts: list[TargetPart]  # the indicator's target parts, in their order


def indicator_outcomes(*, agency: Agency, code: str) -> dict[int, list[Stored]]:
    """The stored outcomes of the agency's indicator `code` by year, oldest year first. Two
    queries, whatever the number of years."""
    by_year: dict[int, list[Stored]] = {}
    for s in stored_for_code(agency_id=agency.pk, code=code):
        by_year.setdefault(s.achievement.indicator.goal.year, []).append(s)
    return by_year


def indicator_page(*, by_year: dict[int, list[Stored]], year: int) -> IndicatorPage:
    """The indicator in `year` through each quarter, and its outcome in every year. Two
    queries (the target parts, the narrative).

    Both in an order of their own: their models' orderings begin with the indicator, whose
    own ordering joins its goal and agency to a query that needs neither (a result's quarter
    is unique to its indicator)."""
    trend = []
    for y, stored in by_year.items():
        entered = [s for s in stored if s.entered]
        if entered:
            trend.append(Point(y, entered[-1].quarter, entered[-1].achievement.outcome))
    stored = by_year[year]
    quarterly = [
        Point(year, s.quarter, s.achievement.outcome, s.judgement) for s in stored if s.entered
    ]
    latest = next((s for s in reversed(stored) if s.entered), None)
    indicator = stored[0].achievement.indicator
    result = None
    if latest is not None:
        found = _NARRATIVE(indicator.pk, latest.quarter, indicator.goal.agency.second_review)
        if found:
            result = model_from_row(Result, found[0])
    return IndicatorPage(
        indicator=indicator,
        year=year,
        quarter=latest.quarter if latest else FULL_YEAR,
        quarterly=quarterly,
        trend=trend,
        projection=latest.projection if latest else None,
        result=result,
        policy=stored[0].policy,
        parts=[model_from_row(TargetPart, values) for values in _PARTS(indicator.pk)],
    )


# The page's narrative and target parts, every column in the model's order (what `from_db`
# takes): read on every build of an indicator's page (issue 16), their SQL built once
# (kpitrack.core.prepared).
_NARRATIVE = Prepared(
    lambda indicator_id, quarter, second_review: (
        Result.objects.filter(
            approved_results_q(second_review=second_review),
            indicator_id=indicator_id,
            quarter=quarter,
        )
        .order_by("pk")
        .values_list(*model_columns(Result))[:1]
    )
)
_PARTS = Prepared(
    lambda indicator_id: (
        TargetPart.objects.filter(indicator_id=indicator_id)
        .order_by("order", "id")
        .values_list(*model_columns(TargetPart))
    )
)
