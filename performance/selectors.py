"""Reads. Every function here runs a fixed number of queries, whatever the number of indicators."""

from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import DecimalField, Prefetch, Q, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from budget.models import Agency, Unit
from budget.selectors import achievement_policies
from kpitrack.core.bulk import historical_model
from kpitrack.core.engine.achievement import (
    HUNDRED,
    Aggregation,
    Method,
    Outcome,
    Part,
    Policy,
    Spec,
    aggregate_inputs,
    evaluate,
    is_mismatch,
    needs_previous,
    raw_rate,
)
from kpitrack.core.engine.milestones import (
    PLANNED_QUARTERS,
    Basis,
    accumulates,
    default_milestone,
    judge,
    progress_raw_rate,
)
from kpitrack.core.engine.warnings import PartFigures, Warning, entry_warnings
from kpitrack.core.formatting import coded_figure, figure, target_wording
from kpitrack.core.prepared import Prepared, model_columns, model_from_row
from performance.permissions import (
    in_indicator_scope,
    indicator_scope,
    indicators_for_user,
    visible_agency_ids,
)

from .forms import NARRATIVE_FIELDS
from .judgements import QuarterJudgement, judgement_of
from .models import (
    EntryException,
    Evidence,
    Indicator,
    IndicatorInput,
    Milestone,
    ReportingPeriod,
    Result,
    ResultFigure,
    StrategicGoal,
    TargetPart,
)
from .reasons import reason_message

NOT_ENTERED = gettext_lazy("未填報")


def indicator_spec(indicator: Indicator) -> Spec:
    """The engine's view of an indicator; needs `inputs` and `parts` prefetched."""
    return _spec(
        indicator.method,
        indicator.aggregation,
        indicator.inputs.all(),
        tuple(Part(p.key, p.label, p.value, p.unit, p.weight) for p in indicator.parts.all()),
        indicator.formula,
        indicator.baseline,
        indicator.part_rate_cap,
    )


# Looked up rather than constructed for every indicator; an unknown value still raises.
_METHODS = {m.value: m for m in Method}
_AGGREGATIONS = {a.value: a for a in Aggregation}


def _spec(method, aggregation, inputs, parts, formula, baseline, part_rate_cap) -> Spec:
    """The engine's Spec of an indicator's fields, read as an instance (`indicator_spec`) or a
    plain row (`_entry_spec`): `inputs` anything with a `key`, `parts` the engine's Parts."""
    return Spec(
        _METHODS.get(method) or Method(method),
        _AGGREGATIONS.get(aggregation) or Aggregation(aggregation),
        tuple([i.key for i in inputs]),
        parts,
        formula or None,
        baseline,
        part_rate_cap,
    )


# The milestones of the indicators `indicator_ids`, or of their goals `goal_ids`: each
# (indicator id, part key, quarter, value). In no order: the milestones' own (by part, then its
# indicator's) joins four tables. Every judgement reads them: the SQL is built once
# (kpitrack.core.prepared).
_MILESTONES = Prepared(
    lambda indicator_ids, goal_ids: (
        Milestone.objects.filter(
            Q(part__indicator_id__in=indicator_ids)
            if goal_ids is None
            else Q(part__indicator__goal_id__in=goal_ids)
        )
        .order_by()
        .values_list("part__indicator_id", "part__key", "quarter", "value")
    )
)


def planned_milestones(
    *, indicator_ids: Iterable[int], goal_ids=None
) -> dict[int, dict[str, dict[int, Decimal]]]:
    """The 分季目標 set for the indicators, by indicator id, part key and quarter (1-3); a
    quarter not there takes the engine's default. One query, whatever the number. With
    `goal_ids` (the indicators' goals) they are read by goal and kept by id: see _entry_rows."""
    ids = set(indicator_ids)
    planned: dict[int, dict[str, dict[int, Decimal]]] = {}
    for indicator_id, key, quarter, value in _MILESTONES(
        *((None, list(goal_ids)) if goal_ids is not None else (list(ids), None))
    ):
        if indicator_id in ids:
            planned.setdefault(indicator_id, {}).setdefault(key, {})[quarter] = value
    return planned


@dataclass(frozen=True)
class PlannedQuarter:
    """A part's milestone through one quarter as the milestones page shows it: the value the
    planning office set (None: none) and the default that holds without one."""

    quarter: int
    planned: Decimal | None
    default: Decimal | None


def milestone_plan(*, indicator: Indicator) -> list[tuple[TargetPart, list[PlannedQuarter]]]:
    """Each target part of the indicator (prefetched `parts`) with its quarters 1-3: the
    planned value and the default. Two queries (the planned values and the policy, whose
    rounding the default's follows)."""
    planned = planned_milestones(indicator_ids=[indicator.pk]).get(indicator.pk, {})
    policy = achievement_policies(pairs={(indicator.goal.agency_id, indicator.goal.year)})[
        indicator.goal.agency_id, indicator.goal.year
    ]
    return [
        (
            part,
            [
                PlannedQuarter(
                    q,
                    planned.get(part.key, {}).get(q),
                    default_milestone(
                        indicator.method, indicator.aggregation, part.value, q, policy.rounding
                    ),
                )
                for q in PLANNED_QUARTERS
            ],
        )
        for part in indicator.parts.all()
    ]


def quarters_of(indicator: Indicator) -> dict[int, dict[str, Decimal | None]]:
    """Raw figures by quarter; needs `results__figures` prefetched."""
    return {r.quarter: {f.key: f.value for f in r.figures.all()} for r in indicator.results.all()}


@dataclass(frozen=True)
class PartRow:
    key: str
    label: str
    unit: str
    target: Decimal | None
    value: Decimal | None
    rate: Decimal | None
    published_rate: Decimal | None
    mismatch: bool | None
    reason: str | None


@dataclass(frozen=True)
class Achievement:
    """An indicator's standing through a quarter, with what the source document published."""

    indicator: Indicator
    outcome: Outcome
    result: Result | None  # the result recorded for exactly this quarter, if any
    parts: tuple[PartRow, ...]
    reason: str | None
    published_rate: Decimal | None
    published_basis: str
    mismatch: bool | None
    previous_year_used: bool

    @property
    def goal(self):
        return self.indicator.goal

    @property
    def state(self) -> str | None:
        """The state of the quarter's result (草稿…已核定), None when there is none."""
        return self.result.state if self.result else None


def approved_results_q(*, second_review: bool | None = None) -> Q:
    """Results whose figures are final: approved; first-approved where the agency has no
    複核 (second_review off); and a locked quarter's results that were one of those when it was
    locked (locking freezes a result, it does not approve it). `second_review`: the agency's,
    where every result asked for is of one agency already read (then no join to it)."""
    State = Result.State
    if second_review is not None:
        final = Q(state=State.APPROVED) | Q(state=State.LOCKED, locked_from=State.APPROVED)
        if second_review:
            return final
        return (
            final
            | Q(state=State.FIRST_APPROVED)
            | Q(state=State.LOCKED, locked_from=State.FIRST_APPROVED)
        )
    no_second_review = Q(indicator__goal__agency__second_review=False)
    final = Q(state=State.APPROVED) | Q(no_second_review, state=State.FIRST_APPROVED)
    locked = Q(state=State.LOCKED, locked_from=State.APPROVED) | Q(
        no_second_review, state=State.LOCKED, locked_from=State.FIRST_APPROVED
    )
    return final | locked


def quarter_final(*, agency_id: int, year: int, quarter: int) -> bool:
    """Whether every indicator of the agency's year has final figures for `quarter`
    (approved_results_q); true of a year without indicators. One query."""
    final = Result.objects.filter(approved_results_q(), quarter=quarter).values("indicator_id")
    indicators = Indicator.objects.filter(goal__agency_id=agency_id, goal__year=year)
    return not indicators.exclude(pk__in=final).exists()


def latest_approved_period(*, agencies) -> tuple[int, int] | None:
    """(year, quarter) of the newest approved result among `agencies`, where a page with no
    period asked for should open. One query."""
    row = (
        Result.objects.filter(approved_results_q(), indicator__goal__agency__in=agencies)
        .order_by("-indicator__goal__year", "-quarter")
        .values_list("indicator__goal__year", "quarter")
        .first()
    )
    return tuple(row) if row else None


