"""Writes of results and their figures outside the quarterly workflow: the admin, the loader,
deletions."""

from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kpitrack.core import writes
from kpitrack.core.versioning import claim_version

from ..models import (
    Indicator,
    Result,
    ResultFigure,
)
from ..reasons import undeclared_inputs_message

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


# --- results and their figures ---------------------------------------------------------------


def _declared_inputs_error(inputs: Iterable, bad: Iterable[str]) -> ValidationError:
    """`inputs` are the indicator's (anything with a key and a label)."""
    valid = "、".join(f"{i.label}（{i.key}）" for i in inputs)
    return ValidationError(
        {"figures": undeclared_inputs_message("、".join(sorted(bad)), valid)}, code="undeclared"
    )


def _write_figures(result: Result, *, figures, published, delete, user, reason):
    declared = set(result.indicator.inputs.values_list("key", flat=True))
    bad = (set(figures) | set(published)) - declared
    if bad:
        raise _declared_inputs_error(result.indicator.inputs.all(), bad)
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
        writes.delete(existing.pop(key), user=user, reason=reason)
    for key in sorted(set(figures) | set(published)):
        figure = existing.get(key) or ResultFigure(result=result, key=key)
        values = {}
        if key in figures:
            values["value"] = figures[key]
        if key in published:
            values["published_rate"] = published[key]
        if figure.pk and not writes.changed(figure, values):
            continue
        for name, value in values.items():
            setattr(figure, name, value)
        try:
            writes.save(figure, user=user, reason=reason)
        except ValidationError as exc:
            raise writes.row_error(key, exc) from None


@writes.atomic
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
    writes.check_fields(fields, RESULT_FIELDS)
    result = writes.save(
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


@writes.atomic
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
    writes.require_reason(reason)
    writes.check_fields(fields, RESULT_FIELDS)
    current = Result.objects.select_related("indicator").get(pk=result.pk)
    claim_version(current, expected_version)
    writes.model_update(current, data=fields, user=user, reason=reason)
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


@writes.atomic
def result_state_set(
    *, result: Result, state: str, expected_version: int, user, reason: str
) -> Result:
    """Sets a state directly, with no workflow rule and no permission check: for tests and
    data set-up only. No page, admin form, API or command calls it; people move a state through
    the workflow's services (review.py, periods.py)."""
    writes.require_reason(reason)
    if state not in Result.State.values:
        raise ValidationError(
            {"state": _("「%(state)s」不是成果狀態。") % {"state": state}}, code="state"
        )
    current = Result.objects.select_related("indicator__goal").get(pk=result.pk)
    claim_version(current, expected_version)
    current.state = state
    writes.save(current, user=user, reason=reason)
    return current


def _delete_result_tree(result: Result, *, user, reason: str):
    for figure in result.figures.all():
        writes.delete(figure, user=user, reason=reason)
    writes.delete(result, user=user, reason=reason)


@writes.atomic
def result_delete(*, result: Result, expected_version: int, user, reason: str):
    writes.require_reason(reason)
    current = Result.objects.select_related("indicator__goal").get(pk=result.pk)
    claim_version(current, expected_version)
    _delete_result_tree(current, user=user, reason=reason)
