"""GET and POST /api/v1/results/: a quarter's results as entered, for systems that push figures.

The caller is the signed-in session user or the holder of `Authorization: Token <key>`
(`manage.py create_api_token USER`). A POST saves a draft through the same service as the entry
form, read through the same form, so both refuse the same input with the same message:
400 per-field errors, 403 not allowed, 409 stale version (with the current values), 423 locked,
approved or outside the entry window.
"""

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from budget.models import Agency
from kpitrack.core.engine.calendar import to_roc
from kpitrack.core.formatting import exact, plain
from kpitrack.core.forms import PeriodForm
from kpitrack.core.versioning import ConcurrentEditError
from kpitrack.tokens import user_for_token
from performance import services
from performance.forms import FIGURE_PREFIX, NARRATIVE_FIELDS, ResultEntryForm, figure_inputs
from performance.models import Indicator, Result
from performance.permissions import agencies_for_user, can_view_agency
from performance.reasons import reason_message, status_label, undeclared_inputs_message
from performance.selectors import NOT_ENTERED, achievement_preview, achievements_for_year

from . import answer, error


class _Refused(Exception):
    def __init__(self, response):
        self.response = response


def _caller(request):
    """The user a request speaks for; a token, when sent, must be valid (no falling back)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, key = header.partition(" ")
        user = user_for_token(key.strip()) if scheme.lower() == "token" and key.strip() else None
        if user is None:
            raise _Refused(error(_("API 金鑰無效。"), 401))
        return user, True
    if request.user.is_authenticated:
        return request.user, False
    raise _Refused(error(_("請先登入或提供 API 金鑰。"), 401))


def inputs_to_dict(indicator: Indicator) -> list[dict]:
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


def result_to_dict(indicator: Indicator, quarter: int, result: Result | None, outcome) -> dict:
    labels = {i.key: i.label for i in indicator.inputs.all()}
    labels.update({p.key: p.label for p in indicator.parts.all()})
    return {
        "agency": indicator.goal.agency.code,
        "indicator": indicator.code,
        "name": indicator.name,
        "unit": indicator.responsible_unit.code if indicator.responsible_unit else None,
        "unit_name": indicator.responsible_unit.name if indicator.responsible_unit else None,
        "year": indicator.goal.year,
        "quarter": quarter,
        "method": indicator.method,
        "inputs": inputs_to_dict(indicator),
        "state": result.state if result else None,
        "state_label": result.get_state_display() if result else str(NOT_ENTERED),
        "version": result.version if result else None,
        "figures": {f.key: plain(f.value) for f in result.figures.all()} if result else {},
        "narrative": {name: getattr(result, name) if result else "" for name in NARRATIVE_FIELDS},
        "review_comment": result.review_comment if result else "",
        "value": exact(outcome.value),
        "achievement_rate": exact(outcome.rate),
        "status": outcome.status.value,
        "status_label": status_label(outcome.status),
        "reason": reason_message(outcome.reason, labels),
    }


def _list(request, user):
    form = PeriodForm(request.GET, agencies=Agency.objects.all())
    if not form.is_valid():
        return error(form.message, 400)
    year, quarter, agency = (form.cleaned_data[k] for k in ("year", "quarter", "agency"))
    if agency is not None and not can_view_agency(user, agency):
        return error(_("您沒有檢視這個機關的權限。"), 403)
    rows = achievements_for_year(
        year=year,
        through_quarter=quarter,
        agency=agency,
        agencies=agencies_for_user(user),
        include_unapproved=True,
    )
    unit = request.GET.get("unit") or None
    results = [
        result_to_dict(row.indicator, quarter, row.result, row.outcome)
        for row in rows
        if unit is None or getattr(row.indicator.responsible_unit, "code", None) == unit
    ]
    return answer({"year": year, "roc_year": to_roc(year), "quarter": quarter, "results": results})


def _field_errors(errors: dict) -> dict:
    return {field: [str(m) for m in messages] for field, messages in errors.items()}


def _bad(errors: dict):
    errors = _field_errors(errors)
    first = next(m for messages in errors.values() for m in messages)
    return answer({"error": first, "errors": errors}, 400)


def _read_body(request) -> dict:
    if request.content_type != "application/json":
        raise _Refused(error(_("請以 JSON 格式傳送資料。"), 400))
    try:
        body = json.loads(request.body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Refused(error(_("請以 JSON 格式傳送資料。"), 400)) from None
    if not isinstance(body, dict):
        raise _Refused(error(_("請以 JSON 物件傳送資料。"), 400))
    return body


def _indicator(user, body) -> tuple[Indicator, int]:
    period = PeriodForm(
        {k: body.get(k) for k in ("year", "quarter", "agency") if body.get(k) is not None},
        agencies=Agency.objects.all(),
    )
    errors = {}
    if not body.get("agency"):
        errors["agency"] = [_("請指定機關代碼（agency）。")]
    if body.get("quarter") is None:
        errors["quarter"] = [_("請指定季別（quarter，1 到 4）。")]
    if not period.is_valid():
        errors.update(period.errors)
    if errors:
        raise _Refused(_bad(errors))
    code = body.get("indicator")
    indicator = (
        Indicator.objects.select_related("goal", "goal__agency", "responsible_unit")
        .prefetch_related("inputs", "parts")
        .filter(goal__agency=period.cleaned_data["agency"], goal__year=period.cleaned_data["year"])
        .filter(code=code if isinstance(code, str) else "")
        .first()
    )
    if indicator is None:
        message = _("%(year)s 年度沒有代碼為「%(code)s」的指標。") % {
            "year": period.cleaned_data["year"],
            "code": code,
        }
        raise _Refused(_bad({"indicator": [message]}))
    return indicator, period.cleaned_data["quarter"]


def _entry_form(indicator, result, body) -> ResultEntryForm:
    """The entry form, filled from the JSON body, so the API reads figures as the page does."""
    figures = body.get("figures") or {}
    narrative = body.get("narrative") or {}
    errors = {}
    if not isinstance(figures, dict):
        errors["figures"] = [_("figures 必須是以填報項目代號為鍵的物件。")]
        figures = {}
    if not isinstance(narrative, dict):
        errors["narrative"] = [_("narrative 必須是物件。")]
        narrative = {}
    keys = {item.key for item in figure_inputs(indicator)}
    valid = "、".join(f"{item.label}（{item.key}）" for item in figure_inputs(indicator))
    for key in sorted(set(figures) - keys):
        errors[f"figures.{key}"] = [undeclared_inputs_message(key, valid)]
    for key in sorted(set(narrative) - set(NARRATIVE_FIELDS)):
        errors[f"narrative.{key}"] = [
            _("「%(key)s」不是說明欄位；可用：%(keys)s。")
            % {"key": key, "keys": "、".join(NARRATIVE_FIELDS)}
        ]
    for key, value in figures.items():
        if value is not None and not isinstance(value, str):
            errors[f"figures.{key}"] = [_('數值請以字串傳送，例如 "1234.5"。')]
    if errors:
        raise _Refused(_bad(errors))
    data = {FIGURE_PREFIX + key: "" if value is None else value for key, value in figures.items()}
    data.update({name: "" if v is None else str(v) for name, v in narrative.items()})
    version = body.get("version")
    data["version"] = "" if version is None else str(version)
    return ResultEntryForm(data, indicator=indicator, result=result)


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


def _save(body: dict, user):
    indicator, quarter = _indicator(user, body)
    result = Result.objects.filter(indicator=indicator, quarter=quarter).first()
    form = _entry_form(indicator, result, body)
    if not form.is_valid():
        return _bad(_form_errors(form))
    # Only the figures the caller sent change; the others keep what is stored.
    sent = set(body.get("figures") or {})
    figures = {key: value for key, value in form.figures().items() if key in sent}
    narrative = {k: v for k, v in form.narrative().items() if k in (body.get("narrative") or {})}
    try:
        saved = services.result_save_draft(
            indicator=indicator,
            quarter=quarter,
            figures=figures,
            narrative=narrative,
            expected_version=form.cleaned_data["version"],
            user=user,
        )
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _bad(_form_errors(form))
    except PermissionDenied:
        return error(_("您沒有填報此指標的權限。"), 403)
    except ConcurrentEditError as exc:
        body = {"error": exc.message}
        if exc.current is not None:
            current = Result.objects.prefetch_related("figures").get(pk=exc.current.pk)
            body["current"] = _saved(indicator, quarter, current)
        return answer(body, 409)
    except (services.ResultLocked, services.WindowClosed) as exc:
        return error(str(exc), 423)
    saved = Result.objects.prefetch_related("figures").get(pk=saved.pk)
    return answer(_saved(indicator, quarter, saved))


def _saved(indicator, quarter, result) -> dict:
    figures = {f.key: f.value for f in result.figures.all()}
    outcome = achievement_preview(indicator=indicator, quarter=quarter, figures=figures)
    return result_to_dict(indicator, quarter, result, outcome)


@csrf_exempt
def results(request):
    try:
        user, by_token = _caller(request)
        if request.method == "GET":
            return _list(request, user)
        if request.method != "POST":
            return error(_("只接受 GET 與 POST。"), 405)
        body = _read_body(request)  # before the CSRF check, which reads a form body
        if not by_token:
            # A session is a browser's: it keeps Django's CSRF protection; a token is not sent
            # by browsers on their own, so it needs none.
            refused = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
            if refused is not None:
                return error(_("CSRF 驗證失敗，請重新載入頁面。"), 403)
        return _save(body, user)
    except _Refused as refused:
        return refused.response