def indicators_for_years(
    *,
    years,
    agency=None,
    agencies=None,
    agency_ids=None,
    include_unapproved: bool = False,
    codes=None,
):
    """`agency` narrows to one agency; `agencies` (a queryset) to those a user may see;
    `agency_ids` to a set of agencies by id; `codes` to indicators of those codes."""
    results = Result.objects.prefetch_related(
        Prefetch("figures", queryset=ResultFigure.objects.order_by("id"))
    )
    if not include_unapproved:
        results = results.filter(approved_results_q())
    queryset = (
        Indicator.objects.filter(goal__year__in=list(years))
        .select_related("goal", "goal__agency", "responsible_unit")
        .prefetch_related(
            "inputs",
            "parts",
            Prefetch("results", queryset=results),
        )
        .order_by("goal__agency__code", "goal__year", "goal__order", "order", "id")
    )
    if agency is not None:
        queryset = queryset.filter(goal__agency=agency)
    if agencies is not None:
        queryset = queryset.filter(goal__agency__in=agencies)
    if agency_ids is not None:
        queryset = queryset.filter(goal__agency_id__in=list(agency_ids))
    if codes is not None:
        queryset = queryset.filter(code__in=list(codes))
    return list(queryset)


def _year_indicators(*, year, agency, agencies, include_unapproved):
    """The indicators of `year` with last year's inputs and the policy: (indicator, previous,
    policy) each."""
    indicators = indicators_for_years(
        years=[year - 1, year],
        agency=agency,
        agencies=agencies,
        include_unapproved=include_unapproved,
    )
    previous_by_code = {
        (i.goal.agency_id, i.code): i for i in indicators if i.goal.year == year - 1
    }
    policies = achievement_policies(
        pairs={(i.goal.agency_id, year) for i in indicators if i.goal.year == year}
    )
    for indicator in indicators:
        if indicator.goal.year != year:
            continue
        previous = previous_inputs(previous_by_code.get((indicator.goal.agency_id, indicator.code)))
        yield indicator, previous, policies[indicator.goal.agency_id, year]


def achievements_for_year(
    *,
    year: int,
    through_quarter: int = 4,
    agency=None,
    agencies=None,
    include_unapproved: bool = False,
) -> list[Achievement]:
    """Evaluate every indicator of `year` through `through_quarter`, with last year's actuals.

    Only approved results count unless `include_unapproved`; each row's `state` then says which
    state the quarter's result is in.
    """
    rows = []
    for indicator, previous, policy in _year_indicators(
        year=year, agency=agency, agencies=agencies, include_unapproved=include_unapproved
    ):
        outcome = evaluate(
            indicator_spec(indicator),
            quarters_of(indicator),
            through_quarter=through_quarter,
            previous=previous,
            policy=policy,
        )
        rows.append(achievement_of(indicator, outcome, through_quarter, previous is not None))
    return rows


def judgements_for_year(
    *,
    year: int,
    through_quarter: int,
    agency=None,
    agencies=None,
    include_unapproved: bool = False,
) -> dict[int, QuarterJudgement]:
    """Every indicator of `year` through `through_quarter` judged against its milestone (Q1-Q3)
    or the annual target (Q4), by indicator id: what `achievements_for_year` evaluates, with the
    quarter's 分季目標. Only approved results count unless `include_unapproved`. The queries of
    `achievements_for_year` and one more."""
    rows = list(
        _year_indicators(
            year=year, agency=agency, agencies=agencies, include_unapproved=include_unapproved
        )
    )
    planned = planned_milestones(indicator_ids=[indicator.pk for indicator, _p, _q in rows])
    answer = {}
    for indicator, previous, policy in rows:
        judgement = judge(
            indicator_spec(indicator),
            quarters_of(indicator),
            through_quarter=through_quarter,
            planned=planned.get(indicator.pk),
            previous=previous,
            policy=policy,
        )
        answer[indicator.pk] = judgement_of(judgement, policy)
    return answer


def previous_inputs(last_year: Indicator | None) -> dict[str, Decimal | None] | None:
    """Last year's full-year inputs of the same indicator code, for growth and prev(); None
    when there is no such indicator or none of its figures can be aggregated."""
    if last_year is None:
        return None
    previous = aggregate_inputs(indicator_spec(last_year), quarters_of(last_year), 4)
    return previous if any(v is not None for v in previous.values()) else None


def quarter_preview(
    *, indicator: Indicator, quarter: int, figures: dict[str, Decimal | None]
) -> tuple[Outcome, QuarterJudgement]:
    """What the engine makes of `figures` entered for `quarter`, with the indicator's other
    quarters as recorded (in any state: the unit sees its own work) and last year's figures,
    and the quarter's judgement against its milestone (Q1-Q3) or the annual target (Q4), read
    once."""
    entry = entry_indicators(ids=[indicator.pk])[indicator.pk]
    return entry.preview(quarter, figures), entry.judge(quarter, figures)


def quarter_judgements(*, ids: Iterable[int], quarter: int) -> dict[int, QuarterJudgement]:
    """Each indicator of `ids` through `quarter` judged against its milestone (Q1-Q3) or the
    annual target (Q4), from the figures recorded in any state (a unit's or a reviewer's view
    before approval; the dashboards read approved figures from the stored outcomes), by id. The
    queries of `entry_indicators`, whatever the number."""
    return {
        pk: entry.judge(quarter, entry.quarters.get(quarter, {}))
        for pk, entry in entry_indicators(ids=ids).items()
    }


# --- entry -----------------------------------------------------------------------------------
#
# Entering figures reads indicators as plain rows rather than model instances: a workbook of a
# whole agency holds thousands, and an instance per indicator, input, part and figure (with
# Django's prefetch building a queryset for each) cost more than everything else the import
# does. The values are the same as `indicator_spec` and `quarters_of` read.


# A named tuple, not a dataclass: a large workbook makes tens of thousands of them.
class EntryInput(NamedTuple):
    key: str
    label: str
    unit: str


@dataclass(slots=True)
class EntryIndicator:
    """An indicator as entering its figures needs it: who may, what it asks for (its target
    parts are `spec.parts`), and what the engine makes of a quarter's figures with the others
    as recorded (any state) and last year's."""

    pk: int
    code: str
    name: str
    method: str
    target_text: str
    goal: StrategicGoal  # with its agency
    responsible_unit_id: int | None
    inputs: tuple[EntryInput, ...]
    spec: Spec
    quarters: dict[int, dict[str, Decimal | None]]
    previous: dict[str, Decimal | None] | None
    policy: Policy
    # 分季目標 set, by part key and quarter; None when read without them (saving drafts).
    planned: dict[str, dict[int, Decimal]] | None

    def _planned(self) -> dict[str, dict[int, Decimal]]:
        if self.planned is None:
            raise RuntimeError("read with entry_indicators(..., milestones=False)")
        return self.planned

    def judge(self, quarter: int, figures: dict[str, Decimal | None]) -> QuarterJudgement:
        """The quarter judged against its milestone (Q1-Q3) or the annual target (Q4), with
        `figures` entered for it."""
        quarters = {**self.quarters, quarter: dict(figures)}
        judgement = judge(
            self.spec,
            quarters,
            through_quarter=quarter,
            planned=self._planned(),
            previous=self.previous,
            policy=self.policy,
        )
        return judgement_of(judgement, self.policy)

    def progress_raw_rate(self, quarter: int, figures: dict[str, Decimal | None]) -> Decimal | None:
        """`judge(...)`'s unrounded 達成進度, at a fraction of its cost."""
        quarters = {**self.quarters, quarter: figures}
        return progress_raw_rate(
            self.spec,
            quarters,
            through_quarter=quarter,
            planned=self._planned(),
            previous=self.previous,
            rounding=self.policy.rounding,
        )

    def warnings(self, quarter: int, figures: dict[str, Decimal | None]) -> list[Warning]:
        """What in `figures` entered for `quarter` asks for confirmation before it is saved
        (kpitrack.core.engine.warnings): far above the milestone or the target, or a cumulative
        figure below the one recorded for the quarter before."""
        now = self.judge(quarter, figures)
        before = {}
        if quarter > 1 and self.quarters.get(quarter - 1):
            earlier = self.judge(quarter - 1, self.quarters[quarter - 1])
            before = {p.key: p.value for p in earlier.parts}
        annual = now.basis is Basis.ANNUAL
        parts = [
            PartFigures(
                p.key, p.value, None if annual else p.milestone, p.target, before.get(p.key)
            )
            for p in now.parts
        ]
        cumulative = accumulates(self.spec.method, self.spec.aggregation)
        return entry_warnings(parts, cumulative=cumulative)

    def preview(self, quarter: int, figures: dict[str, Decimal | None]) -> Outcome:
        quarters = {**self.quarters, quarter: dict(figures)}
        return evaluate(
            self.spec, quarters, through_quarter=quarter, previous=self.previous, policy=self.policy
        )

    def raw_rate(self, quarter: int, figures: dict[str, Decimal | None]) -> Decimal | None:
        """`preview(...).raw_rate`, at a fraction of its cost."""
        quarters = {**self.quarters, quarter: figures}
        return raw_rate(self.spec, quarters, through_quarter=quarter, previous=self.previous)


