"""Stored outcomes: every indicator's outcome through each quarter, computed from approved
figures when something it depends on is written, read by dashboards with a fixed number of
queries whatever the number of agencies, indicators or years.

What is stored is policy-free: the engine's unrounded value and rate, per part too, the reason a
figure cannot be computed, what the document printed and whether it matches, and the pro rata
year-end projection of flow indicators. Reading applies the agency's policy of that year
(rounding, lights), so `achievement_policy_set` needs no refresh.

An indicator's outcome depends on its definition and targets, its approved figures, and (for
growth and `prev()` formulas) last year's figures of the same code: `refresh` recomputes every
indicator of the (agency, year) pairs given, and the services pass the pair written and the
year after it."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models.fields.json import KT

from budget.selectors import achievement_policies
from kpitrack.core.engine.achievement import (
    DEFAULT_POLICY,
    Aggregation,
    Method,
    PartOutcome,
    Policy,
    Reason,
    Status,
    aggregate_inputs,
    evaluate,
    round_decimal,
    status_for,
)
from kpitrack.core.engine.achievement import (
    Outcome as EngineOutcome,
)
from kpitrack.core.engine.calendar import FULL_YEAR, QUARTERS

from .models import Indicator, Outcome, StrategicGoal
from .reasons import reason_message
from .selectors import (
    Achievement,
    PartRow,
    achievement_of,
    indicator_spec,
    indicators_for_years,
    previous_inputs,
    quarters_of,
)

# Methods whose year-end figure is the sum of flows, so the quarters so far extrapolate pro rata.
FLOW_METHODS = frozenset({Method.COUNT, Method.LOWER, Method.MULTI, Method.WEIGHTED})


# --- computing -------------------------------------------------------------------------------


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _number(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _reason(reason: Reason | None):
    if reason is None:
        return None
    return [reason.code, reason.key, list(reason.quarters), reason.detail]


def _project(spec, quarters, through_quarter: int) -> EngineOutcome | None:
    """The year-end outcome if each remaining quarter repeats the average of those so far: only
    for flows (counts summed over quarters), before the year is over, with no quarter missing."""
    if through_quarter >= FULL_YEAR or spec.aggregation is not Aggregation.SUM:
        return None
    if spec.method not in FLOW_METHODS:
        return None
    so_far = aggregate_inputs(spec, quarters, through_quarter)
    if not so_far or any(value is None for value in so_far.values()):
        return None
    filled = {q: quarters[q] for q in range(1, through_quarter + 1)}
    for q in range(through_quarter + 1, FULL_YEAR + 1):
        filled[q] = {key: total / through_quarter for key, total in so_far.items()}
    outcome = evaluate(spec, filled, through_quarter=FULL_YEAR, policy=DEFAULT_POLICY)
    return None if outcome.raw_rate is None else outcome


def _part_values(outcome: EngineOutcome, single: bool) -> dict[str, Decimal | None]:
    """Unrounded part values: a single part's is the measured value, otherwise the part's own
    aggregated figure."""
    if single:
        return {p.key: outcome.raw_value for p in outcome.parts}
    return {p.key: outcome.inputs.get(p.key) for p in outcome.parts}


def _parts_data(outcome: EngineOutcome, rows: tuple[PartRow, ...] = ()) -> list[dict]:
    single = len(outcome.parts) == 1
    values = _part_values(outcome, single)
    printed = {row.key: row for row in rows}
    return [
        {
            "key": p.key,
            "label": p.label,
            "unit": p.unit,
            "target": _text(p.target),
            "value": _text(values[p.key]),
            "rate": _text(p.raw_rate),
            "reason": _reason(p.reason),
            "published": _text(printed[p.key].published_rate) if p.key in printed else None,
            "mismatch": printed[p.key].mismatch if p.key in printed else None,
        }
        for p in outcome.parts
    ]


def compute(indicator: Indicator, last_year: Indicator | None, policy: Policy) -> list[Outcome]:
    """The indicator's unsaved Outcome rows, one per quarter, with lights under `policy`; needs
    what `indicators_for_years` prefetches (approved results only)."""
    spec = indicator_spec(indicator)
    quarters = quarters_of(indicator)
    previous = previous_inputs(last_year)
    labels = indicator.labels()
    rows = []
    for q in QUARTERS:
        outcome = evaluate(
            spec, quarters, through_quarter=q, previous=previous, policy=DEFAULT_POLICY
        )
        achievement = achievement_of(indicator, outcome, q, previous is not None)
        projection = _project(spec, quarters, q)
        data = {
            "value": _text(outcome.raw_value),
            "rate": _text(outcome.raw_rate),
            "reason": _reason(outcome.reason),
            "parts": _parts_data(outcome, achievement.parts),
            "inputs": {key: _text(value) for key, value in outcome.inputs.items()},
            "labels": labels,
            "published": _text(achievement.published_rate),
            "basis": achievement.published_basis,
            "mismatch": achievement.mismatch,
            "previous": previous is not None,
            "projection": None
            if projection is None
            else {
                "value": _text(projection.raw_value),
                "rate": _text(projection.raw_rate),
                "parts": _parts_data(projection),
            },
        }
        rate = _round(outcome.raw_rate, policy)
        projected = None if projection is None else _round(projection.raw_rate, policy)
        rows.append(
            Outcome(
                indicator=indicator,
                agency_id=indicator.goal.agency_id,
                year=indicator.goal.year,
                through_quarter=q,
                entered=q in quarters,
                status=status_for(rate, policy).value,
                rate=rate,
                projected_status="" if projection is None else status_for(projected, policy).value,
                data=data,
            )
        )
    return rows


@transaction.atomic
def refresh(*, pairs: Iterable[tuple[int, int]]):
    """Recompute the stored outcomes of every indicator of each (agency_id, year)."""
    by_year: dict[int, set[int]] = defaultdict(set)
    for agency_id, year in pairs:
        by_year[year].add(agency_id)
    for year, agency_ids in sorted(by_year.items()):
        indicators = [
            i for i in indicators_for_years(years=[year - 1, year], agency_ids=agency_ids)
        ]
        last_years = {(i.goal.agency_id, i.code): i for i in indicators if i.goal.year < year}
        policies = achievement_policies(pairs={(agency_id, year) for agency_id in agency_ids})
        Outcome.objects.filter(year=year, agency_id__in=agency_ids).delete()
        Outcome.objects.bulk_create(
            row
            for i in indicators
            if i.goal.year == year
            for row in compute(
                i, last_years.get((i.goal.agency_id, i.code)), policies[i.goal.agency_id, year]
            )
        )


def policy_changed(*, agency_id: int, year: int):
    """An agency's policy of `year` holds for the later years without their own: the lights of
    all of them are stored again."""
    years = StrategicGoal.objects.filter(agency_id=agency_id, year__gte=year).values_list(
        "year", flat=True
    )
    refresh(pairs={(agency_id, y) for y in set(years)})


def pairs_after(indicators: Iterable[Indicator]) -> set[tuple[int, int]]:
    """The (agency_id, year) pairs an indicator's change reaches: its own year and the next,
    whose growth and prev() read this year's figures."""
    pairs = set()
    for indicator in indicators:
        goal = indicator.goal
        pairs |= {(goal.agency_id, goal.year), (goal.agency_id, goal.year + 1)}
    return pairs


