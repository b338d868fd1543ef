"""Stored outcomes, read: what dashboards show of `performance.models.Outcome`, with a fixed
number of queries whatever the number of agencies, indicators or years.

What is stored is policy-free (the engine's unrounded value and rate, per part too, the reason a
figure cannot be computed, what the document printed and whether it matches, the pro rata
year-end projection of flow indicators); reading applies the agency's policy of that year
(rounding, lights). The rows are written by `performance.services.outcomes`."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from budget.models import Agency, Unit
from budget.selectors import achievement_policies
from kpitrack.core.engine.achievement import (
    Outcome as EngineOutcome,
)
from kpitrack.core.engine.achievement import (
    PartOutcome,
    Policy,
    Reason,
    Status,
    round_decimal,
    status_for,
)
from kpitrack.core.prepared import Prepared, model_columns, model_from_row

from .judgements import QuarterJudgement, judgement_of_stored
from .models import Indicator, Outcome, StrategicGoal
from .reasons import reason_message
from .selectors import Achievement, PartRow


def number(text: str | None) -> Decimal | None:
    """A stored figure (text, so JSON keeps every digit) as a Decimal."""
    return None if text is None else Decimal(text)


def rounded(value: Decimal | None, policy: Policy) -> Decimal | None:
    """`value` rounded as `policy` says."""
    return None if value is None else round_decimal(value, policy.decimals, policy.rounding)


@dataclass(frozen=True)
class Projection:
    """Year-end figures projected pro rata from the quarters so far; never an actual."""

    value: Decimal | None
    rate: Decimal | None
    status: Status
    parts: tuple[PartOutcome, ...]


@dataclass(frozen=True)
class Stored:
    """A stored outcome read with its agency's policy of that year."""

    achievement: Achievement
    projection: Projection | None
    quarter: int
    entered: bool  # approved figures exist for exactly this quarter
    policy: Policy
    # Q1-Q3 against the quarter's milestones, Q4 against the annual target: the light shown.
    judgement: QuarterJudgement


def _engine_reason(data) -> Reason | None:
    return None if data is None else Reason(data[0], data[1], tuple(data[2]), data[3])


def _part_outcomes(parts: list[dict], policy: Policy) -> tuple[PartOutcome, ...]:
    return tuple(
        PartOutcome(
            key=p["key"],
            label=p["label"],
            unit=p["unit"],
            target=number(p["target"]),
            value=rounded(number(p["value"]), policy),
            rate=rounded(number(p["rate"]), policy),
            raw_rate=number(p["rate"]),
            reason=_engine_reason(p["reason"]),
        )
        for p in parts
    )


def outcome_of(data: dict, policy: Policy) -> EngineOutcome:
    """The engine's Outcome as `evaluate` gives it under `policy`."""
    raw_rate = number(data["rate"])
    rate = rounded(raw_rate, policy)
    return EngineOutcome(
        value=rounded(number(data["value"]), policy),
        rate=rate,
        raw_value=number(data["value"]),
        raw_rate=raw_rate,
        status=status_for(rate, policy),
        reason=_engine_reason(data["reason"]) if rate is None else None,
        parts=_part_outcomes(data["parts"], policy),
        inputs={key: number(value) for key, value in data["inputs"].items()},
    )


def stored_of(row: Outcome, policy: Policy) -> Stored:
    return _stored(row.indicator, row.data, row.through_quarter, row.entered, policy)


def _stored(indicator: Indicator, data: dict, through_quarter: int, entered: bool, policy):
    outcome = outcome_of(data, policy)
    labels = data["labels"]
    parts = tuple(
        PartRow(
            key=p.key,
            label=p.label,
            unit=p.unit,
            target=p.target,
            value=p.value,
            rate=p.rate,
            published_rate=number(stored["published"]),
            mismatch=stored["mismatch"],
            reason=reason_message(p.reason, labels),
        )
        for p, stored in zip(outcome.parts, data["parts"], strict=True)
    )
    projected = data["projection"]
    projection = None
    if projected is not None:
        rate = rounded(number(projected["rate"]), policy)
        projection = Projection(
            value=rounded(number(projected["value"]), policy),
            rate=rate,
            status=status_for(rate, policy),
            parts=_part_outcomes(projected["parts"], policy),
        )
    achievement = Achievement(
        indicator=indicator,
        outcome=outcome,
        result=None,
        parts=parts,
        reason=reason_message(outcome.reason, labels),
        published_rate=number(data["published"]),
        published_basis=data["basis"],
        mismatch=data["mismatch"],
        previous_year_used=data["previous"],
    )
    judgement = judgement_of_stored(data, through_quarter, outcome, policy)
    return Stored(achievement, projection, through_quarter, entered, policy, judgement)


def with_related(queryset):
    """`queryset` of outcomes with what `read_rows` needs of their indicators, in one query."""
    return queryset.select_related("indicator__goal__agency", "indicator__responsible_unit")


def read_rows(rows: list[Outcome]) -> list[Stored]:
    """Outcome rows read (`with_related`), in their order, with their policies. One query."""
    policies = achievement_policies(
        pairs={(r.indicator.goal.agency_id, r.indicator.goal.year) for r in rows}
    )
    return [stored_of(r, policies[r.indicator.goal.agency_id, r.indicator.goal.year]) for r in rows]