# What the engine's spec of an indicator reads (`_spec`), with its id and names.
_SPEC_FIELDS = (
    "pk",
    "code",
    "name",
    "method",
    "aggregation",
    "formula",
    "baseline",
    "part_rate_cap",
)
_ENTRY_FIELDS = (*_SPEC_FIELDS, "target_text", "goal_id", "responsible_unit_id")


_BY_ID_AT_MOST = 20


def _entry_rows(indicators, *extra: str) -> dict[int, dict]:
    """Plain rows of `indicators` (a queryset), each with its inputs (EntryInput), target parts
    (the engine's Part) and recorded figures by quarter: three queries."""
    rows = {row["pk"]: row for row in indicators.values(*_ENTRY_FIELDS, *extra)}
    _with_details(rows)
    return rows


def _details_of(rows: dict[int, dict]) -> dict:
    """How the details (inputs, parts, results) of the indicators `rows` are read: the filter
    of a query of a table with an `indicator` key."""
    # By goal, kept for these indicators: a goal has few indicators besides, while an IN list
    # of thousands of ids costs Django time per id in every query. A few (a save's one, a
    # person's list) are read by id: no join to the indicators, nor their neighbours' rows.
    if len(rows) <= _BY_ID_AT_MOST:
        return {"indicator_id__in": list(rows)}
    return {"indicator__goal_id__in": {row["goal_id"] for row in rows.values()}}


def _with_details(rows: dict[int, dict], *, shown: int | None = None) -> dict[int, "ResultRow"]:
    """Adds each row's `inputs` (EntryInput), target `parts` (the engine's Part), in order, and
    `quarters` (its recorded figures by quarter, any state): two queries. With `shown` (a
    quarter), answers that quarter's results as the API shows them, by indicator id."""
    where = _details_of(rows)
    inputs, parts = _inputs_and_parts_of(rows, where)
    quarters: dict[int, dict[int, dict]] = {}
    results: dict[int, ResultRow] = {}
    for indicator_id, quarter, key, value, *fields in _RESULT_FIGURES(
        *_by_id_or_goal(where), shown is not None
    ):
        if indicator_id in rows:
            figures = quarters.setdefault(indicator_id, {}).setdefault(quarter, {})
            if key is not None:
                figures[key] = value
            if quarter == shown and indicator_id not in results:
                results[indicator_id] = ResultRow(
                    dict(zip(RESULT_SHOWN, fields, strict=True)), figures
                )
    for pk, row in rows.items():
        row["inputs"] = tuple(inputs.get(pk, ()))
        row["parts"] = tuple(parts.get(pk, ()))
        row["quarters"] = quarters.get(pk, {})
    return results


def _by_id_or_goal(where: dict) -> tuple[list | None, list | None]:
    """The arguments of the reads below for `where` (see _with_details): the indicators' ids,
    or their goals'."""
    (name, values), *_none = where.items()
    if name == "indicator_id__in":
        return list(values), None
    assert name == "indicator__goal_id__in", name
    return None, sorted(values)


def _of_ids_or_goals(indicator_ids, goal_ids) -> Q:
    if indicator_ids is not None:
        return Q(indicator_id__in=indicator_ids)
    return Q(indicator__goal_id__in=goal_ids)


# The results with their figures, each (indicator id, quarter, figure key, figure value) and,
# with `shown`, the result's RESULT_SHOWN; by indicator and quarter, the figures in the order
# entered. Every API read and save runs it: its SQL is built once (kpitrack.core.prepared).
_RESULT_FIGURES = Prepared(
    lambda indicator_ids, goal_ids, shown: (
        Result.objects.filter(_of_ids_or_goals(indicator_ids, goal_ids))
        .order_by("indicator_id", "quarter", "figures__id")
        .values_list(
            "indicator_id",
            "quarter",
            "figures__key",
            "figures__value",
            *(RESULT_SHOWN if shown else ()),
        )
    )
)


def _inputs_and_parts(indicator_ids, goal_ids):
    where = _of_ids_or_goals(indicator_ids, goal_ids)
    parts_rows = (
        TargetPart.objects.filter(where)
        .order_by()
        .annotate(kind=Value(1))
        .values_list(
            "indicator_id", "kind", "order", "id", "key", "label", "unit", "value", "weight"
        )
    )
    input_rows = (
        IndicatorInput.objects.filter(where)
        .order_by()
        .annotate(
            kind=Value(0),
            no_value=Value(None, output_field=DecimalField()),
            no_weight=Value(None, output_field=DecimalField()),
        )
        .values_list(
            "indicator_id", "kind", "order", "id", "key", "label", "unit", "no_value", "no_weight"
        )
    )
    return parts_rows.union(input_rows, all=True).order_by("indicator_id", "kind", "order", "id")


_INPUTS_AND_PARTS = Prepared(_inputs_and_parts)


def _inputs_and_parts_of(
    ids, where: dict
) -> tuple[dict[int, list[EntryInput]], dict[int, list[Part]]]:
    """The inputs (EntryInput) and the target parts (the engine's Part) of the indicators `ids`,
    read by `where` (their ids, or their goals': see _with_details), by indicator id, each in
    their order: one query, the two tables' rows as one list (UNION ALL), which costs one
    round trip to the database where two did. The parts come first: the union's columns take
    their types from its first SELECT, and a part's value and weight are decimals of the
    model's scale (an input's are NULL). Its SQL is built once (kpitrack.core.prepared)."""
    inputs: dict[int, list[EntryInput]] = {}
    parts: dict[int, list[Part]] = {}
    for indicator_id, is_part, _order, _id, key, label, unit, value, weight in _INPUTS_AND_PARTS(
        *_by_id_or_goal(where)
    ):
        if indicator_id not in ids:
            continue
        if is_part:
            parts.setdefault(indicator_id, []).append(Part(key, label, value, unit, weight))
        else:
            inputs.setdefault(indicator_id, []).append(EntryInput(key, label, unit))
    return inputs, parts


def _entry_spec(row) -> Spec:
    return _spec(
        row["method"],
        row["aggregation"],
        row["inputs"],
        row["parts"],
        row["formula"],
        row["baseline"],
        row["part_rate_cap"],
    )


def _goals_by_id(ids) -> dict[int, StrategicGoal]:
    # By id: their order (the model's, through the agency's) would only cost.
    return StrategicGoal.objects.select_related("agency").order_by().in_bulk(ids)


def entry_indicators(*, ids, milestones: bool = True) -> dict[int, EntryIndicator]:
    """The indicators of `ids` that exist, as entry needs them, in a number of queries that
    does not grow with their number: five (four without their 分季目標: `milestones=False`,
    for saving drafts, which judge nothing), three more for last year's of the same codes where a
    method reads last year (growth, formulas), and the policies."""
    rows = _entry_rows(Indicator.objects.filter(pk__in=list(ids)))
    goals = _goals_by_id({row["goal_id"] for row in rows.values()})
    return _entry_indicators(rows, goals, milestones=milestones)


def _entry_indicators(
    rows: dict[int, dict], goals, *, milestones: bool
) -> dict[int, EntryIndicator]:
    """`entry_indicators` of plain rows (as `_entry_rows` reads them) and their goals (with
    agency, by id): the 分季目標, last year's and the policies."""
    planned = None
    if milestones:
        # By goal as their details are read (_details_of), or by id.
        by_goal = len(rows) > _BY_ID_AT_MOST
        planned = planned_milestones(
            indicator_ids=rows,
            goal_ids={row["goal_id"] for row in rows.values()} if by_goal else None,
        )
    by_year: dict[tuple[int, int], set[str]] = {}
    for row in rows.values():
        goal = goals[row["goal_id"]]
        codes = by_year.setdefault((goal.agency_id, goal.year), set())
        if needs_previous(row["method"]):
            codes.add(row["code"])
    last_year = Q(pk__in=[])
    for (agency_id, year), codes in by_year.items():
        if codes:
            last_year |= Q(goal__agency_id=agency_id, goal__year=year - 1, code__in=codes)
    previous = {}
    if any(by_year.values()):
        earlier = Indicator.objects.filter(last_year).order_by(
            "goal__agency_id", "goal__order", "order", "id"
        )
        earlier_rows = _entry_rows(earlier, "goal__agency_id")
        for row in earlier_rows.values():
            key = (row["goal__agency_id"], row["code"])
            if key not in previous:
                inputs = aggregate_inputs(_entry_spec(row), row["quarters"], 4)
                previous[key] = inputs if any(v is not None for v in inputs.values()) else None
    policies = achievement_policies(pairs=by_year.keys())
    answer = {}
    for pk, row in rows.items():
        goal = goals[row["goal_id"]]
        answer[pk] = EntryIndicator(
            pk,
            row["code"],
            row["name"],
            row["method"],
            row["target_text"],
            goal,
            row["responsible_unit_id"],
            row["inputs"],
            _entry_spec(row),
            row["quarters"],
            previous.get((goal.agency_id, row["code"])),
            policies[goal.agency_id, goal.year],
            None if planned is None else planned.get(pk, {}),
        )
    return answer


