"""Writes. Every change to a goal, indicator, target, result, figure or state goes through a
function here, so validation, the optimistic lock and attributed history have one place to live.

The lock unit is the aggregate root: a StrategicGoal; an Indicator with its inputs and target
parts; a Result with its figures. A change to existing data needs a reason and the version the
editor loaded; every row saved or deleted carries who and why into its history row. The version
is claimed on a fresh copy, so a refused call leaves the caller's object as it was.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from kpitrack.versioning import attribute, claim_version

from .models import Indicator, IndicatorInput, Result, ResultFigure, StrategicGoal, TargetPart
from .reasons import undeclared_inputs_message

GOAL_FIELDS = ("agency", "year", "code", "order", "title")
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
NARRATIVE_FIELDS = ("progress", "benefit", "shortfall_reason", "improvement", "remarks")
RESULT_FIELDS = (
    "owner_unit",
    *NARRATIVE_FIELDS,
    "published_text",
    "published_rate",
    "published_basis",
    "source",
    "layout",
)


def _require_reason(reason: str):
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("請說明修改理由。")}, code="reason_required")


def _check_fields(given: Iterable[str], allowed: Iterable[str]):
    unknown = set(given) - set(allowed)
    if unknown:
        raise ValidationError(
            _("未知的欄位：%(fields)s") % {"fields": "、".join(sorted(unknown))}, code="unknown"
        )


def _save(obj: models.Model, *, user, reason: str):
    obj.full_clean()
    attribute(obj, user=user, reason=reason)
    obj.save()
    return obj


def _delete(obj: models.Model, *, user, reason: str):
    # Deleted one by one (never a queryset delete) so each row leaves an attributed history row.
    attribute(obj, user=user, reason=reason)
    obj.delete()


def _changed(obj: models.Model, values: Mapping) -> bool:
    return any(getattr(obj, name) != value for name, value in values.items())


def _row_error(label: str, exc: ValidationError) -> ValidationError:
    """Names the inline row a message belongs to, so a list of them stays readable."""
    return ValidationError([f"「{label}」：{message}" for message in exc.messages], code="row")


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
    for name, value in fields.items():
        setattr(current, name, value)
    return _save(current, user=user, reason=reason)


@transaction.atomic
def strategic_goal_delete(*, goal: StrategicGoal, expected_version: int, user, reason: str):
    """Deletes the goal with its indicators and their results, every row attributed."""
    _require_reason(reason)
    current = StrategicGoal.objects.get(pk=goal.pk)
    claim_version(current, expected_version)
    for indicator in current.indicators.all():
        _delete_indicator_tree(indicator, user=user, reason=reason)
    _delete(current, user=user, reason=reason)


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
    for name, value in fields.items():
        setattr(current, name, value)
    return _write_indicator(current, inputs=inputs, parts=parts, user=user, reason=reason)


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
    return _save(current, user=user, reason=reason)


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
    _delete_indicator_tree(current, user=user, reason=reason)


# --- results and their figures ---------------------------------------------------------------


def _declared_inputs_error(indicator: Indicator, bad: Iterable[str]) -> ValidationError:
    valid = "、".join(f"{i.label}（{i.key}）" for i in indicator.inputs.all())
    return ValidationError(
        {"figures": undeclared_inputs_message("、".join(sorted(bad)), valid)}, code="undeclared"
    )


def _write_figures(result: Result, *, figures, published, delete, user, reason):
    declared = set(result.indicator.inputs.values_list("key", flat=True))
    bad = (set(figures) | set(published)) - declared
    if bad:
        raise _declared_inputs_error(result.indicator, bad)
    existing = {f.key: f for f in result.figures.all()}
    missing = set(delete) - set(existing)
    if missing:
        raise ValidationError(
            {
                "figures": _("沒有「%(keys)s」的填報數值可刪除。")
                % {"keys": "、".join(sorted(missing))}
            },
            code="missing",
        )
    for key in delete:
        _delete(existing.pop(key), user=user, reason=reason)
    for key in sorted(set(figures) | set(published)):
        figure = existing.get(key) or ResultFigure(result=result, key=key)
        values = {}
        if key in figures:
            values["value"] = figures[key]
        if key in published:
            values["published_rate"] = published[key]
        if figure.pk and not _changed(figure, values):
            continue
        for name, value in values.items():
            setattr(figure, name, value)
        try:
            _save(figure, user=user, reason=reason)
        except ValidationError as exc:
            raise _row_error(key, exc) from None


@transaction.atomic
def result_create(
    *,
    indicator: Indicator,
    quarter: int,
    user,
    reason: str = "",
    state: str = Result.State.DRAFT,
    figures: Mapping[str, Decimal | None] | None = None,
    published: Mapping[str, str] | None = None,
    **fields,
) -> Result:
    """A new quarter's result; `figures` by input key, `published` the printed part rates."""
    _check_fields(fields, RESULT_FIELDS)
    result = _save(
        Result(indicator=indicator, quarter=quarter, state=state, **fields),
        user=user,
        reason=reason,
    )
    _write_figures(
        result,
        figures=figures or {},
        published=published or {},
        delete=(),
        user=user,
        reason=reason,
    )
    return result


@transaction.atomic
def result_update(
    *,
    result: Result,
    expected_version: int,
    user,
    reason: str,
    figures: Mapping[str, Decimal | None] | None = None,
    published: Mapping[str, str] | None = None,
    delete_figures: Iterable[str] = (),
    **fields,
) -> Result:
    """Change narrative and figures; refuse if the result changed since `expected_version`."""
    _require_reason(reason)
    _check_fields(fields, RESULT_FIELDS)
    current = Result.objects.select_related("indicator").get(pk=result.pk)
    claim_version(current, expected_version)
    for name, value in fields.items():
        setattr(current, name, value)
    _save(current, user=user, reason=reason)
    _write_figures(
        current,
        figures=figures or {},
        published=published or {},
        delete=list(delete_figures),
        user=user,
        reason=reason,
    )
    return current


def result_figure_delete(
    *, figure: ResultFigure, expected_version: int, user, reason: str
) -> Result:
    """`expected_version` is the result's: its figures are edited under its lock."""
    return result_update(
        result=figure.result,
        expected_version=expected_version,
        user=user,
        reason=reason,
        delete_figures=[figure.key],
    )


@transaction.atomic
def result_state_set(
    *, result: Result, state: str, expected_version: int, user, reason: str
) -> Result:
    """An administrator sets a state directly; the review workflow will add its own rules."""
    _require_reason(reason)
    if state not in Result.State.values:
        raise ValidationError(
            {"state": _("「%(state)s」不是成果狀態。") % {"state": state}}, code="state"
        )
    current = Result.objects.get(pk=result.pk)
    claim_version(current, expected_version)
    current.state = state
    return _save(current, user=user, reason=reason)


def _delete_result_tree(result: Result, *, user, reason: str):
    for figure in result.figures.all():
        _delete(figure, user=user, reason=reason)
    _delete(result, user=user, reason=reason)


@transaction.atomic
def result_delete(*, result: Result, expected_version: int, user, reason: str):
    _require_reason(reason)
    current = Result.objects.get(pk=result.pk)
    claim_version(current, expected_version)
    _delete_result_tree(current, user=user, reason=reason)
