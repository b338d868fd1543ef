"""Stored outcomes, written: every indicator's outcome through each quarter, computed from
approved figures after a transaction that wrote something it depends on commits.

An indicator's outcome depends on its definition and targets, its approved figures (which
results are final depends on the agency's 複核 setting), and, for growth and `prev()` formulas,
last year's figures of the same code; its lights on the agency's policy of that year, which
holds for later years without their own. No service refreshes by hand: each model below says
what a save or delete of one of its rows touches (`writes.scope`), kpitrack.core.writes records
it for the transaction, and `refresh_touched` recomputes what was touched, once, on commit:
a whole (agency, year) where a goal, an indicator's place, a policy or the agency changed, and
only the indicator and its next year's namesakes where its figures, targets or inputs did. The
dashboards read the rows through `performance.outcome_reads`."""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from budget.models import AchievementPolicy, Agency, Unit
from budget.selectors import achievement_policies
from kpitrack.core import writes
from kpitrack.core.engine.achievement import (
    DEFAULT_POLICY,
    Aggregation,
    Method,
    Policy,
    Reason,
    aggregate_inputs,
    evaluate,
    status_for,
)
from kpitrack.core.engine.achievement import (
    Outcome as EngineOutcome,
)
from kpitrack.core.engine.calendar import FULL_YEAR, QUARTERS
from kpitrack.core.engine.milestones import Judgement, Planned, judge

from ..models import (
    AgencyOutcomesVersion,
    Indicator,
    IndicatorInput,
    Milestone,
    Outcome,
    Result,
    ResultFigure,
    StrategicGoal,
    TargetPart,
)
from ..outcome_reads import rounded
from ..selectors import (
    PartRow,
    achievement_of,
    indicator_spec,
    indicators_for_years,
    planned_milestones,
    previous_inputs,
    quarters_of,
)

# Methods whose year-end figure is the sum of flows, so the quarters so far extrapolate pro rata.
FLOW_METHODS = frozenset({Method.COUNT, Method.LOWER, Method.MULTI, Method.WEIGHTED})


# --- computing -------------------------------------------------------------------------------


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


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


def _judgement_data(judgement: Judgement) -> dict:
    """What a reader needs to show the quarter's judgement: against what (milestones, each
    planned or a default), and the unrounded 達成進度, whole and per part."""
    return {
        "basis": judgement.basis.value,
        "rate": _text(judgement.outcome.raw_rate),
        "milestones": [
            {"key": m.key, "value": _text(m.value), "default": m.default}
            for m in judgement.milestones
        ],
        "parts": [{"key": p.key, "rate": _text(p.raw_rate)} for p in judgement.outcome.parts],
    }


def compute(
    indicator: Indicator,
    last_year: Indicator | None,
    policy: Policy,
    planned: Planned | None = None,
) -> list[Outcome]:
    """The indicator's unsaved Outcome rows, one per quarter, with lights under `policy`
    judged against the quarter's milestones (`planned`, or the defaults); needs what
    `indicators_for_years` prefetches (approved results only)."""
    spec = indicator_spec(indicator)
    quarters = quarters_of(indicator)
    previous = previous_inputs(last_year)
    labels = indicator.labels()
    rows = []
    for q in QUARTERS:
        judgement = judge(
            spec,
            quarters,
            through_quarter=q,
            planned=planned,
            previous=previous,
            policy=Policy(rounding=policy.rounding),
        )
        outcome = judgement.annual
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
            "judgement": _judgement_data(judgement),
            "projection": None
            if projection is None
            else {
                "value": _text(projection.raw_value),
                "rate": _text(projection.raw_rate),
                "parts": _parts_data(projection),
            },
        }
        rate = rounded(outcome.raw_rate, policy)
        progress = rounded(judgement.outcome.raw_rate, policy)
        projected = None if projection is None else rounded(projection.raw_rate, policy)
        rows.append(
            Outcome(
                indicator=indicator,
                agency_id=indicator.goal.agency_id,
                year=indicator.goal.year,
                through_quarter=q,
                entered=q in quarters,
                status=status_for(progress, policy).value,
                rate=rate,
                progress=progress,
                projected_status="" if projection is None else status_for(projected, policy).value,
                data=data,
            )
        )
    return rows