# --- a quarter's results as entered, for the API ---------------------------------------------
#
# The API's read (a unit's client reads it before each save) and its save's answer, as plain
# rows like entry's: model instances and Django's prefetches cost most of such a read, whose
# answer is the rows' values and what the engine makes of them.


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    """An indicator as the API names it, with what its figures are: its inputs and target
    parts (the engine's Part), in order."""

    pk: int
    agency_code: str
    year: int
    code: str
    name: str
    method: str
    unit_code: str | None
    unit_name: str | None
    inputs: tuple[EntryInput, ...]
    parts: tuple[Part, ...]

    def labels(self) -> dict[str, str]:
        """As `Indicator.labels()`: each input's and part's key -> its label, a part's where
        both have the key."""
        return {**{i.key: i.label for i in self.inputs}, **{p.key: p.label for p in self.parts}}


class ResultRow(NamedTuple):
    """A stored result as the API shows it: its row (by attname; at least RESULT_SHOWN) and its
    figures, key -> value, in the order they were entered."""

    row: dict
    figures: dict[str, Decimal | None]


RESULT_SHOWN = ("state", "version", "review_comment", *NARRATIVE_FIELDS)


class EnteredResult(NamedTuple):
    """An indicator's quarter: its result (None when nothing is entered) and what the engine
    makes of the quarters entered so far, in any state, with last year's."""

    indicator: IndicatorRow
    result: ResultRow | None
    outcome: Outcome


_ROW_FIELDS = (*_SPEC_FIELDS, "goal_id", "goal__agency_id", "goal__agency__code", "goal__year")
_UNIT_FIELDS = ("responsible_unit__code", "responsible_unit__name")
# `indicators_for_years`'s order.
_ORDER = ("goal__agency__code", "goal__year", "goal__order", "order", "id")


def _indicator_rows(indicators, *extra: str) -> dict[int, dict]:
    """Plain rows of `indicators` (a queryset) by id, in _ORDER."""
    return {row["pk"]: row for row in indicators.order_by(*_ORDER).values(*_ROW_FIELDS, *extra)}


def _indicator_row(row: dict) -> IndicatorRow:
    return IndicatorRow(
        row["pk"],
        row["goal__agency__code"],
        row["goal__year"],
        row["code"],
        row["name"],
        row["method"],
        row["responsible_unit__code"],
        row["responsible_unit__name"],
        row["inputs"],
        row["parts"],
    )


def _entered_indicators(year, agency_id, agency_ids, unit_code):
    indicators = Indicator.objects.filter(goal__year=year)
    if agency_id is not None:
        indicators = indicators.filter(goal__agency_id=agency_id)
    if agency_ids is not None:
        indicators = indicators.filter(goal__agency_id__in=agency_ids)
    if unit_code is not None:
        indicators = indicators.filter(responsible_unit__code=unit_code)
    return indicators.order_by(*_ORDER).values_list(*_ROW_FIELDS, *_UNIT_FIELDS)


# results_as_entered's indicators: every API read runs it, its SQL built once
# (kpitrack.core.prepared).
_YEAR_INDICATORS = Prepared(_entered_indicators)


def results_as_entered(
    *,
    year: int,
    quarter: int,
    agency=None,
    agency_ids: Iterable[int] | None = None,
    unit_code: str | None = None,
) -> list[EnteredResult]:
    """Every indicator of `year` with its result of `quarter` and its outcome through it, the
    results in any state counting (what `achievements_for_year(include_unapproved=True)`
    evaluates), in its order. `agency` narrows to one agency, `agency_ids` to those a user may
    see (permissions.visible_agency_ids), `unit_code` to the indicators that unit (by code) is
    responsible for.
    Five queries, six where a method reads last year's figures (growth, formulas)."""
    if agency_ids is not None:
        agency_ids = sorted(agency_ids)
    names = (*_ROW_FIELDS, *_UNIT_FIELDS)
    found = _YEAR_INDICATORS(year, None if agency is None else agency.pk, agency_ids, unit_code)
    rows = {values[0]: dict(zip(names, values, strict=True)) for values in found}
    if not rows:
        return []
    # Last year's of the same agency and code, whichever unit had them, where the method
    # reads them (needs_previous): the last one in order, as achievements_for_year keeps.
    wanted: dict[int, set[str]] = {}
    for row in rows.values():
        if needs_previous(row["method"]):
            wanted.setdefault(row["goal__agency_id"], set()).add(row["code"])
    earlier: dict[int, dict] = {}
    if wanted:
        last_year = Q()
        for agency_id, codes in wanted.items():
            last_year |= Q(goal__agency_id=agency_id, code__in=sorted(codes))
        earlier = _indicator_rows(Indicator.objects.filter(last_year, goal__year=year - 1))
    shown = _with_details({**rows, **earlier}, shown=quarter)
    previous = {}
    for row in earlier.values():
        inputs = aggregate_inputs(_entry_spec(row), row["quarters"], 4)
        key = (row["goal__agency_id"], row["code"])
        previous[key] = inputs if any(v is not None for v in inputs.values()) else None
    policies = achievement_policies(pairs={(row["goal__agency_id"], year) for row in rows.values()})
    answer = []
    for pk, row in rows.items():
        agency_id = row["goal__agency_id"]
        outcome = evaluate(
            _entry_spec(row),
            row["quarters"],
            through_quarter=quarter,
            previous=previous.get((agency_id, row["code"])),
            policy=policies[agency_id, year],
        )
        answer.append(EnteredResult(_indicator_row(row), shown.get(pk), outcome))
    return answer


_GOAL_COLUMNS = model_columns(StrategicGoal)
_AGENCY_COLUMNS = model_columns(Agency)

# An indicator by its agency's code, year and code, one row at most: entry's fields, its goal's
# and agency's every column (what `from_db` takes), its unit's code and name (NULL where none).
# Every API save runs it: its SQL is built once (kpitrack.core.prepared).
_INDICATOR_BY_CODE = Prepared(
    lambda agency_code, year, code: (
        Indicator.objects.filter(goal__agency__code=agency_code, goal__year=year, code=code)
        .order_by()  # one at most: the model's order would only cost
        .values_list(
            *_ENTRY_FIELDS,
            *(f"goal__{name}" for name in _GOAL_COLUMNS),
            *(f"goal__agency__{name}" for name in _AGENCY_COLUMNS),
            "responsible_unit__code",
            "responsible_unit__name",
        )[:1]
    )
)


def entry_indicator_by_code(
    *, agency_code: str, year: int, code: str
) -> tuple[IndicatorRow, EntryIndicator] | None:
    """The indicator `code` of `year` of the agency `agency_code` as the API names it, and as
    entry reads it without its 分季目標 (what saving a draft needs), or None: five queries (one
    when there is none), four more where its method reads last year's figures. The indicator
    is read with its goal, agency and unit at once, an instance each: one read of one row."""
    found = _INDICATOR_BY_CODE(agency_code, year, code)
    if not found:
        return None
    values = found[0]
    row = dict(zip(_ENTRY_FIELDS, values, strict=False))
    values = values[len(_ENTRY_FIELDS) :]
    goal = model_from_row(StrategicGoal, values[: len(_GOAL_COLUMNS)])
    values = values[len(_GOAL_COLUMNS) :]
    goal.agency = model_from_row(Agency, values[: len(_AGENCY_COLUMNS)])
    unit_code, unit_name = values[len(_AGENCY_COLUMNS) :]
    rows = {row["pk"]: row}
    _with_details(rows)
    entry = _entry_indicators(rows, {goal.pk: goal}, milestones=False)[row["pk"]]
    named = IndicatorRow(
        row["pk"],
        goal.agency.code,
        goal.year,
        row["code"],
        row["name"],
        row["method"],
        unit_code,
        unit_name,
        entry.inputs,
        entry.spec.parts,
    )
    return named, entry


def result_row(*, pk: int) -> ResultRow:
    """The result `pk` as stored now, with its figures: two queries."""
    row = Result.objects.values(*RESULT_SHOWN).get(pk=pk)
    figures = dict(
        ResultFigure.objects.filter(result_id=pk).order_by("id").values_list("key", "value")
    )
    return ResultRow(row, figures)


# The quarter's stored results as plain rows, for whatever compares with or writes them: the
# workbook's preview and confirm, and the drafts service (locked).

RESULT_COLUMNS = model_columns(Result)


