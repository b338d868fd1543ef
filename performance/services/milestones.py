"""Writes of 分季目標 (milestones): a target part's planned value through quarter 1, 2 or 3.

Only the planning office (初核) or the agency's 管理者 may set them (`permissions.can_plan`), and
each change keeps who, when, old → new and why in the history. An empty value removes the planned
value, so the quarter goes back to the default the engine derives (never stored). Quarter 4 is
the annual target, revised as a target (`target_part_revise`), not here."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kpitrack.core import writes
from kpitrack.core.engine.milestones import PLANNED_QUARTERS
from kpitrack.core.engine.numbers import FigureError, check_figure
from performance.permissions import can_plan, require

from ..models import Indicator, Milestone, TargetPart
from ..reasons import figure_error_message


@dataclass(frozen=True)
class MilestoneChange:
    """One planned value for `milestones_set`: the indicator's part `part` (its key; None for an
    indicator with one part), through `quarter`; `value` None removes it."""

    indicator_id: int
    quarter: int
    value: Decimal | None
    part: str | None = None


def _part(indicator: Indicator, parts: list[TargetPart], key: str | None) -> TargetPart:
    if key is None:
        if len(parts) == 1:
            return parts[0]
        if not parts:
            raise ValidationError(
                _("「%(name)s」沒有目標值，無法設定分季目標。") % {"name": indicator.name},
                code="no_target",
            )
        raise ValidationError(
            _("「%(name)s」有多個目標值，請指明要設定哪一項的分季目標。")
            % {"name": indicator.name},
            code="part_required",
        )
    for part in parts:
        if part.key == key:
            return part
    raise ValidationError(
        _("「%(name)s」沒有「%(part)s」這個目標值。") % {"name": indicator.name, "part": key},
        code="unknown_part",
    )


def _check(quarter, value) -> None:
    if quarter not in PLANNED_QUARTERS:
        raise ValidationError(
            {"quarter": _("分季目標只設定第1至第3季；第4季即為年度目標值。")}, code="quarter"
        )
    if value is None:
        return
    if not isinstance(value, Decimal):
        raise ValidationError({"value": _("預定進度必須是數字。")}, code="figure")
    try:
        check_figure(value)
    except FigureError as exc:
        raise ValidationError({"value": figure_error_message(exc)}, code=exc.code) from None
    if value < 0:
        raise ValidationError({"value": _("預定進度不可為負數。")}, code="negative")


def _write(changes: list[MilestoneChange], *, user, reason: str, check=None) -> int:
    """The changes written, all or none (the caller's transaction); `check(indicator)` first
    for each. Three queries and the writes, whatever the number of changes."""
    indicators = Indicator.objects.select_related("goal__agency").in_bulk(
        {c.indicator_id for c in changes}
    )
    parts: dict[int, list[TargetPart]] = {}
    for part in TargetPart.objects.filter(indicator_id__in=list(indicators)).order_by(
        "indicator_id", "order", "id"
    ):
        parts.setdefault(part.indicator_id, []).append(part)
    stored = {
        (m.part_id, m.quarter): m
        for m in Milestone.objects.select_for_update(of=("self",))
        .select_related("part")
        .filter(part__indicator_id__in=list(indicators))
    }
    written = 0
    for change in changes:
        indicator = indicators.get(change.indicator_id)
        if indicator is None:
            raise ValidationError(_("這個指標已不存在。"), code="missing")
        if check is not None:
            check(indicator)
        _check(change.quarter, change.value)
        part = _part(indicator, parts.get(indicator.pk, []), change.part)
        row = stored.get((part.pk, change.quarter))
        if change.value is None:
            if row is not None:
                writes.delete(row, user=user, reason=reason)
                del stored[part.pk, change.quarter]
                written += 1
            continue
        if row is None:
            row = stored[part.pk, change.quarter] = Milestone(part=part, quarter=change.quarter)
        elif row.value == change.value:
            continue
        row.value = change.value
        writes.save(row, user=user, reason=reason)
        written += 1
    return written


@writes.atomic
def milestones_set(*, changes: Iterable[MilestoneChange], user, reason: str) -> int:
    """Set (or, with value None, remove) planned values for `user`, all or none; the number of
    rows written. Raises PermissionDenied unless the user may plan every indicator's agency
    (`permissions.can_plan`), and ValidationError for a quarter outside 1-3, a value that is
    no figure or below zero, or a part the indicator does not have. A change to the value
    already stored writes nothing."""
    reason = writes.require_reason(reason)
    return _write(
        list(changes),
        user=user,
        reason=reason,
        check=lambda indicator: require(can_plan(user, indicator.goal.agency)),
    )


@writes.atomic
def milestones_load(*, indicator: Indicator, planned: dict, user, reason: str) -> int:
    """Make the planned values of the parts named in `planned` (part key -> {quarter: value})
    exactly those given: a quarter left out goes back to its default. What the source
    documents say (`kpitrack.sources`), loaded by the operator: like `indicator_update`, no
    person's role is checked here. Parts not named keep theirs. The number of rows written."""
    changes = [
        MilestoneChange(indicator.pk, quarter, (planned[key] or {}).get(quarter), key)
        for key in planned
        for quarter in PLANNED_QUARTERS
    ]
    return _write(changes, user=user, reason=reason)


def milestone_set(
    *,
    indicator: Indicator,
    quarter: int,
    value: Decimal | None,
    user,
    reason: str,
    part: str | None = None,
) -> bool:
    """Set one planned value (None: remove it, back to the default); whether a row changed. The
    year is the indicator's own (an indicator belongs to one year's goal)."""
    change = MilestoneChange(indicator.pk, quarter, value, part)
    return milestones_set(changes=[change], user=user, reason=reason) > 0