def forget(*, indicator_id: int):
    """An indicator about to move to another goal: its stored outcomes are kept under its old
    agency and year, where the refresh of the new year would not find them to replace."""
    Outcome.objects.filter(indicator_id=indicator_id).delete()


def refresh_for(*indicators: Indicator):
    refresh(pairs=pairs_after(indicators))


def rebuild() -> int:
    """Every stored outcome recomputed from scratch; the number of rows written."""
    pairs = set(StrategicGoal.objects.values_list("agency_id", "year").distinct())
    Outcome.objects.all().delete()
    refresh(pairs=pairs)
    return Outcome.objects.count()


# --- reading ---------------------------------------------------------------------------------


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


def _round(value: Decimal | None, policy: Policy) -> Decimal | None:
    return None if value is None else round_decimal(value, policy.decimals, policy.rounding)


def _engine_reason(data) -> Reason | None:
    return None if data is None else Reason(data[0], data[1], tuple(data[2]), data[3])


def _part_outcomes(parts: list[dict], policy: Policy) -> tuple[PartOutcome, ...]:
    return tuple(
        PartOutcome(
            key=p["key"],
            label=p["label"],
            unit=p["unit"],
            target=_number(p["target"]),
            value=_round(_number(p["value"]), policy),
            rate=_round(_number(p["rate"]), policy),
            raw_rate=_number(p["rate"]),
            reason=_engine_reason(p["reason"]),
        )
        for p in parts
    )


def outcome_of(data: dict, policy: Policy) -> EngineOutcome:
    """The engine's Outcome as `evaluate` gives it under `policy`."""
    raw_rate = _number(data["rate"])
    rate = _round(raw_rate, policy)
    return EngineOutcome(
        value=_round(_number(data["value"]), policy),
        rate=rate,
        raw_value=_number(data["value"]),
        raw_rate=raw_rate,
        status=status_for(rate, policy),
        reason=_engine_reason(data["reason"]) if rate is None else None,
        parts=_part_outcomes(data["parts"], policy),
        inputs={key: _number(value) for key, value in data["inputs"].items()},
    )