# The order outcomes are read in: by agency, year, goal and indicator, then quarter.
_ORDER = (
    "indicator__goal__agency__code",
    "indicator__goal__year",
    "indicator__goal__order",
    "indicator__order",
    "indicator_id",
    "through_quarter",
)


def _read(queryset) -> list[Stored]:
    return read_rows(list(with_related(queryset).order_by(*_ORDER)))


def stored_for_year(*, agency_ids: Iterable[int], year: int, through_quarter: int) -> list[Stored]:
    """Every indicator of the agencies in `year` through the quarter. Two queries."""
    return _read(
        Outcome.objects.filter(
            agency_id__in=list(agency_ids), year=year, through_quarter=through_quarter
        )
    )


def stored_for_indicators(*, ids: Iterable[int], through_quarter: int) -> list[Stored]:
    """The given indicators through the quarter (a page of a table). Two queries."""
    return _read(
        Outcome.objects.filter(indicator_id__in=list(ids), through_quarter=through_quarter)
    )


@dataclass(frozen=True)
class Brief:
    """What lists, counts and sorting need of a stored outcome, read without building the
    indicator, its goal and agency as model objects (a ministry has thousands)."""

    indicator_id: int
    goal_id: int
    agency_id: int
    unit_id: int | None
    weight: Decimal
    rate: Decimal | None  # the annual achievement rate
    status: Status  # the quarter's light: of `progress`
    projected_rate: Decimal | None
    projected_status: Status | None
    name: str
    unit_name: str
    goal_title: str
    agency_name: str
    policy: Policy
    progress: Decimal | None = None  # 達成進度: against the milestones (Q1-Q3), else the rate


def brief_of(stored: Stored) -> Brief:
    """The brief of an outcome already read in full."""
    a, projection = stored.achievement, stored.projection
    indicator = a.indicator
    return Brief(
        indicator_id=indicator.pk,
        goal_id=indicator.goal_id,
        agency_id=indicator.goal.agency_id,
        unit_id=indicator.responsible_unit_id,
        weight=indicator.weight,
        rate=a.outcome.rate,
        status=stored.judgement.status,
        projected_rate=None if projection is None else projection.rate,
        projected_status=None if projection is None else projection.status,
        name=indicator.name,
        unit_name=indicator.responsible_unit.name if indicator.responsible_unit else "",
        goal_title=indicator.goal.title,
        agency_name=indicator.goal.agency.name,
        policy=stored.policy,
        progress=stored.judgement.progress,
    )


# What `with_related` reads with an outcome: its indicator, goal, agency and unit, every column
# in the model's order (what `from_db` takes).
_RELATED = (
    (Indicator, "indicator__"),
    (StrategicGoal, "indicator__goal__"),
    (Agency, "indicator__goal__agency__"),
    (Unit, "indicator__responsible_unit__"),
)
_RELATED_COLUMNS = tuple(name for model, path in _RELATED for name in model_columns(model, path))
_GOAL = Indicator._meta.get_field("goal")
_AGENCY = StrategicGoal._meta.get_field("agency")
_UNIT = Indicator._meta.get_field("responsible_unit")


# An indicator code's outcomes as plain rows with their indicators' columns: every build of an
# indicator's page reads them (issue 16), a dozen rows whose select_related SQL cost more to
# build than to run, and five model objects each for one indicator a year. Built once
# (kpitrack.core.prepared); each year's indicator is made once.
_FOR_CODE = Prepared(
    lambda agency_id, code: (
        Outcome.objects.filter(indicator__goal__agency_id=agency_id, indicator__code=code)
        .order_by(*_ORDER)
        .values_list("data", "through_quarter", "entered", *_RELATED_COLUMNS)
    )
)


def _indicator_of(columns) -> Indicator:
    """The indicator of an outcome's row, with its goal, agency and unit (or None) cached on it,
    as `with_related` reads them."""
    made = []
    start = 0
    for model, _path in _RELATED:
        values = columns[start : start + len(model._meta.concrete_fields)]
        start += len(values)
        made.append(None if values[0] is None else model_from_row(model, values))
    indicator, goal, agency, unit = made
    _GOAL.set_cached_value(indicator, goal)
    _AGENCY.set_cached_value(goal, agency)
    _UNIT.set_cached_value(indicator, unit)
    return indicator


def stored_for_code(*, agency_id: int, code: str) -> list[Stored]:
    """An indicator code's outcomes in every year and quarter, oldest first. Two queries."""
    rows = _FOR_CODE(agency_id, code)
    indicators: dict[int, Indicator] = {}
    for row in rows:
        if row[3] not in indicators:
            indicators[row[3]] = _indicator_of(row[3:])
    policies = achievement_policies(
        pairs={(i.goal.agency_id, i.goal.year) for i in indicators.values()}
    )
    stored = []
    for data, through_quarter, entered, indicator_id, *_columns in rows:
        indicator = indicators[indicator_id]
        policy = policies[indicator.goal.agency_id, indicator.goal.year]
        stored.append(_stored(indicator, data, through_quarter, entered, policy))
    return stored