def goals_of_year(*, agency_id: int, year: int):
    """The ids of the agency's goals of `year`, as a query to narrow another by (no query of
    its own: it runs inside the other's)."""
    return StrategicGoal.objects.filter(agency_id=agency_id, year=year).values("pk")


# A save's one result, locked (see quarter_results), and then its figures: two statements, the
# figures read once the lock is held. Every API save runs them: their SQL is built once
# (kpitrack.core.prepared).
_LOCKED_RESULT = Prepared(
    lambda quarter, indicator_ids: (
        Result.objects.filter(quarter=quarter)
        .select_for_update()
        .filter(indicator_id__in=indicator_ids)
        .order_by()
        .values_list(*RESULT_COLUMNS)
    )
)
_FIGURES_OF = Prepared(
    lambda result_id: (
        ResultFigure.objects.filter(result_id=result_id)
        .order_by("id")
        .values_list("id", "key", "value", "published_rate")
    )
)


def _locked_result(quarter: int, indicator_id: int):
    """quarter_results(…, for_update=True) of one indicator."""
    rows = {}
    recorded = {}
    for values in _LOCKED_RESULT(quarter, [indicator_id]):
        row = rows[indicator_id] = dict(zip(RESULT_COLUMNS, values, strict=True))
        for pk, key, value, published in _FIGURES_OF(row["id"]):
            recorded.setdefault(indicator_id, {})[key] = (pk, value, published)
    return rows, recorded


def quarter_results(
    *,
    quarter: int,
    indicator_ids: Iterable[int],
    goal_ids,
    columns: tuple[str, ...] | None = None,
    figures: bool = True,
    for_update: bool = False,
) -> tuple[dict[int, dict], dict[int, dict[str, tuple[int, Decimal | None, str]]]]:
    """The quarter's results of the indicators `indicator_ids` (of the goals `goal_ids`: ids,
    or a query of them) as plain rows by indicator id, with every column or "id",
    "indicator_id" and `columns`; and, with `figures`, their figures by indicator id, key ->
    (id, value, published rate). Two queries, one without figures.

    Read by goal and kept by id: see _entry_rows. With `for_update` (in a transaction that
    writes them) the results are read by id instead and locked: read by goal, the lock would
    hold the goal's other results too."""
    ids = set(indicator_ids)
    if for_update and len(ids) == 1 and columns is None and figures:
        return _locked_result(quarter, *ids)
    results = Result.objects.filter(quarter=quarter)
    if for_update:
        results = results.select_for_update().filter(indicator_id__in=list(ids))
        if len(ids) == 1:
            # One row has no order to keep (several are locked in the model's order, as locking
            # the quarter locks them), and without it no join: FOR UPDATE would lock the joined
            # rows too, the agency's among them, so every save of the agency waited for the
            # others.
            results = results.order_by()
    else:
        results = results.filter(indicator__goal_id__in=goal_ids)
    fields = RESULT_COLUMNS if columns is None else ("id", "indicator_id", *columns)
    rows = {
        row["indicator_id"]: row for row in results.values(*fields) if row["indicator_id"] in ids
    }
    recorded: dict[int, dict[str, tuple[int, Decimal | None, str]]] = {}
    if figures:
        by_result = {row["id"]: indicator_id for indicator_id, row in rows.items()}
        if len(by_result) <= _BY_ID_AT_MOST:  # as _entry_rows reads a few
            figures_of = ResultFigure.objects.filter(result_id__in=list(by_result))
        else:
            figures_of = ResultFigure.objects.filter(
                result__quarter=quarter, result__indicator__goal_id__in=goal_ids
            )
        # In the order entered (by id) within each result; the model's order (through the
        # result's indicator, goal and agency) would only cost.
        for pk, result_id, key, value, published in figures_of.order_by("id").values_list(
            "id", "result_id", "key", "value", "published_rate"
        ):
            if result_id in by_result:
                recorded.setdefault(by_result[result_id], {})[key] = (pk, value, published)
    return rows, recorded


def year_indicators(
    *, agency_id: int, year: int, ids: Iterable[int]
) -> tuple[dict[int, tuple[str, str, int]], dict[int, str]]:
    """Of the indicators `ids`: those of the agency's `year` as (name, method, goal id) by id,
    and the names of the others that exist. One query, two when some are not of that year.

    Read by year and kept by id: see _entry_rows."""
    ids = set(ids)
    found = {}
    for pk, name, method, goal_id in Indicator.objects.filter(
        goal__agency_id=agency_id, goal__year=year
    ).values_list("pk", "name", "method", "goal_id"):
        if pk in ids:
            found[pk] = (name, method, goal_id)
    missing = ids - found.keys()
    others = (
        dict(Indicator.objects.filter(pk__in=missing).values_list("pk", "name")) if missing else {}
    )
    return found, others


def indicators_to_enter(
    *, user, agency_id: int, year: int, quarter: int, unit_id: int | None = None
) -> list[tuple[Indicator, Result | None]]:
    """The indicators of the agency's `year` (of one unit's, with `unit_id`) that `user` may
    enter or review, in the documents' order, with goal, unit, inputs and parts, each with the
    quarter's result (and its figures) or None. Five queries, and what the permissions read."""
    indicators = indicators_for_user(user, year=year).filter(goal__agency_id=agency_id)
    if unit_id is not None:
        indicators = indicators.filter(responsible_unit_id=unit_id)
    indicators = list(
        indicators.select_related("goal", "responsible_unit")
        .prefetch_related("inputs", "parts")
        .order_by("goal__order", "order", "pk")
    )
    results = {
        r.indicator_id: r
        for r in Result.objects.filter(indicator__in=indicators, quarter=quarter).prefetch_related(
            "figures"
        )
    }
    return [(indicator, results.get(indicator.pk)) for indicator in indicators]


def falls_short(raw_rate: Decimal | None) -> bool:
    """A rate (unrounded) below 100%: for the quarter's 達成進度 (against its milestone through
    Q3, the target at Q4), 未達成原因 and 改善措施 are then required on submit."""
    return raw_rate is not None and raw_rate < HUNDRED


def achievement_of(indicator, outcome: Outcome, through_quarter: int, used_previous: bool):
    """The row pages and reports show for an evaluated indicator, with what was printed."""
    result = next((r for r in indicator.results.all() if r.quarter == through_quarter), None)
    published = {f.key: f.published_figure for f in result.figures.all()} if result else {}
    labels = indicator.labels()
    parts = tuple(
        PartRow(
            key=p.key,
            label=p.label,
            unit=p.unit,
            target=p.target,
            value=p.value,
            rate=p.rate,
            published_rate=published.get(p.key),
            mismatch=is_mismatch(p.raw_rate, published.get(p.key)),
            reason=reason_message(p.reason, labels),
        )
        for p in outcome.parts
    )
    published_rate = result.published_figure if result else None
    basis = result.published_basis if result else Result.Basis.RATE
    raw = outcome.raw_value if basis == Result.Basis.VALUE else outcome.raw_rate
    checks = [is_mismatch(raw, published_rate)] + [p.mismatch for p in parts]
    known = [c for c in checks if c is not None]
    return Achievement(
        indicator=indicator,
        outcome=outcome,
        result=result,
        parts=parts,
        reason=reason_message(outcome.reason, labels),
        published_rate=published_rate,
        published_basis=basis,
        mismatch=any(known) if known else None,
        previous_year_used=used_previous,
    )


# --- goals and indicators --------------------------------------------------------------------


def has_goals(*, agency, year: int) -> bool:
    """Whether the agency has strategic goals in `year`: one query."""
    return StrategicGoal.objects.filter(agency=agency, year=year).exists()


def goal_years(*, agencies) -> dict[int, set[int]]:
    """The years with strategic goals, by agency id, for `agencies` (instances or a query of
    them): one query, however many agencies."""
    years: dict[int, set[int]] = {}
    pairs = StrategicGoal.objects.filter(agency__in=agencies).values_list("agency_id", "year")
    for agency_id, year in pairs.distinct():
        years.setdefault(agency_id, set()).add(year)
    return years


def indicators_of_year(*, agency, year: int) -> list[Indicator]:
    """The agency's indicators of `year` in the documents' order, with goal, responsible unit
    and target parts: two queries."""
    return list(
        Indicator.objects.filter(goal__agency=agency, goal__year=year)
        .select_related("goal", "responsible_unit")
        .prefetch_related("parts")
        .order_by("goal__order", "order", "id")
    )


def unapproved_results(*, agency, year: int, quarter: int) -> list[Result]:
    """The quarter's results of the agency's `year` whose figures are not final (see
    `approved_results_q`), with their indicators, in the documents' order: one query."""
    return list(
        Result.objects.filter(
            indicator__goal__agency=agency, indicator__goal__year=year, quarter=quarter
        )
        .exclude(approved_results_q())
        .select_related("indicator")
        .order_by("indicator__goal__order", "indicator__order", "indicator_id")
    )


