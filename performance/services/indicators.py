"""Writes of indicators with their inputs and target parts, and target revisions."""

from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kpitrack.core.versioning import attribute, claim_version

from .. import outcomes
from ..models import (
    Indicator,
    IndicatorInput,
    TargetPart,
)
from ._common import _changed, _check_fields, _delete, _require_reason, _row_error, _save
from .results import _delete_result_tree

INDICATOR_FIELDS = (
    "goal",
    "code",
    "order",
    "name",
    "evaluation_system",
    "evaluation_method",
    "measurement_standard",
    "target_text",
    "responsible_unit",
    "weight",
    "method",
    "aggregation",
    "formula",
    "baseline",
    "part_rate_cap",
)
INPUT_FIELDS = ("key", "label", "unit", "order")
PART_FIELDS = (
    "key",
    "label",
    "value",
    "original_value",
    "revision_reason",
    "unit",
    "weight",
    "order",
)


# --- indicators, their inputs and target parts -----------------------------------------------


def _revise(part: TargetPart, value: Decimal | None, reason: str):
    """A revised target keeps the value first set and says why it moved."""
    if part.original_value is None:
        part.original_value = part.value
    part.value = value
    part.revision_reason = reason


def _sync_rows(indicator, model, rows, fields, *, user, reason, revise=False):
    """Makes `indicator`'s inputs (or parts) exactly `rows`: a row with an `id` updates that row,
    one without updates the row of the same key or adds one; rows not listed are deleted."""
    existing = {obj.pk: obj for obj in model.objects.filter(indicator=indicator)}
    by_key = {obj.key: obj for obj in existing.values()}
    plan = []
    for row in rows:
        row = dict(row)
        row_id = row.pop("id", None)
        _check_fields(row, fields)
        if row_id is not None and row_id not in existing:
            raise ValidationError(_("資料列 %(id)s 不屬於此指標。") % {"id": row_id}, code="row")
        obj = existing.get(row_id) if row_id is not None else by_key.get(row.get("key"))
        plan.append((obj, row))
    kept = {obj.pk for obj, _row in plan if obj is not None}
    for pk, obj in existing.items():
        if pk not in kept:
            _delete(obj, user=user, reason=reason)
    for obj, row in plan:
        if obj is None:
            obj = model(indicator=indicator, **row)
            if revise and "original_value" not in row:
                obj.original_value = obj.value
        else:
            if not _changed(obj, row):
                continue
            if revise and "value" in row and row["value"] != obj.value:
                _revise(obj, row.pop("value"), row.pop("revision_reason", "") or reason)
            for name, new in row.items():
                setattr(obj, name, new)
        try:
            _save(obj, user=user, reason=reason)
        except ValidationError as exc:
            raise _row_error(obj.label or obj.key, exc) from None


def _write_indicator(indicator, *, inputs, parts, user, reason):
    """The indicator's own row, then its inputs and parts, then the checks that need all three."""
    indicator.clean_fields()
    indicator.validate_unique()
    indicator.validate_constraints()
    attribute(indicator, user=user, reason=reason)
    indicator.save()
    if inputs is not None:
        _sync_rows(indicator, IndicatorInput, inputs, INPUT_FIELDS, user=user, reason=reason)
    if parts is not None:
        _sync_rows(indicator, TargetPart, parts, PART_FIELDS, user=user, reason=reason, revise=True)
    indicator.check_formula(list(indicator.inputs.values_list("key", flat=True)))
    outcomes.refresh_for(indicator)
    return indicator


@transaction.atomic
def indicator_create(
    *,
    user,
    reason: str = "",
    inputs: Iterable[Mapping] = (),
    parts: Iterable[Mapping] = (),
    **fields,
) -> Indicator:
    _check_fields(fields, INDICATOR_FIELDS)
    return _write_indicator(
        Indicator(**fields), inputs=inputs, parts=parts, user=user, reason=reason
    )


@transaction.atomic
def indicator_update(
    *,
    indicator: Indicator,
    expected_version: int,
    user,
    reason: str,
    inputs: Iterable[Mapping] | None = None,
    parts: Iterable[Mapping] | None = None,
    **fields,
) -> Indicator:
    """Change the definition; `inputs`/`parts`, when given, are the complete new lists."""
    _require_reason(reason)
    _check_fields(fields, INDICATOR_FIELDS)
    current = Indicator.objects.get(pk=indicator.pk)
    claim_version(current, expected_version)
    moved_from = current.goal if "goal" in fields else None
    if moved_from is not None:
        outcomes.forget(indicator_id=current.pk)
    for name, value in fields.items():
        setattr(current, name, value)
    written = _write_indicator(current, inputs=inputs, parts=parts, user=user, reason=reason)
    if moved_from is not None:
        outcomes.refresh(pairs={(moved_from.agency_id, moved_from.year + n) for n in (0, 1)})
    return written


@transaction.atomic
def target_part_revise(
    *,
    part: TargetPart,
    value: Decimal | None,
    expected_version: int,
    user,
    reason: str,
    revision_reason: str = "",
) -> TargetPart:
    """Revise a target: the original value stays, the revision and its reason are recorded.

    `expected_version` is the indicator's: its parts are edited under its lock.
    """
    _require_reason(reason)
    indicator = Indicator.objects.get(pk=part.indicator_id)
    claim_version(indicator, expected_version)
    _save(indicator, user=user, reason=reason)
    current = TargetPart.objects.get(pk=part.pk)
    _revise(current, value, revision_reason or reason)
    _save(current, user=user, reason=reason)
    outcomes.refresh_for(indicator)
    return current


def _delete_indicator_tree(indicator: Indicator, *, user, reason: str):
    for result in indicator.results.all():
        _delete_result_tree(result, user=user, reason=reason)
    for row in [*indicator.inputs.all(), *indicator.parts.all()]:
        _delete(row, user=user, reason=reason)
    _delete(indicator, user=user, reason=reason)


@transaction.atomic
def indicator_delete(*, indicator: Indicator, expected_version: int, user, reason: str):
    """Deletes the indicator with its inputs, parts, results and figures, every row attributed."""
    _require_reason(reason)
    current = Indicator.objects.get(pk=indicator.pk)
    claim_version(current, expected_version)
    pairs = outcomes.pairs_after([current])
    _delete_indicator_tree(current, user=user, reason=reason)
    outcomes.refresh(pairs=pairs)
