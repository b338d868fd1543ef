"""GET and POST /api/v1/results/: a quarter's results as entered, for systems that push figures.

The caller is the signed-in session user or the holder of `Authorization: Token <key>`
(`manage.py create_api_token USER`). A POST saves a draft through the same service as the entry
form, read through the same form, so both refuse the same input with the same message:
400 per-field errors, 403 not allowed, 409 stale version (with the current values), 423 locked,
approved or outside the entry window (the statuses come from kpitrack.core.refusals).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import Query, Router

from budget.selectors import agency_by_code
from kpitrack.core.engine.calendar import to_roc
from kpitrack.core.formatting import exact, plain
from kpitrack.core.forms import PeriodForm
from kpitrack.core.refusals import Refusal
from kpitrack.core.versioning import ConcurrentEditError
from performance import services
from performance.forms import FIGURE_PREFIX, NARRATIVE_FIELDS, ResultEntryForm, figure_inputs
from performance.models import Result
from performance.permissions import can_view_agency, visible_agency_ids
from performance.reasons import reason_message, status_label, undeclared_inputs_message
from performance.selectors import (
    NOT_ENTERED,
    EntryIndicator,
    IndicatorRow,
    ResultRow,
    entry_indicator_by_code,
    result_row,
    results_as_entered,
)

from .errors import Invalid
from .schemas import ERRORS, ConflictError, Error, ResultIn, ResultOut, ResultsOut, ResultsQuery

router = Router(tags=["results"])


def inputs_to_dict(indicator: IndicatorRow) -> list[dict]:
    return [
        {
            "key": item.key,
            "label": item.label,
            "unit": item.unit,
            "role": item.role,
            "target": plain(item.target),
            "weight": plain(item.weight),
        }
        for item in figure_inputs(indicator)
    ]


# A result's state by value -> its label, as Result.get_state_display() says it.
_STATE_LABELS = dict(Result.State.choices)


def result_to_dict(
    indicator: IndicatorRow, quarter: int, result: ResultRow | None, outcome
) -> dict:
    row = result.row if result else None
    return {
        "agency": indicator.agency_code,
        "indicator": indicator.code,
        "name": indicator.name,
        "unit": indicator.unit_code,
        "unit_name": indicator.unit_name,
        "year": indicator.year,
        "quarter": quarter,
        "method": indicator.method,
        "inputs": inputs_to_dict(indicator),
        "state": row["state"] if row else None,
        "state_label": str(_STATE_LABELS[row["state"]] if row else NOT_ENTERED),
        "version": row["version"] if row else None,
        "figures": {key: plain(value) for key, value in result.figures.items()} if row else {},
        "narrative": {name: row[name] if row else "" for name in NARRATIVE_FIELDS},
        "review_comment": row["review_comment"] if row else "",
        "value": exact(outcome.value),
        "achievement_rate": exact(outcome.rate),
        "status": outcome.status.value,
        "status_label": status_label(outcome.status),
        "reason": reason_message(outcome.reason, indicator.labels()),
    }


@router.get(
    "/results/",
    response={200: ResultsOut, **ERRORS},
    url_name="results",
    exclude_unset=True,
)
def results(request, query: Query[ResultsQuery]):
    """The quarter's results the caller may see, entered or not, with each indicator's inputs."""
    user = request.auth
    form = PeriodForm(request.GET, agency_by_code=agency_by_code)
    if not form.is_valid():
        raise Refusal(form.message)
    year, quarter, agency = (form.cleaned_data[k] for k in ("year", "quarter", "agency"))
    if agency is not None and not can_view_agency(user, agency):
        raise PermissionDenied(_("您沒有檢視這個機關的權限。"))
    rows = results_as_entered(
        year=year,
        quarter=quarter,
        agency=agency,
        # An agency asked for is one the user sees (just checked): no need to narrow again.
        agency_ids=visible_agency_ids(user) if agency is None else None,
        unit_code=request.GET.get("unit") or None,
    )
    answers = [result_to_dict(row.indicator, quarter, row.result, row.outcome) for row in rows]
    return {"year": year, "roc_year": to_roc(year), "quarter": quarter, "results": answers}


def _indicator(payload: ResultIn) -> tuple[IndicatorRow, EntryIndicator, int]:
    data = {"year": payload.year, "quarter": payload.quarter, "agency": payload.agency}
    # The agency is read with the indicator (one query less); only a refusal reads it alone,
    # to say which of the two is not there, as the period form with the agency says it.
    period = PeriodForm(data)
    if period.is_valid():
        year, quarter = period.cleaned_data["year"], period.cleaned_data["quarter"]
        found = entry_indicator_by_code(
            # Stripped, as the form's agency field reads it.
            agency_code=payload.agency.strip(),
            year=year,
            code=payload.indicator,
        )
        if found is not None:
            return *found, quarter
    period = PeriodForm(data, agency_by_code=agency_by_code)
    if not period.is_valid():
        raise Invalid(period.errors)
    message = _("%(year)s 年度沒有代碼為「%(code)s」的指標。") % {
        "year": period.cleaned_data["year"],
        "code": payload.indicator,
    }
    raise Invalid({"indicator": [message]})


def _entry_form(indicator: IndicatorRow, payload: ResultIn) -> ResultEntryForm:
    """The entry form, filled from the JSON body, so the API reads figures as the page does."""
    figures = payload.figures or {}
    narrative = payload.narrative or {}
    errors = {}
    keys = {item.key for item in figure_inputs(indicator)}
    valid = "、".join(f"{item.label}（{item.key}）" for item in figure_inputs(indicator))
    for key in sorted(set(figures) - keys):
        errors[f"figures.{key}"] = [undeclared_inputs_message(key, valid)]
    for key in sorted(set(narrative) - set(NARRATIVE_FIELDS)):
        errors[f"narrative.{key}"] = [
            _("「%(key)s」不是說明欄位；可用：%(keys)s。")
            % {"key": key, "keys": "、".join(NARRATIVE_FIELDS)}
        ]
    if errors:
        raise Invalid(errors)
    data = {FIGURE_PREFIX + key: "" if value is None else value for key, value in figures.items()}
    data.update({name: "" if v is None else str(v) for name, v in narrative.items()})
    data["version"] = "" if payload.version is None else str(payload.version)
    return ResultEntryForm(data, indicator=indicator)


def _form_errors(form: ResultEntryForm) -> dict:
    errors = {}
    for name, messages in form.errors.items():
        if name.startswith(FIGURE_PREFIX):
            errors[f"figures.{name.removeprefix(FIGURE_PREFIX)}"] = messages
        elif name in NARRATIVE_FIELDS:
            errors[f"narrative.{name}"] = messages
        elif name == "__all__":
            errors["non_field_errors"] = messages
        else:
            errors[name] = messages
    return errors


@router.post(
    "/results/",
    response={200: ResultOut, **ERRORS, 409: ConflictError, 413: Error, 423: Error},
    url_name="results",
    exclude_unset=True,
)
def result_save(request, payload: ResultIn):
    """Saves a draft of one indicator's quarter, as the entry form does. A session needs the
    CSRF token (`X-CSRFToken`); a token does not."""
    indicator, entry, quarter = _indicator(payload)
    # The form only reads what was sent: the stored result would be its initial values, unread.
    form = _entry_form(indicator, payload)
    if not form.is_valid():
        raise Invalid(_form_errors(form))
    # Only the figures the caller sent change; the others keep what is stored.
    sent = set(payload.figures or {})
    figures = {key: value for key, value in form.figures().items() if key in sent}
    narrative = {k: v for k, v in form.narrative().items() if k in (payload.narrative or {})}
    try:
        saved = services.result_save_draft_read(
            indicator=entry,
            quarter=quarter,
            figures=figures,
            narrative=narrative,
            expected_version=form.cleaned_data["version"],
            user=request.auth,
        )
    except ValidationError as exc:
        form.add_service_errors(exc)
        raise Invalid(_form_errors(form)) from exc
    except PermissionDenied as exc:
        raise PermissionDenied(_("您沒有填報此指標的權限。")) from exc
    except ConcurrentEditError as exc:
        if exc.current is not None:  # the other person's values, to show beside the refusal
            current = result_row(pk=exc.current.pk)
            exc.answer_current = _answer(indicator, entry, quarter, current)
        raise
    return _answer(indicator, entry, quarter, saved)


def _answer(indicator: IndicatorRow, entry: EntryIndicator, quarter: int, result: ResultRow):
    # The indicator as read for the save (the other quarters, last year's, the policy) is what
    # the engine needs to preview the result's figures: no read more.
    outcome = entry.preview(quarter, result.figures)
    return result_to_dict(indicator, quarter, result, outcome)