def stored_of(row: Outcome, policy: Policy) -> Stored:
    data = row.data
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
            published_rate=_number(stored["published"]),
            mismatch=stored["mismatch"],
            reason=reason_message(p.reason, labels),
        )
        for p, stored in zip(outcome.parts, data["parts"], strict=True)
    )
    projected = data["projection"]
    projection = None
    if projected is not None:
        rate = _round(_number(projected["rate"]), policy)
        projection = Projection(
            value=_round(_number(projected["value"]), policy),
            rate=rate,
            status=status_for(rate, policy),
            parts=_part_outcomes(projected["parts"], policy),
        )
    achievement = Achievement(
        indicator=row.indicator,
        outcome=outcome,
        result=None,
        parts=parts,
        reason=reason_message(outcome.reason, labels),
        published_rate=_number(data["published"]),
        published_basis=data["basis"],
        mismatch=data["mismatch"],
        previous_year_used=data["previous"],
    )
    return Stored(achievement, projection, row.through_quarter, row.entered, policy)


def _read(queryset) -> list[Stored]:
    rows = list(
        queryset.select_related("indicator__goal__agency", "indicator__responsible_unit").order_by(
            "indicator__goal__agency__code",
            "indicator__goal__year",
            "indicator__goal__order",
            "indicator__order",
            "indicator_id",
            "through_quarter",
        )
    )
    policies = achievement_policies(
        pairs={(r.indicator.goal.agency_id, r.indicator.goal.year) for r in rows}
    )
    return [stored_of(r, policies[r.indicator.goal.agency_id, r.indicator.goal.year]) for r in rows]


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
    rate: Decimal | None
    status: Status
    projected_rate: Decimal | None
    projected_status: Status | None
    name: str
    unit_name: str
    goal_title: str
    agency_name: str
    policy: Policy


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
        status=a.outcome.status,
        projected_rate=None if projection is None else projection.rate,
        projected_status=None if projection is None else projection.status,
        name=indicator.name,
        unit_name=indicator.responsible_unit.name if indicator.responsible_unit else "",
        goal_title=indicator.goal.title,
        agency_name=indicator.goal.agency.name,
        policy=stored.policy,
    )


def briefs_for_year(
    *, agency_ids: Iterable[int], year: int, through_quarter: int, unit_id: int | None = None
) -> list[Brief]:
    """Every indicator of the agencies (or of one unit) in `year` through the quarter, briefly.
    Two queries."""
    agency_ids = list(agency_ids)
    outcomes = Outcome.objects.filter(
        agency_id__in=agency_ids, year=year, through_quarter=through_quarter
    )
    if unit_id is not None:
        outcomes = outcomes.filter(indicator__responsible_unit_id=unit_id)
    rows = outcomes.order_by(
        "agency__code", "indicator__goal__order", "indicator__order", "indicator_id"
    ).values_list(
        "indicator_id",
        "indicator__goal_id",
        "agency_id",
        "indicator__responsible_unit_id",
        "indicator__weight",
        KT("data__rate"),
        KT("data__projection__rate"),
        "indicator__name",
        "indicator__responsible_unit__name",
        "indicator__goal__title",
        "agency__name",
    )
    policies = achievement_policies(pairs={(agency_id, year) for agency_id in agency_ids})
    briefs = []
    for i, goal, agency, unit, weight, raw, projected, name, unit_name, title, agency_name in rows:
        policy = policies[agency, year]
        # SQLite's ->> gives the text "null" for a JSON null where PostgreSQL gives NULL.
        raw, projected = (None if x in (None, "null") else x for x in (raw, projected))
        rate = _round(_number(raw), policy)
        projected_rate = _round(_number(projected), policy)
        briefs.append(
            Brief(
                indicator_id=i,
                goal_id=goal,
                agency_id=agency,
                unit_id=unit,
                weight=weight,
                rate=rate,
                status=status_for(rate, policy),
                projected_rate=projected_rate,
                projected_status=None if projected is None else status_for(projected_rate, policy),
                name=name,
                unit_name=unit_name or "",
                goal_title=title,
                agency_name=agency_name,
                policy=policy,
            )
        )
    return briefs


def stored_for_code(*, agency_id: int, code: str) -> list[Stored]:
    """An indicator code's outcomes in every year and quarter, oldest first. Two queries."""
    return _read(Outcome.objects.filter(indicator__goal__agency_id=agency_id, indicator__code=code))


def _on_policy_write(sender, instance, **kwargs):
    policy_changed(agency_id=instance.agency_id, year=instance.year)


def connect_policy_signals():
    """Policies are written by budget.services, which may not call into performance (the import
    contract keeps budget below it), so performance listens for their saves and deletions."""
    from django.db.models.signals import post_delete, post_save

    from budget.models import AchievementPolicy

    for signal in (post_save, post_delete):
        signal.connect(
            _on_policy_write, sender=AchievementPolicy, dispatch_uid=f"outcomes-{signal}"
        )
