"""A quarter judged as Taiwan's 管考 judges it: against that quarter's planned progress
(分季目標 / 預定進度), not against the whole year's target.

Each target part has a planned value for quarters 1-3, cumulative to the quarter; quarter 4's is
the annual target itself. Where the planning office set none, the default is derived, never
stored: for figures summed or accumulated over the year (counts, lower-is-better counts and the
parts of multi-part and weighted indicators, aggregated by sum or by latest cumulative figure) the
target pro rata, target × q/4, at the target's own precision; for anything else (rates, ratios,
growth, averages, ordinal codes, ratings, custom formulas) the annual target itself.

The quarter's 達成進度 is the engine's achievement computed with each part's milestone in place of
its target, so every method keeps its own rule: a lower-is-better milestone is a ceiling, a
rating is met or not, a multi-part indicator is as far along as its slowest part. Pure Python on
Decimal, like `achievement`.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from enum import StrEnum

from kpitrack.core.engine.achievement import (
    DEFAULT_POLICY,
    HUNDRED,
    Aggregation,
    Method,
    Outcome,
    Policy,
    Rounding,
    Spec,
    evaluate,
    raw_rate,
    round_decimal,
)
from kpitrack.core.engine.calendar import FULL_YEAR, is_valid_quarter
from kpitrack.core.engine.formula import DECIMAL_CONTEXT

# Quarters with a planned value of their own; the fourth is judged against the annual target.
PLANNED_QUARTERS = (1, 2, 3)

# Methods whose figure grows over the year as things are done (or, lower-is-better, happen).
_ACCUMULATING_METHODS = frozenset({Method.COUNT, Method.LOWER, Method.MULTI, Method.WEIGHTED})
_ACCUMULATING_AGGREGATIONS = frozenset({Aggregation.SUM, Aggregation.LATEST})

# A planned value, for each part key, for each planned quarter (missing: the default).
Planned = Mapping[str, Mapping[int, Decimal | None]]


class Basis(StrEnum):
    MILESTONE = "milestone"  # quarters 1-3: the quarter's planned value
    ANNUAL = "annual"  # quarter 4: the annual target


class Pace(StrEnum):
    AHEAD = "ahead"  # 超前進度 (Q4: 超越目標)
    ON = "on"  # 符合進度 (Q4: 達成目標)
    BEHIND = "behind"  # 落後進度 (Q4: 未達目標)
    UNKNOWN = "unknown"  # cannot be computed


@dataclass(frozen=True)
class Milestone:
    """A part's planned value through a quarter; `default` when derived rather than set."""

    key: str
    value: Decimal | None
    default: bool


@dataclass(frozen=True)
class Judgement:
    """A quarter judged against its milestones (Q1-Q3) or the annual target (Q4).

    `outcome` is the engine's outcome against the milestones: its rate is the 達成進度, its status
    the quarter's light. `annual` is the outcome against the annual target, shown beside it."""

    quarter: int
    basis: Basis
    milestones: tuple[Milestone, ...]
    outcome: Outcome
    annual: Outcome
    pace: Pace

    @property
    def behind(self) -> bool:
        """Behind the milestone (Q4: short of the target): 未達成原因 and 改善措施 are due."""
        return self.pace is Pace.BEHIND


def accumulates(method: Method | str, aggregation: Aggregation | str) -> bool:
    """Whether the year's figure is summed or accumulated over the quarters, so that a quarter's
    default milestone is the target pro rata."""
    return Method(method) in _ACCUMULATING_METHODS and (
        Aggregation(aggregation) in _ACCUMULATING_AGGREGATIONS
    )