@transaction.atomic
def refresh(
    *,
    pairs: Iterable[tuple[int, int]] = (),
    indicators: Iterable[int] = (),
    agencies: Iterable[int] = (),
):
    """Recompute the stored outcomes of every indicator of each (agency_id, year) of `pairs`,
    and of each indicator of `indicators` (ids) with its namesakes of the next year (same agency
    and code), whose growth and prev() read its figures; a new version for the agencies of
    both, and for `agencies` (ids), whose pages show something else that changed."""
    pairs = set(pairs)
    by_year: dict[int, set[int]] = defaultdict(set)
    for agency_id, year in pairs:
        by_year[year].add(agency_id)
    # Where each indicator is, by (agency, year, code), which is how next year's namesakes and
    # last year's figures are found; an indicator whose whole (agency, year) is refreshed anyway
    # needs nothing of its own.
    named = set()
    if indicators:
        for agency_id, year, code in Indicator.objects.filter(pk__in=list(indicators)).values_list(
            "goal__agency_id", "goal__year", "code"
        ):
            for y in (year, year + 1):
                if (agency_id, y) not in pairs:
                    named.add((agency_id, y, code))
    # A refresh runs after its write committed, and reads what is committed when it starts. Two
    # refreshes of one agency at once could otherwise store the older reading last: holding the
    # agencies' rows makes them take turns, so the later one reads both writes. (Ordered by id so
    # two refreshes never wait on each other crosswise; SQLite has one writer at a time anyway.)
    # The agencies whose version changes are held too: their version rows are written last.
    touched = _lock_agencies(
        {a for a, _year in pairs} | {a for a, _year, _code in named} | set(agencies)
    )
    # Every pair's old rows go first, and with them the rows of its indicators stored anywhere
    # else: an indicator moved from another goal may only have one row per quarter.
    for year, agency_ids in by_year.items():
        Outcome.objects.filter(
            Q(year=year, agency_id__in=agency_ids)
            | Q(indicator__goal__year=year, indicator__goal__agency_id__in=agency_ids)
        ).delete()
    for year, agency_ids in sorted(by_year.items()):
        indicators = list(indicators_for_years(years=[year - 1, year], agency_ids=agency_ids))
        _store(
            indicators,
            [i for i in indicators if i.goal.year == year],
            policy_pairs={(agency_id, year) for agency_id in agency_ids},
        )
    if named:
        _refresh_named(named)
    # Last, so their rows are held only until this transaction commits, after the agencies.
    _versions_write(touched)


def _lock_agencies(agency_ids: set[int]) -> set[int]:
    """Those of the agencies that still exist (one deleted touches its own id), locked."""
    return set(
        Agency.objects.select_for_update()
        .filter(id__in=agency_ids)
        .order_by("id")
        .values_list("id", flat=True)
    )


def _refresh_named(named: set[tuple[int, int, str]]):
    """The stored outcomes of the indicators at (agency_id, year, code), with what they read
    of last year's namesakes."""
    agency_ids = {a for a, _y, _c in named}
    years = {y for _a, y, _c in named}
    indicators = indicators_for_years(
        years=sorted(years | {y - 1 for y in years}),
        agency_ids=agency_ids,
        codes={c for _a, _y, c in named},
    )
    targets = [i for i in indicators if (i.goal.agency_id, i.goal.year, i.code) in named]
    if not targets:
        return
    # Their rows wherever they were stored: an indicator moved from another goal may only have
    # one row per quarter.
    Outcome.objects.filter(indicator__in=[i.pk for i in targets]).delete()
    _store(indicators, targets, policy_pairs={(i.goal.agency_id, i.goal.year) for i in targets})