# --- history ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """One field of one row that moved: when, who, what (a label in the active language),
    old → new as displayed, and why. `action` is simple-history's +, ~ or -."""

    when: datetime
    who: str
    what: str
    old: str
    new: str
    why: str
    action: str
    user_id: int | None = None  # who made the change: to name them anew (`history_named_anew`)


def _shower(field):
    """How a value of `field` reads in its history: its choice's label, a figure, the text."""
    labels = dict(field.flatchoices) if field.choices else None  # once, not per value

    def shown(value) -> str:
        if value is None or value == "":
            return ""
        if labels is not None:
            return str(labels.get(value, value))
        if isinstance(value, Decimal):
            return figure(value)
        return str(value)

    return shown


_WHO = (
    "history_user_id",
    "history_user__first_name",
    "history_user__last_name",
    "history_user__username",
)


def _who(first, last, username) -> str:
    # As the user model's get_full_name() or get_username() read them; "" for nobody.
    return "" if username is None else f"{first} {last}".strip() or username


_HISTORY_COLUMNS = ("id", "history_id", "history_date", "history_type", "history_change_reason")

# The history reads, one per model, fields and filter: the indicator page runs three on every
# build (issue 16), each Django's SQL built anew for a few rows; built once instead
# (kpitrack.core.prepared).
_HISTORY_READS: dict[tuple, Prepared] = {}


def _history_read(model, names: tuple, lookups: tuple) -> Prepared:
    key = (model, names, lookups)
    read = _HISTORY_READS.get(key)
    if read is None:
        read = _HISTORY_READS[key] = Prepared(
            lambda *values: (
                historical_model(model)
                .objects.filter(**dict(zip(lookups, values, strict=True)))
                .order_by()
                .values_list(*names, *_WHO)
            )
        )
    return read


def _history(model, fields, extra=(), **where) -> list[SimpleNamespace]:
    """The history rows of `model` that match `where` (exact lookups of ints or strs) as plain
    rows, in no order (_entries sorts them): `fields`, `extra` (what names a row) and the
    history's own columns, with who made the change as `user_id` and `who` (the user's full
    name, else username; "" for nobody). Rows, not instances with their users: the indicator
    page reads its history."""
    names = (*_HISTORY_COLUMNS, *fields, *extra)
    read = _history_read(model, names, tuple(where))
    rows = []
    for *values, user_id, first, last, username in read(*where.values()):
        rows.append(
            SimpleNamespace(
                **dict(zip(names, values, strict=True)),
                user_id=user_id,
                who=_who(first, last, username),
            )
        )
    return rows


# Who made the changes, named anew on each cached visit of an indicator's page.
_USER_NAMES = Prepared(
    lambda ids: (
        get_user_model()
        .objects.filter(pk__in=ids)
        .order_by()
        .values_list("pk", "first_name", "last_name", "username")
    )
)


