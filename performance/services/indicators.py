"""Writes of indicators with their inputs and target parts, and target revisions."""

from collections.abc import Iterable, Mapping
from decimal import Decimal

from kpitrack.core import writes
from kpitrack.core.versioning import claim_version

from ..models import (
    Indicator,
    IndicatorInput,
    TargetPart,
)
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


def _revising(reason: str):
    """A new part's original value is its value; a changed value of a part is a revision."""

    def prepare(part, row):
        if part is None:
            row.setdefault("original_value", row.get("value"))
        elif "value" in row and row["value"] != part.value:
            _revise(part, row.pop("value"), row.pop("revision_reason", "") or reason)

    return prepare


def _sync_rows(indicator, model, rows, fields, *, user, reason, revise=False):
    """Makes `indicator`'s inputs (or parts) exactly `rows`: a row with an `id` updates that row,
    one without updates the row of the same key or adds one; rows not listed are deleted."""
    writes.sync_children(
        model=model,
        parent_field="indicator",
        parent=indicator,
        rows=rows,
        fields=fields,
        user=user,
        reason=reason,
        complete=True,
        match="key",
        prepare=_revising(reason) if revise else None,
        label=lambda row: row.label or row.key,
    )


def _write_indicator(indicator, *, inputs, parts, user, reason):
    """The indicator's own row, then its inputs and parts, then the checks that need all three."""
    writes.save(indicator, user=user, reason=reason, model_clean=False)
    if inputs is not None:
        _sync_rows(indicator, IndicatorInput, inputs, INPUT_FIELDS, user=user, reason=reason)
    if parts is not None:
        _sync_rows(indicator, TargetPart, parts, PART_FIELDS, user=user, reason=reason, revise=True)
    indicator.check_formula(list(indicator.inputs.values_list("key", flat=True)))
    return indicator


@writes.atomic
def indicator_create(
    *,
    user,
    reason: str = "",
    inputs: Iterable[Mapping] = (),
    parts: Iterable[Mapping] = (),
    **fields,
) -> Indicator:
    writes.check_fields(fields, INDICATOR_FIELDS)
    return _write_indicator(
        Indicator(**fields), inputs=inputs, parts=parts, user=user, reason=reason
    )


@writes.atomic
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
    writes.require_reason(reason)
    writes.check_fields(fields, INDICATOR_FIELDS)
    current = Indicator.objects.get(pk=indicator.pk)
    claim_version(current, expected_version)
    # Touches where the indicator was too: moved to another goal, it leaves that year's outcomes.
    writes.assign(current, fields)
    return _write_indicator(current, inputs=inputs, parts=parts, user=user, reason=reason)


@writes.atomic
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
    writes.require_reason(reason)
    indicator = Indicator.objects.get(pk=part.indicator_id)
    claim_version(indicator, expected_version)
    writes.save(indicator, user=user, reason=reason)
    current = TargetPart.objects.get(pk=part.pk)
    _revise(current, value, revision_reason or reason)
    writes.save(current, user=user, reason=reason)
    return current


def _delete_indicator_tree(indicator: Indicator, *, user, reason: str):
    for result in indicator.results.all():
        _delete_result_tree(result, user=user, reason=reason)
    for row in [*indicator.inputs.all(), *indicator.parts.all()]:
        writes.delete(row, user=user, reason=reason)
    writes.delete(indicator, user=user, reason=reason)


@writes.atomic
def indicator_delete(*, indicator: Indicator, expected_version: int, user, reason: str):
    """Deletes the indicator with its inputs, parts, results and figures, every row attributed."""
    writes.require_reason(reason)
    current = Indicator.objects.prefetch_related("results__figures", "inputs", "parts").get(
        pk=indicator.pk
    )
    claim_version(current, expected_version)
    _delete_indicator_tree(current, user=user, reason=reason)
