"""The review queue's reads (issue 17): every result of an agency's quarter waiting for the
user's 初核 (submitted) or 複核 (first-approved, less those separation of duties keeps from
them), grouped by unit, each with what a reviewer decides on — the figures by label with their
units, the milestone and target, 達成進度 and its light, the annual rate, the explanation and
the evidence.

In a number of queries that does not grow with the results: the results (with indicator, goal,
agency and unit), their evidence, the indicators as entry reads them (`entry_indicators`:
inputs, parts, figures, milestones, policies) and, at 複核, the history that separation of
duties reads (`permissions.final_review_conflicts`)."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy

from kpitrack.core.formatting import figure
from performance import permissions

from .judgements import QuarterJudgement
from .models import Evidence, Result, StrategicGoal
from .selectors import EntryInput, entry_indicators

# What each stage waits on.
WAITING = {
    permissions.FIRST_STAGE: Result.State.SUBMITTED,
    permissions.FINAL_STAGE: Result.State.FIRST_APPROVED,
}
NO_UNIT = gettext_lazy("未指定單位")


def label_of(indicator) -> str:
    """How the queue names an indicator, in its rows and its refusals: code and name."""
    return f"{indicator.code} {indicator.name}" if indicator.code else indicator.name


@dataclass(frozen=True)
class QueueRow:
    result: Result  # with its indicator, goal, agency, unit and evidence
    figures: tuple[tuple[EntryInput, Decimal | None], ...]  # by the indicator's inputs
    judgement: QuarterJudgement
    target_text: str
    # 複核 by a superuser who submitted or first-approved it: allowed, and recorded as such.
    override: str | None = None

    @property
    def label(self) -> str:
        return label_of(self.result.indicator)


@dataclass(frozen=True)
class UnitGroup:
    name: str
    rows: tuple[QueueRow, ...]


@dataclass(frozen=True)
class ReviewQueue:
    groups: tuple[UnitGroup, ...]
    # Results of this stage that separation of duties keeps from the user (not listed).
    withheld: int = 0

    @property
    def count(self) -> int:
        return sum(len(group.rows) for group in self.groups)


def waiting_results(*, agency, year: int, quarter: int, stage: str):
    """The agency's results of the quarter waiting at `stage`, as a query."""
    return Result.objects.filter(
        indicator__goal__agency=agency,
        indicator__goal__year=year,
        quarter=quarter,
        state=WAITING[stage],
    )


def queue_years(*, agency) -> list[int]:
    """The agency's plan years, newest first."""
    return list(
        StrategicGoal.objects.filter(agency=agency)
        .order_by("-year")
        .values_list("year", flat=True)
        .distinct()
    )


def queue_default_period(*, agency, stage: str, years: list[int]) -> tuple[int | None, int]:
    """The newest (year, quarter) with a result waiting at `stage`; else the newest plan year's
    first quarter."""
    newest = (
        Result.objects.filter(indicator__goal__agency=agency, state=WAITING[stage])
        .order_by("-indicator__goal__year", "-quarter")
        .values_list("indicator__goal__year", "quarter")
        .first()
    )
    if newest:
        return newest
    return (years[0] if years else None), 1


def review_queue(*, user, agency, year: int, quarter: int, stage: str) -> ReviewQueue:
    """The results waiting for `user` at `stage` (permissions.FIRST_STAGE or FINAL_STAGE) in
    `agency`'s `quarter` of `year`, by unit (in the order of the units' names), each unit's in
    the plan's order. The caller has checked that the user holds the stage."""
    results = list(
        waiting_results(agency=agency, year=year, quarter=quarter, stage=stage)
        .select_related("indicator__goal__agency", "indicator__responsible_unit")
        .prefetch_related(Prefetch("evidence", Evidence.objects.order_by("uploaded_at", "id")))
        .order_by("indicator__goal__order", "indicator__order", "indicator_id")
    )
    conflicts = (
        permissions.final_review_conflicts(user, results)
        if stage == permissions.FINAL_STAGE
        else {}
    )
    superuser = user.is_active and user.is_superuser
    withheld = 0 if superuser else sum(1 for r in results if r.pk in conflicts)
    if not superuser:
        results = [r for r in results if r.pk not in conflicts]
    entries = entry_indicators(ids=[r.indicator_id for r in results]) if results else {}
    groups: dict[str, list[QueueRow]] = {}
    for result in results:
        entry = entries[result.indicator_id]
        figures = entry.quarters.get(quarter, {})
        judgement = entry.judge(quarter, figures)
        unit = result.indicator.responsible_unit
        groups.setdefault(unit.name if unit else str(NO_UNIT), []).append(
            QueueRow(
                result=result,
                figures=tuple((item, figures.get(item.key)) for item in entry.inputs),
                judgement=judgement,
                target_text=entry.target_text
                or "、".join(
                    f"{figure(p.target)}{p.unit}" for p in judgement.parts if p.target is not None
                ),
                override=conflicts.get(result.pk),
            )
        )
    return ReviewQueue(
        groups=tuple(UnitGroup(name, tuple(rows)) for name, rows in sorted(groups.items())),
        withheld=withheld,
    )