def _rows(indicators: list[Indicator], targets: list[Indicator], *, policy_pairs) -> list[Outcome]:
    """The unsaved outcomes of `targets`, each computed against last year's namesake among
    `indicators` (same agency and code; the last in their order where a code repeats across
    goals), under its agency's policy for its year (read for `policy_pairs`)."""
    last_years = {(i.goal.agency_id, i.goal.year, i.code): i for i in indicators}
    policies = achievement_policies(pairs=policy_pairs)
    planned = planned_milestones(indicator_ids=[i.pk for i in targets])
    return [
        row
        for i in targets
        for row in compute(
            i,
            last_years.get((i.goal.agency_id, i.goal.year - 1, i.code)),
            policies[i.goal.agency_id, i.goal.year],
            planned.get(i.pk),
        )
    ]


def _store(indicators: list[Indicator], targets: list[Indicator], *, policy_pairs):
    Outcome.objects.bulk_create(_rows(indicators, targets, policy_pairs=policy_pairs))


def _versions_write(agency_ids: set[int]) -> None:
    """A new version of each agency of `agency_ids`, whose rows the transaction holds: one
    statement, its row made where an agency has none yet. One token for all of them: each
    page's key combines its agencies' tokens with their ids. The rows are written in id
    order, as the agencies were locked, so two writers wait on each other's rows in one order
    (PostgreSQL)."""
    if not agency_ids:
        return
    token = uuid.uuid4().hex
    AgencyOutcomesVersion.objects.bulk_create(
        [AgencyOutcomesVersion(agency_id=pk, token=token) for pk in sorted(agency_ids)],
        update_conflicts=True,
        unique_fields=["agency"],
        update_fields=["token"],
    )


def versions_renew(*, agency_ids: Iterable[int] | None):
    """A new version of the agencies' stored outcomes (every agency's: None), none of which
    changed: what their dashboards cache is not read again. One statement (an UPDATE of their
    rows, locked in id order first, in its subquery), two more for an agency without a row."""
    if agency_ids is None:
        agency_ids = Agency.objects.values_list("id", flat=True)
    agency_ids = set(agency_ids)
    if not agency_ids:
        return
    rows = AgencyOutcomesVersion.objects.filter(agency_id__in=agency_ids)
    # No agency is locked here, only version rows (a refresh locks its agencies first, then
    # their version rows: the same order), so a row missing is not made in this transaction:
    # the insert would wait for its agency while holding version rows.
    with transaction.atomic(savepoint=False):
        updated = AgencyOutcomesVersion.objects.filter(
            agency_id__in=rows.select_for_update().order_by("agency_id").values("agency_id")
        ).update(token=uuid.uuid4().hex)
    if updated < len(agency_ids):
        with transaction.atomic(savepoint=False):
            _versions_write(_lock_agencies(agency_ids))


def computed() -> list[Outcome]:
    """Every outcome computed from scratch, unsaved: what rebuild() stores, read without
    writing (what tests/performance/test_outcomes_stay_fresh.py compares the stored rows with).
    Every year at once, each indicator with its namesake of last year among them, as refresh()
    finds it: a year's indicators are loaded once, not again as the next one's last year."""
    pairs = set(StrategicGoal.objects.values_list("agency_id", "year").distinct())
    indicators = indicators_for_years(
        years={year for _a, year in pairs}, agency_ids={a for a, _year in pairs}
    )
    return _rows(indicators, indicators, policy_pairs=pairs)


def rebuild() -> int:
    """Every stored outcome recomputed from scratch; the number of rows written."""
    pairs = set(StrategicGoal.objects.values_list("agency_id", "year").distinct())
    Outcome.objects.all().delete()
    refresh(pairs=pairs)
    return Outcome.objects.count()


# --- what a write touches -----------------------------------------------------------------------
# VERSION_ONLY: nothing to recompute, but what the dashboards cache per outcomes' version
# changed (a quarter first entered, a unit renamed): a new version alone, of the agency that
# `version_of` names, or of every agency (VERSION_ONLY itself) where a write cannot say which.
VERSION_ONLY = ("version",)