def history_named_anew(entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """`entries` read earlier, with the people who made them named as they are named now (a
    rename is no change to the history): one query, none when no entry names anybody."""
    ids = {e.user_id for e in entries if e.user_id is not None}
    if not ids:
        return entries
    names = {
        pk: _who(first, last, username) for pk, first, last, username in _USER_NAMES(sorted(ids))
    }
    return [e if e.user_id is None else replace(e, who=names.get(e.user_id, "")) for e in entries]


def _entries(rows, model, fields, subject=lambda row: "", shown=None) -> list[HistoryEntry]:
    """An entry per field that differs between consecutive history rows of the same object;
    a deleted row gives its last values as old ones. `shown` maps a field name to how its
    value reads, where the field alone cannot say (a rating's 1 is 達成)."""
    if not rows:
        return []
    shown = shown or {}
    shows = []  # (name, label, how its values read), looked up once for every row
    for name in fields:
        field = model._meta.get_field(name)
        # Its label as a str once, not a lazy one translated again for each change.
        shows.append((name, str(field.verbose_name), shown.get(name) or _shower(field)))
    entries = []
    last = {}
    for row in sorted(rows, key=lambda r: (r.history_date, r.history_id)):
        before = None if row.history_type == "+" else last.get(row.id)
        deleted = row.history_type == "-"
        moved = []
        for name, label, show in shows:
            old = show(getattr(row if deleted else before, name, None))
            new = "" if deleted else show(getattr(row, name))
            if old != new:
                moved.append((f"{subject(row)}{label}", old, new))
        if deleted and not moved:
            moved.append((subject(row) or str(model._meta.verbose_name), "", ""))
        entries.extend(
            HistoryEntry(
                when=row.history_date,
                who=row.who,
                user_id=row.user_id,
                what=what,
                old=old,
                new=new,
                why=row.history_change_reason or "",
                action=row.history_type,
            )
            for what, old, new in moved
        )
        last[row.id] = row
    return entries


def _newest_first(*lists) -> list[HistoryEntry]:
    merged = [entry for entries in lists for entry in entries]
    return sorted(merged, key=lambda e: e.when, reverse=True)


# What a figure whose input no longer exists is called in its history.
_FIGURE = gettext_lazy("填報數值")


def _coded(indicator):
    return lambda value: coded_figure(
        value, method=indicator.method, standard=indicator.measurement_standard
    )


RESULT_HISTORY_FIELDS = (
    "state",
    "progress",
    "benefit",
    "shortfall_reason",
    "improvement",
    "remarks",
    "published_text",
    "published_rate",
    "published_basis",
)


def result_history(*, result: Result, indicator: Indicator | None = None) -> list[HistoryEntry]:
    """The result's narrative, state and figures (deleted ones too) as one list, newest first.

    Two queries, whatever the number of changes, given its `indicator` with inputs and parts
    prefetched (which name the figures and say how they read); three more without."""
    own = _history(Result, RESULT_HISTORY_FIELDS, id=result.pk)
    figures = _history(ResultFigure, ("value", "published_rate"), ("key",), result_id=result.pk)
    if indicator is None:
        indicator = Indicator.objects.prefetch_related("inputs", "parts").get(
            pk=result.indicator_id
        )
    # A figure is named by its label, never by its key (`talks`, `value`): the input's, else the
    # target part's, else (an input since removed) 填報數值.
    labels = indicator.labels(inputs_win=True)
    return _newest_first(
        _entries(own, Result, RESULT_HISTORY_FIELDS),
        _entries(
            figures,
            ResultFigure,
            ("value", "published_rate"),
            lambda row: f"「{labels.get(row.key) or _FIGURE}」",
            shown={"value": _coded(indicator)},
        ),
    )


INDICATOR_HISTORY_FIELDS = (
    "code",
    "order",
    "name",
    "evaluation_system",
    "evaluation_method",
    "measurement_standard",
    "target_text",
    "weight",
    "method",
    "aggregation",
    "formula",
    "baseline",
    "part_rate_cap",
)


def indicator_history(*, indicator: Indicator) -> list[HistoryEntry]:
    """The indicator's definition, inputs and target parts (revisions, deletions) as one list,
    newest first. Three queries, whatever the number of changes."""
    input_fields = ("label", "unit")  # not `key`: an internal code the label already names
    part_fields = ("label", "value", "original_value", "revision_reason", "unit", "weight")
    own = _history(Indicator, INDICATOR_HISTORY_FIELDS, id=indicator.pk)
    inputs = _history(IndicatorInput, input_fields, indicator_id=indicator.pk)
    parts = _history(TargetPart, part_fields, indicator_id=indicator.pk)
    return _newest_first(
        _entries(own, Indicator, INDICATOR_HISTORY_FIELDS),
        _entries(
            inputs,
            IndicatorInput,
            input_fields,
            lambda row: f"{IndicatorInput._meta.verbose_name}「{row.label}」",
        ),
        _entries(
            parts,
            TargetPart,
            part_fields,
            lambda row: f"{TargetPart._meta.verbose_name}「{row.label}」",
            shown=dict.fromkeys(("value", "original_value"), _coded(indicator)),
        ),
    )


def milestone_history(*, indicator: Indicator) -> list[HistoryEntry]:
    """Every change of the indicator's 分季目標, newest first. One query."""
    rows = _history(Milestone, ("value",), ("part_id", "quarter"), part__indicator_id=indicator.pk)
    labels = {p.pk: p.label for p in indicator.parts.all()}
    return _newest_first(
        _entries(
            rows,
            Milestone,
            ("value",),
            lambda row: (
                _("「%(part)s」第%(q)s季") % {"part": labels.get(row.part_id, ""), "q": row.quarter}
            ),
        )
    )


# --- my work ---------------------------------------------------------------------------------
#
# My work is read as plain rows, as entry reads them: a person's list is small, but the page is
# the one everybody opens, and model instances (with a queryset per prefetch) cost more than
# everything else it does.


@dataclass(frozen=True, slots=True)
class WorkIndicator:
    """An indicator as my work lists it: `target` is its 目標值 as listed (`target_wording`),
    `responsible_unit` an unsaved Unit of the values read (pk, agency_id, code, name) or None."""

    pk: int
    code: str
    name: str
    method: str
    measurement_standard: str
    target: str
    agency_code: str
    responsible_unit: Unit | None


class WorkResult(NamedTuple):
    """A result as my work reads it: its quarter, state and figures (key, value) in their
    order."""

    quarter: int
    state: str
    figures: tuple[tuple[str, Decimal | None], ...]


@dataclass(frozen=True)
class WorkRow:
    """One indicator on a person's list for a quarter."""

    indicator: WorkIndicator
    result: WorkResult | None  # this quarter's, in any state
    state: str | None  # None: 未填報
    state_label: str
    last_figures: tuple[tuple[str, Decimal | None], ...]  # (label, value) of the latest entry
    deadline: date | None
    days_left: int | None  # negative once the deadline has passed
    # The quarter's figures (any state) against its milestone (Q4: the target); None: none yet.
    judgement: QuarterJudgement | None = None

    @property
    def overdue(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0


# The state filter's value for "nothing entered yet" (a result's states are its own values).
NOT_ENTERED_STATE = "none"


class WorkCount(NamedTuple):
    state: str  # a Result.State value, or NOT_ENTERED_STATE
    label: str
    count: int


@dataclass(frozen=True)
class MyWork:
    rows: tuple[WorkRow, ...]  # only those of the `state` asked for, when one was
    counts: tuple[WorkCount, ...]  # every state, 未填報 first, whatever the `state` asked for


def work_states() -> tuple[tuple[str, str], ...]:
    """The states my work filters by, as (value, label): 未填報 first, then the workflow's."""
    return ((NOT_ENTERED_STATE, str(NOT_ENTERED)), *Result.State.choices)


class WorkUnit(NamedTuple):
    """A unit my work filters by, as read: enough to list it and to link to its workbook."""

    pk: int
    code: str
    name: str
    agency_id: int
    agency_code: str
    agency_name: str


# The units of the agencies `agency_ids` (None: every agency), as my work lists them. Read on
# the page everybody opens: its SQL is built once (kpitrack.core.prepared).
_WORK_UNITS = Prepared(
    lambda agency_ids: (
        Unit.objects.filter(*[] if agency_ids is None else [Q(agency_id__in=agency_ids)])
        .order_by("agency__code", "order", "id")
        .values_list("pk", "code", "name", "agency_id", "agency__code", "agency__name")
    )
)


def work_units(*, user) -> list[WorkUnit]:
    """The units my work filters by: those of the agencies the user may see
    (`permissions.visible_agency_ids`), in their order (their agency's code, then theirs). One
    query, as plain rows: a viewer of a ministry lists every unit of it, on the page everybody
    opens, and a model per row cost more than the query."""
    visible = visible_agency_ids(user)
    return [WorkUnit(*row) for row in _WORK_UNITS(None if visible is None else sorted(visible))]


# The years with a plan, newest first: the year filter of my work. Its SQL is built once.
_PLAN_YEARS = Prepared(
    lambda: StrategicGoal.objects.order_by("-year").values_list("year", flat=True).distinct()
)


def plan_years() -> list[int]:
    """The years of every strategic goal, newest first (the filters' choices)."""
    return _PLAN_YEARS()


def _deadline(row, year, quarter, periods, exceptions) -> date | None:
    """The day entry closes for the indicator's unit (`row` as my work reads it): the
    period's (or, before anyone asked for the period, the agency's default), or a later
    exception's."""
    closes = periods.get(row["goal__agency_id"])
    if closes is None:
        last_month = quarter * 3
        quarter_end = date(year, last_month, monthrange(year, last_month)[1])
        closes = quarter_end + timedelta(days=1 + row["goal__agency__entry_window_days"])
    until = exceptions.get(row["responsible_unit_id"])
    return max(closes, until) if until is not None else closes


_WORK_FIELDS = (
    *_ENTRY_FIELDS,
    "measurement_standard",
    "goal__agency_id",
    "goal__agency__code",
    "goal__agency__entry_window_days",
    "responsible_unit__agency_id",
    "responsible_unit__code",
    "responsible_unit__name",
)


def _work_indicators(year, agency_ids, unit_ids, unit_id):
    # indicators_for_user's, from its scope: the agencies' (None: none of them, or with
    # `unit_ids` None too, every agency's) or the units' (None: none), of `unit_id` if given.
    indicators = Indicator.objects.filter(goal__year=year)
    indicators = indicators.filter(in_indicator_scope(agency_ids, unit_ids))
    if unit_id is not None:
        indicators = indicators.filter(responsible_unit_id=unit_id)
    return indicators.order_by("goal__agency__code", "goal__order", "order", "id").values_list(
        *_WORK_FIELDS
    )


# My work's reads, on the page everybody opens: each one's SQL is built once
# (kpitrack.core.prepared), where building it cost more than running it.
_WORK_INDICATORS = Prepared(_work_indicators)
_WORK_RESULTS = Prepared(
    lambda indicator_ids, goal_ids, quarter: (
        Result.objects.filter(_of_ids_or_goals(indicator_ids, goal_ids), quarter__lte=quarter)
        .order_by()
        .values_list(
            "indicator_id", "quarter", "figures__id", "state", "figures__key", "figures__value"
        )
    )
)
# The periods (by agency) and the entry exceptions (by unit) in one query, a UNION ALL: one
# round trip where two were. In no order (one period per agency; the latest exception wins):
# their own orders join the agencies and units.
_WORK_DEADLINES = Prepared(
    lambda agency_ids, year, quarter: (
        ReportingPeriod.objects.filter(agency_id__in=agency_ids, year=year, quarter=quarter)
        .order_by()
        .annotate(kind=Value(0))
        .values_list("kind", "agency_id", "closes_on")
        .union(
            EntryException.objects.filter(agency_id__in=agency_ids, year=year, quarter=quarter)
            .order_by()
            .annotate(kind=Value(1))
            .values_list("kind", "unit_id", "until"),
            all=True,
        )
    )
)


def _my_indicators(user, year: int, unit) -> dict[int, dict]:
    """My work's indicators (`indicators_for_user`, of `unit` if given) as plain rows of
    _WORK_FIELDS, by id, in the page's order: one query, none where the user has no scope."""
    scope = indicator_scope(user)
    if scope is None:
        agency_ids = unit_ids = None
    else:
        # An empty list would run the query unprepared: its half is left out instead.
        agency_ids, unit_ids = (sorted(ids) or None for ids in scope)
        if agency_ids is None and unit_ids is None:
            return {}  # (Django decides an IN of nothing before any SQL.)
    rows = _WORK_INDICATORS(year, agency_ids, unit_ids, None if unit is None else unit.pk)
    return {row[0]: dict(zip(_WORK_FIELDS, row, strict=True)) for row in rows}


def _work_results(ids, where: dict, quarter: int) -> dict[int, list[WorkResult]]:
    """The results up to `quarter` of the indicators `ids`, read by `where` (`_details_of`), by
    indicator id, in quarter order: one query."""
    rows = _WORK_RESULTS(*_by_id_or_goal(where), quarter)
    read: dict[int, dict[int, tuple[str, list]]] = {}
    # Sorted here (by indicator, quarter and figure, integers: the database's order), not by an
    # ORDER BY Django costs more to build; a result without figures has one row, its id None.
    for indicator_id, number, _id, state, key, value in sorted(
        rows, key=lambda row: (row[0], row[1], row[2] or 0)
    ):
        if indicator_id in ids:
            _state, figures = read.setdefault(indicator_id, {}).setdefault(number, (state, []))
            if key is not None:
                figures.append((key, value))
    return {
        pk: [WorkResult(number, state, tuple(figures)) for number, (state, figures) in by.items()]
        for pk, by in read.items()
    }


def my_work(*, user, year: int, quarter: int, unit=None, state: str | None = None) -> MyWork:
    """Each indicator of `year` the user may enter or review, with this quarter's state, the
    latest figures entered up to it and the days left to enter it; counts by state. `unit`
    keeps the indicators that unit is responsible for; `state` (a Result.State value or
    NOT_ENTERED_STATE) keeps the rows in that state, while the counts still cover every state,
    so each count can link to its own list.

    Six queries, whatever the number of indicators: the user's memberships, the indicators
    (with their agency and unit), their inputs and parts (one), results up to the quarter with their
    figures, the quarter's periods and entry exceptions (one); and for the indicators entered this
    quarter, their judgements against the milestones (as `quarter_judgements` judges them:
    the 分季目標, the policies, and last year's where a method reads it)."""
    rows = _my_indicators(user, year, unit)
    where = _details_of(rows)
    inputs, parts = _inputs_and_parts_of(rows, where)
    results = _work_results(rows, where, quarter)
    agency_ids = {row["goal__agency_id"] for row in rows.values()}
    periods, exceptions = {}, {}
    for is_exception, owner_id, day in _WORK_DEADLINES(sorted(agency_ids), year, quarter):
        if not is_exception:
            periods[owner_id] = day
            continue
        known = exceptions.get(owner_id)
        exceptions[owner_id] = max(known, day) if known else day
    judgements = _work_judgements(rows, inputs, parts, results, year, quarter)
    today = timezone.localdate()
    labels = dict(Result.State.choices)
    units: dict[int, Unit] = {}
    work = []
    for pk, row in rows.items():
        entered = results.get(pk, ())
        result = next((r for r in entered if r.quarter == quarter), None)
        latest = next((r for r in reversed(entered) if r.figures), None)
        own_inputs, own_parts = inputs.get(pk, ()), parts.get(pk, ())
        # The figures are entered against the inputs, so their labels win over the parts'.
        names = {**{p.key: p.label for p in own_parts}, **{i.key: i.label for i in own_inputs}}
        unit_id = row["responsible_unit_id"]
        if unit_id is not None and unit_id not in units:
            units[unit_id] = Unit(
                pk=unit_id,
                agency_id=row["responsible_unit__agency_id"],
                code=row["responsible_unit__code"],
                name=row["responsible_unit__name"],
            )
        indicator = WorkIndicator(
            pk,
            row["code"],
            row["name"],
            row["method"],
            row["measurement_standard"],
            target_wording(row["target_text"], [(p.target, p.unit) for p in own_parts]),
            row["goal__agency__code"],
            units.get(unit_id),
        )
        deadline = _deadline(row, year, quarter, periods, exceptions)
        work.append(
            WorkRow(
                indicator=indicator,
                result=result,
                state=result.state if result else None,
                state_label=str(labels[result.state]) if result else str(NOT_ENTERED),
                last_figures=tuple((names.get(k, k), v) for k, v in latest.figures)
                if latest
                else (),
                deadline=deadline,
                days_left=(deadline - today).days if deadline else None,
                judgement=judgements.get(pk),
            )
        )
    tally = dict.fromkeys([None, *Result.State.values], 0)
    for row in work:
        tally[row.state] += 1
    counts = tuple(
        WorkCount(
            key or NOT_ENTERED_STATE, str(NOT_ENTERED) if key is None else str(labels[key]), n
        )
        for key, n in tally.items()
    )
    if state is not None:
        wanted = None if state == NOT_ENTERED_STATE else state
        work = [row for row in work if row.state == wanted]
    return MyWork(rows=tuple(work), counts=counts)


def _work_judgements(
    rows, inputs, parts, results, year: int, quarter: int
) -> dict[int, QuarterJudgement]:
    """`quarter_judgements` of my work's indicators entered this quarter, from the rows my work
    read of them (results up to the quarter, with their figures): the same rows `_entry_rows`
    would read again, but the later quarters', which judging a quarter never reads. Reads the
    分季目標, last year's where a method needs them, the policies; nothing when none was
    entered."""
    entry_rows = {}
    for pk, entered in results.items():
        if not any(r.quarter == quarter for r in entered):
            continue
        row = rows[pk]
        entry_rows[pk] = {
            **{name: row[name] for name in _ENTRY_FIELDS},
            "inputs": tuple(inputs.get(pk, ())),
            "parts": tuple(parts.get(pk, ())),
            "quarters": {r.quarter: dict(r.figures) for r in entered},
        }
    if not entry_rows:
        return {}
    # What _entry_indicators reads of a goal: its agency and year (the page's). One each: a
    # model made per row costs more than the rest of a row's judgement.
    agency_of = {row["goal_id"]: row["goal__agency_id"] for row in rows.values()}
    goals = {
        pk: StrategicGoal(pk=pk, agency_id=agency_of[pk], year=year)
        for pk in {row["goal_id"] for row in entry_rows.values()}
    }
    return {
        pk: entry.judge(quarter, entry.quarters.get(quarter, {}))
        for pk, entry in _entry_indicators(entry_rows, goals, milestones=True).items()
    }


def current_quarter(*, agencies) -> tuple[int, int] | None:
    """The (year, quarter) whose entry window is open today in one of `agencies`, else the one
    opened most recently; None when none has opened."""
    today = timezone.localdate()
    opened = ReportingPeriod.objects.filter(agency__in=agencies, opens_on__lte=today)
    period = (
        opened.filter(closes_on__gte=today).order_by("-year", "-quarter").first()
        or opened.order_by("-opens_on", "-year", "-quarter").first()
    )
    return (period.year, period.quarter) if period else None


def result_of(*, indicator: Indicator, quarter: int) -> Result | None:
    """The indicator's result of `quarter`, or None when nothing is entered yet."""
    return Result.objects.filter(indicator=indicator, quarter=quarter).first()


# --- a unit's quarter on one page ------------------------------------------------------------


@dataclass(frozen=True)
class UnitRow:
    """One indicator of a unit's quarter page: the indicator (goal, agency, unit, inputs and
    parts at hand), the quarter's result (figures and evidence at hand) or None, and the
    indicator as the engine reads it (`entry.judge`, `entry.warnings`)."""

    indicator: Indicator
    result: Result | None
    entry: "EntryIndicator"


def unit_quarter(*, unit, year: int, quarter: int) -> list[UnitRow]:
    """The indicators of `unit` for `year` in the documents' order, each with the quarter's
    result and what the engine needs: thirteen queries however many indicators (indicators with
    goal, agency and unit; inputs; parts; the quarter's results, their figures and evidence;
    and `entry_indicators`' seven when no method reads last year: rows, inputs, parts, recorded
    figures, milestones, goals, policies). Whose rows the user may enter is
    `permissions.can_enter`, arithmetic on memberships already read."""
    results = Result.objects.filter(quarter=quarter).prefetch_related(
        Prefetch("figures", queryset=ResultFigure.objects.order_by("id")),
        Prefetch("evidence", queryset=Evidence.objects.order_by("uploaded_at", "id")),
    )
    indicators = list(
        Indicator.objects.filter(
            goal__agency_id=unit.agency_id, goal__year=year, responsible_unit=unit
        )
        .select_related("goal", "goal__agency", "responsible_unit")
        .prefetch_related("inputs", "parts", Prefetch("results", queryset=results))
        .order_by("goal__order", "order", "pk")
    )
    entries = entry_indicators(ids=[i.pk for i in indicators]) if indicators else {}
    return [
        UnitRow(indicator, next(iter(indicator.results.all()), None), entries[indicator.pk])
        for indicator in indicators
    ]


# --- the 季管考 report (issue 17) --------------------------------------------------------------


@dataclass(frozen=True)
class QuarterlyRead:
    """What the 季管考 report reads for `agencies`, a year and a quarter: the indicators in the
    documents' order (goal with its agency, responsible unit), the quarter's results by
    indicator id (any state), the ids of those whose figures are final (approved_results_q),
    and the ids of the agencies whose year was transcribed from published documents (annual
    figures only: no quarter to report)."""

    indicators: list[Indicator]
    results: dict[int, Result]
    final: frozenset[int]
    transcribed: frozenset[int]


def quarterly_read(*, agencies, year: int, quarter: int) -> QuarterlyRead:
    """Four queries, however many agencies and indicators."""
    agency_ids = [agency.pk for agency in agencies]
    indicators = list(
        Indicator.objects.filter(goal__agency_id__in=agency_ids, goal__year=year)
        .select_related("goal__agency", "responsible_unit")
        .order_by("goal__order", "order", "id")
    )
    of_quarter = Result.objects.filter(
        indicator__goal__agency_id__in=agency_ids, indicator__goal__year=year, quarter=quarter
    )
    results = {result.indicator_id: result for result in of_quarter}
    final = of_quarter.filter(approved_results_q()).values_list("pk", flat=True)
    transcribed = transcribed_agency_ids(agency_ids=agency_ids, year=year)
    return QuarterlyRead(indicators, results, frozenset(final), transcribed)


def transcribed_agency_ids(*, agency_ids, year: int) -> frozenset[int]:
    """Which of the agencies' `year` was transcribed from the published annual documents: it has
    whole-year figures only, no quarters. One query."""
    return frozenset(
        Result.objects.filter(indicator__goal__agency_id__in=agency_ids, indicator__goal__year=year)
        .exclude(source="")
        .values_list("indicator__goal__agency_id", flat=True)
        .distinct()
    )