def _decimals(target: Decimal) -> int:
    """The places the target is written with, whatever scale storage gave it: 90.0000 -> 0."""
    # In the engine's context, not the caller's: a context of fewer digits than the target
    # rounds it as it normalizes (12345678.5 at three digits: 1.23E+7, no decimals).
    exponent = target.normalize(DECIMAL_CONTEXT).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def default_milestone(
    method: Method | str,
    aggregation: Aggregation | str,
    target: Decimal | None,
    quarter: int,
    rounding: Rounding = Rounding.HALF_UP,
) -> Decimal | None:
    """The milestone through `quarter` when none is set: target × quarter/4 at the target's own
    precision (rounded as `rounding` says) for accumulated figures, else the target itself."""
    if not is_valid_quarter(quarter):
        raise ValueError(f"quarter must be 1-4, not {quarter!r}")
    if target is None or quarter == FULL_YEAR or not accumulates(method, aggregation):
        return target
    with localcontext(DECIMAL_CONTEXT):
        share = target * quarter / FULL_YEAR
    return round_decimal(share, _decimals(target), rounding)


def milestones_for(
    spec: Spec, planned: Planned, quarter: int, rounding: Rounding = Rounding.HALF_UP
) -> tuple[Milestone, ...]:
    """Each target part's milestone through `quarter`: the planned value where one is set for
    Q1-Q3, else the default; Q4's is the annual target."""
    answer = []
    for part in spec.parts:
        value = None
        if quarter in PLANNED_QUARTERS:
            value = (planned.get(part.key) or {}).get(quarter)
        if value is not None:
            answer.append(Milestone(part.key, value, default=False))
        else:
            value = default_milestone(spec.method, spec.aggregation, part.target, quarter, rounding)
            answer.append(Milestone(part.key, value, default=quarter != FULL_YEAR))
    return tuple(answer)


def milestone_spec(spec: Spec, milestones: tuple[Milestone, ...]) -> Spec:
    """`spec` with each part's target replaced by its milestone."""
    by_key = {m.key: m.value for m in milestones}
    parts = tuple(replace(p, target=by_key.get(p.key, p.target)) for p in spec.parts)
    return replace(spec, parts=parts)


def pace_of(raw_rate: Decimal | None) -> Pace:
    """Where an unrounded 達成進度 stands: below 100% behind, at 100% on, above it ahead."""
    if raw_rate is None:
        return Pace.UNKNOWN
    if raw_rate < HUNDRED:
        return Pace.BEHIND
    return Pace.ON if raw_rate == HUNDRED else Pace.AHEAD


def judge(
    spec: Spec,
    quarters: Mapping[int, Mapping[str, Decimal | None]],
    *,
    through_quarter: int,
    planned: Planned | None = None,
    previous: Mapping[str, Decimal | None] | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> Judgement:
    """The quarter's judgement: Q1-Q3 against the milestones (planned, or the defaults), Q4
    against the annual target, with the annual outcome beside it."""
    annual = evaluate(
        spec, quarters, through_quarter=through_quarter, previous=previous, policy=policy
    )
    milestones = milestones_for(spec, planned or {}, through_quarter, policy.rounding)
    if through_quarter == FULL_YEAR:
        outcome, basis = annual, Basis.ANNUAL
    else:
        outcome = evaluate(
            milestone_spec(spec, milestones),
            quarters,
            through_quarter=through_quarter,
            previous=previous,
            policy=policy,
        )
        basis = Basis.MILESTONE
    return Judgement(
        quarter=through_quarter,
        basis=basis,
        milestones=milestones,
        outcome=outcome,
        annual=annual,
        pace=pace_of(outcome.raw_rate),
    )


def progress_raw_rate(
    spec: Spec,
    quarters: Mapping[int, Mapping[str, Decimal | None]],
    *,
    through_quarter: int,
    planned: Planned | None = None,
    previous: Mapping[str, Decimal | None] | None = None,
    rounding: Rounding = Rounding.HALF_UP,
) -> Decimal | None:
    """`judge(...).outcome.raw_rate` without wording or rounding anything: for the check that
    runs over every row of a large import."""
    if through_quarter != FULL_YEAR:
        spec = milestone_spec(spec, milestones_for(spec, planned or {}, through_quarter, rounding))
    return raw_rate(spec, quarters, through_quarter=through_quarter, previous=previous)
