"""Writes of strategic goals (施政目標)."""

from django.db import transaction

from kpitrack.core.versioning import claim_version

from .. import outcomes
from ..models import (
    StrategicGoal,
)
from ._common import _check_fields, _delete, _require_reason, _save
from .indicators import _delete_indicator_tree

GOAL_FIELDS = ("agency", "year", "code", "order", "title")


# --- strategic goals -------------------------------------------------------------------------


@transaction.atomic
def strategic_goal_create(*, user, reason: str = "", **fields) -> StrategicGoal:
    _check_fields(fields, GOAL_FIELDS)
    return _save(StrategicGoal(**fields), user=user, reason=reason)


@transaction.atomic
def strategic_goal_update(
    *, goal: StrategicGoal, expected_version: int, user, reason: str, **fields
) -> StrategicGoal:
    _require_reason(reason)
    _check_fields(fields, GOAL_FIELDS)
    current = StrategicGoal.objects.get(pk=goal.pk)
    claim_version(current, expected_version)
    before = {(current.agency_id, current.year), (current.agency_id, current.year + 1)}
    for name, value in fields.items():
        setattr(current, name, value)
    _save(current, user=user, reason=reason)
    # Moving a goal to another year or agency moves its indicators' outcomes with it.
    outcomes.refresh(pairs=before | {(current.agency_id, current.year + n) for n in (0, 1)})
    return current


@transaction.atomic
def strategic_goal_delete(*, goal: StrategicGoal, expected_version: int, user, reason: str):
    """Deletes the goal with its indicators and their results, every row attributed."""
    _require_reason(reason)
    current = StrategicGoal.objects.get(pk=goal.pk)
    claim_version(current, expected_version)
    for indicator in current.indicators.all():
        _delete_indicator_tree(indicator, user=user, reason=reason)
    _delete(current, user=user, reason=reason)
    outcomes.refresh(pairs={(current.agency_id, current.year + 1)})
