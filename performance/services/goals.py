"""Writes of strategic goals (施政目標)."""

from kpitrack.core import writes
from kpitrack.core.versioning import claim_version

from ..models import (
    StrategicGoal,
)
from .indicators import _delete_indicator_tree

GOAL_FIELDS = ("agency", "year", "code", "order", "title")


# --- strategic goals -------------------------------------------------------------------------


@writes.atomic
def strategic_goal_create(*, user, reason: str = "", **fields) -> StrategicGoal:
    writes.check_fields(fields, GOAL_FIELDS)
    return writes.save(StrategicGoal(**fields), user=user, reason=reason)


@writes.atomic
def strategic_goal_update(
    *, goal: StrategicGoal, expected_version: int, user, reason: str, **fields
) -> StrategicGoal:
    writes.require_reason(reason)
    writes.check_fields(fields, GOAL_FIELDS)
    current = StrategicGoal.objects.get(pk=goal.pk)
    claim_version(current, expected_version)
    # Moving a goal to another year or agency moves its indicators' outcomes with it: the
    # update touches where the goal was and where it is.
    writes.model_update(current, data=fields, user=user, reason=reason)
    return current


@writes.atomic
def strategic_goal_delete(*, goal: StrategicGoal, expected_version: int, user, reason: str):
    """Deletes the goal with its indicators and their results, every row attributed."""
    writes.require_reason(reason)
    current = StrategicGoal.objects.get(pk=goal.pk)
    claim_version(current, expected_version)
    for indicator in current.indicators.prefetch_related("results__figures", "inputs", "parts"):
        _delete_indicator_tree(indicator, user=user, reason=reason)
    writes.delete(current, user=user, reason=reason)