def version_of(agency_id: int) -> tuple:
    """A new version alone for one agency's pages (and its ministry's, which show it)."""
    return (*VERSION_ONLY, agency_id)


# A key is an (agency_id, year) pair, or a reference resolved when the transaction commits
# (a row's parent by id, so writing a hundred figures costs no query each): ("indicator", id),
# ("result", id), ("agency", id) for every year of an agency, ("policy", agency_id, year) for
# that year and the later ones. A change reaches its own year and the next, whose growth and
# prev() read this year's figures.


def _years(agency_id: int, year: int) -> set[tuple[int, int]]:
    return {(agency_id, year), (agency_id, year + 1)}


@writes.scope(StrategicGoal)
def _goal(goal: StrategicGoal):
    return _years(goal.agency_id, goal.year)


@writes.scope(Indicator)
def _indicator(indicator: Indicator):
    # Resolved now: when the indicator is deleted or moved, where it was is gone by commit.
    return _years(indicator.goal.agency_id, indicator.goal.year)


@writes.scope(IndicatorInput)
@writes.scope(TargetPart)
def _indicator_row(row):
    return {("indicator", row.indicator_id)}


@writes.scope(Milestone)
def _milestone(milestone: Milestone):
    return {("indicator", milestone.part.indicator_id)}


@writes.scope(Result)
def _result(result: Result):
    return {("indicator", result.indicator_id)}


@writes.scope(ResultFigure)
def _figure(figure: ResultFigure):
    return {("result", figure.result_id)}


@writes.scope(Agency)
def _agency(agency: Agency):
    # Its 複核 setting decides whether first-approved figures are final.
    return {("agency", agency.pk)}


@writes.scope(Unit)
def _unit(unit: Unit):
    # The dashboards name the units (their own agency's pages); no outcome depends on them.
    return {version_of(unit.agency_id)}


@writes.scope(AchievementPolicy)
def _policy(policy: AchievementPolicy):
    return {("policy", policy.agency_id, policy.year)}


def targets_of(keys: Iterable) -> tuple[set[tuple[int, int]], set[int], set[int] | None]:
    """What `keys` reach: (agency_id, year) pairs to refresh whole, indicators (ids) to
    refresh with their next year's namesakes, and agencies (ids; None: every agency) whose
    pages show something else that changed, a new version alone; a query per kind of
    reference."""
    pairs, refs = set(), defaultdict(set)
    for key in keys:
        if isinstance(key[0], str):
            refs[key[0]].add(key[1:])
        else:
            pairs.add(key)
    indicators = {pk for (pk,) in refs["indicator"]}
    if refs["result"]:
        ids = [pk for (pk,) in refs["result"]]
        indicators |= set(Result.objects.filter(pk__in=ids).values_list("indicator_id", flat=True))
    goals = Q(pk__in=[])
    for (agency_id,) in refs["agency"]:
        goals |= Q(agency_id=agency_id)
    for agency_id, year in refs["policy"]:
        # A policy holds for the later years without their own: their lights are stored again.
        goals |= Q(agency_id=agency_id, year__gte=year)
    if refs["agency"] or refs["policy"]:
        pairs |= set(StrategicGoal.objects.filter(goals).values_list("agency_id", "year"))
    # An agency changed shows on its pages (and its ministry's) with or without goals.
    agencies = {pk for (pk,) in refs["agency"]} | {k[0] for k in refs["version"] if k}
    if () in refs["version"]:
        agencies = None
    return pairs, indicators, agencies


@writes.on_commit
def refresh_touched(keys: set):
    pairs, indicators, agencies = targets_of(keys)
    if agencies is None:  # every agency: no refresh needs to lock them all
        if pairs or indicators:
            refresh(pairs=pairs, indicators=indicators)
        versions_renew(agency_ids=None)
    elif pairs or indicators:
        refresh(pairs=pairs, indicators=indicators, agencies=agencies)
    else:
        versions_renew(agency_ids=agencies)
