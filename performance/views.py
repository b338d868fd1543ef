"""The quarterly entry and review pages. Thin: a form reads the request, a service writes (and
decides every rule: permission, window, lock, state, version), a selector reads, a template
renders. How each refusal is answered:

- bad input (a form's or a service's ValidationError): the page again, messages next to their
  fields, 400;
- not allowed (PermissionDenied): 403;
- somebody saved since the page was loaded (ConcurrentEditError): the page again with the other
  person's values beside the form, 409;
- a locked or approved result (ResultLocked): the page with the message, 423;
- the entry window closed (WindowClosed): the page with the message, 423 as well — the quarter is
  closed to this person, not the request malformed.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kpitrack.core.engine.calendar import QUARTERS
from kpitrack.core.formatting import through_quarter_choices
from kpitrack.core.forms import PeriodForm
from kpitrack.core.versioning import ConcurrentEditError
from performance import permissions

from . import selectors, services
from .forms import EvidenceForm, ResultEntryForm, ReviewForm, figure_inputs
from .models import Evidence, Indicator, Result, StrategicGoal
from .reasons import reason_message

EDITABLE = (Result.State.DRAFT, Result.State.RETURNED)


def _indicator(pk: int) -> Indicator:
    queryset = Indicator.objects.select_related(
        "goal", "goal__agency", "responsible_unit"
    ).prefetch_related("inputs", "parts")
    return get_object_or_404(queryset, pk=pk)


def _result(indicator: Indicator, quarter: int) -> Result | None:
    if quarter not in QUARTERS:
        raise Http404("quarter")
    return (
        Result.objects.filter(indicator=indicator, quarter=quarter)
        .prefetch_related("figures", "evidence")
        .first()
    )


def _rights(user, indicator: Indicator, result: Result | None) -> dict[str, bool]:
    agency = indicator.goal.agency
    state = result.state if result else None
    enter = permissions.can_enter(user, indicator)
    rights = {
        "edit": enter and state in (None, *EDITABLE),
        "submit": permissions.can_submit(user, indicator) and state in (None, *EDITABLE),
        "first_review": permissions.can_first_review(user, agency)
        and state == Result.State.SUBMITTED,
        "final_review": permissions.can_final_review(user, agency)
        and state == Result.State.FIRST_APPROVED,
    }
    rights["view"] = (
        enter
        or permissions.can_first_review(user, agency)
        or permissions.can_final_review(user, agency)
        or permissions.can_view_agency(user, agency)
    )
    return rights


def _outcome_context(indicator: Indicator, quarter: int, figures) -> dict:
    outcome = selectors.achievement_preview(indicator=indicator, quarter=quarter, figures=figures)
    labels = {i.key: i.label for i in indicator.inputs.all()}
    labels.update({p.key: p.label for p in indicator.parts.all()})
    return {
        "outcome": outcome,
        "outcome_reason": reason_message(outcome.reason, labels),
        "short": selectors.falls_short(outcome.raw_rate),
    }


def _stored_figures(result: Result | None) -> dict:
    return {f.key: f.value for f in result.figures.all()} if result else {}


def _page(request, indicator, quarter, result, *, form=None, review_form=None, status=200, **extra):
    rights = _rights(request.user, indicator, result)
    if form is None and rights["edit"]:
        form = ResultEntryForm(indicator=indicator, result=result)
    figures = (
        form.figures() if form is not None and form.is_bound and form.is_valid() else None
    ) or _stored_figures(result)
    context = {
        "indicator": indicator,
        "quarter": quarter,
        "result": result,
        "state_label": result.get_state_display() if result else selectors.NOT_ENTERED,
        "form": form,
        "review_form": review_form
        or ReviewForm(initial={"version": getattr(result, "version", None)}),
        "evidence_form": EvidenceForm(),
        "rights": rights,
        "stored_rows": [
            (item, _stored_figures(result).get(item.key)) for item in figure_inputs(indicator)
        ],
        "quarters": through_quarter_choices(),
        **_outcome_context(indicator, quarter, figures),
        **extra,
    }
    return render(request, "performance/entry.html", context, status=status)


def _conflict(exc: ConcurrentEditError) -> dict:
    current = exc.current
    if current is None:
        return {"conflict": {"message": exc.message}}
    last = current.history.select_related("history_user").first()
    return {
        "conflict": {
            "message": exc.message,
            "result": current,
            "figures": _stored_figures(current),
            "who": last.history_user.get_username() if last and last.history_user else "",
            "when": last.history_date if last else None,
        }
    }


@login_required
@require_http_methods(["GET", "POST"])
def entry(request, indicator: int, quarter: int):
    indicator = _indicator(indicator)
    result = _result(indicator, quarter)
    rights = _rights(request.user, indicator, result)
    permissions.require(rights["view"])
    if request.method == "GET":
        return _page(request, indicator, quarter, result)
    form = ResultEntryForm(request.POST, indicator=indicator, result=result)
    if not form.is_valid():
        return _page(request, indicator, quarter, result, form=form, status=400)
    submit = request.POST.get("action") == "submit"
    try:
        with transaction.atomic():
            saved = services.result_save_draft(
                indicator=indicator,
                quarter=quarter,
                figures=form.figures(),
                narrative=form.narrative(),
                expected_version=form.cleaned_data["version"],
                user=request.user,
            )
            if submit:
                services.result_submit(
                    result=saved, expected_version=saved.version, user=request.user
                )
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _page(request, indicator, quarter, result, form=form, status=400)
    except ConcurrentEditError as exc:
        return _page(request, indicator, quarter, result, form=form, status=409, **_conflict(exc))
    except (services.ResultLocked, services.WindowClosed) as exc:
        form.add_error(None, str(exc))
        return _page(request, indicator, quarter, result, form=form, status=423)
    messages.success(request, _("已送出，等待初核。") if submit else _("草稿已儲存。"))
    return redirect("result-entry", indicator=indicator.pk, quarter=quarter)


@login_required
@require_POST
def preview(request, indicator: int, quarter: int):
    """The htmx preview: the server's engine on what is typed so far, nothing saved."""
    indicator = _indicator(indicator)
    result = _result(indicator, quarter)
    permissions.require(_rights(request.user, indicator, result)["view"])
    form = ResultEntryForm(request.POST, indicator=indicator, result=result)
    if not form.is_valid():
        # Only the figures matter here; each bad one is named so the preview says why it waits.
        errors = [
            (form[name].label, error)
            for name in form.errors
            if name.startswith("f_")
            for error in form.errors[name]
        ]
        return render(request, "performance/_preview.html", {"preview_errors": errors})
    context = {"indicator": indicator, **_outcome_context(indicator, quarter, form.figures())}
    return render(request, "performance/_preview.html", context)


@login_required
@require_POST
def review(request, indicator: int, quarter: int):
    indicator = _indicator(indicator)
    result = _result(indicator, quarter)
    if result is None:
        raise Http404("result")
    rights = _rights(request.user, indicator, result)
    permissions.require(rights["first_review"] or rights["final_review"])
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _page(request, indicator, quarter, result, review_form=form, status=400)
    common = {
        "result": result,
        "expected_version": form.cleaned_data["version"],
        "user": request.user,
    }
    try:
        if form.cleaned_data["action"] == ReviewForm.RETURN:
            services.result_return(comment=form.cleaned_data["comment"], **common)
            done = _("已退回，並通知填報單位修正。")
        elif rights["final_review"]:
            services.result_final_approve(**common)
            done = _("已核定。")
        else:
            services.result_first_approve(**common)
            done = _("初核通過。")
    except ValidationError as exc:
        form.add_error(None, exc)
        return _page(request, indicator, quarter, result, review_form=form, status=400)
    except ConcurrentEditError as exc:
        return _page(
            request, indicator, quarter, result, review_form=form, status=409, **_conflict(exc)
        )
    except (services.ResultLocked, services.WindowClosed) as exc:
        form.add_error(None, str(exc))
        return _page(request, indicator, quarter, result, review_form=form, status=423)
    messages.success(request, done)
    return redirect("result-entry", indicator=indicator.pk, quarter=quarter)


@login_required
@require_POST
def evidence_upload(request, indicator: int, quarter: int):
    indicator = _indicator(indicator)
    result = _result(indicator, quarter)
    if result is None:
        raise Http404("result")
    permissions.require(permissions.can_enter(request.user, indicator))
    form = EvidenceForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            services.evidence_add(
                result=result, upload=form.cleaned_data["file"], user=request.user
            )
        except ValidationError as exc:
            # The service names the field ("file"); a bare message belongs there too.
            form.add_error(None if hasattr(exc, "error_dict") else "file", exc)
        except services.ResultLocked as exc:
            form.add_error("file", str(exc))
            status = 423
        else:
            messages.success(request, _("佐證資料已上傳。"))
            return redirect("result-entry", indicator=indicator.pk, quarter=quarter)
    return _page(request, indicator, quarter, result, evidence_form=form, status=status)


@login_required
@require_GET
def evidence_download(request, pk: int):
    evidence = get_object_or_404(
        Evidence.objects.select_related("result__indicator__goal__agency"), pk=pk
    )
    indicator = evidence.result.indicator
    permissions.require(_rights(request.user, indicator, evidence.result)["view"])
    response = FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def history(request, indicator: int):
    indicator = _indicator(indicator)
    permissions.require(_rights(request.user, indicator, None)["view"])
    evidence = Evidence.objects.select_related("uploaded_by")
    results = list(
        indicator.results.order_by("quarter").prefetch_related(Prefetch("evidence", evidence))
    )
    context = {
        "indicator": indicator,
        "indicator_history": selectors.indicator_history(indicator=indicator),
        "result_histories": [
            (result, selectors.result_history(result=result)) for result in results
        ],
    }
    return render(request, "performance/history.html", context)


@login_required
@require_GET
def my_work(request):
    """The chosen quarter's indicators the user enters or reviews; by default the latest plan
    year's first quarter."""
    years = list(StrategicGoal.objects.order_by("-year").values_list("year", flat=True).distinct())
    data = (
        request.GET if "year" in request.GET else {"year": years[0] if years else "", "quarter": 1}
    )
    form = PeriodForm(data)
    context = {"form": form, "years": years, "quarter_numbers": QUARTERS}
    if not form.is_valid():
        return render(request, "performance/my_work.html", context, status=400)
    year, quarter = form.cleaned_data["year"], form.cleaned_data["quarter"]
    work = selectors.my_work(user=request.user, year=year, quarter=quarter)
    context.update({"year": year, "quarter": quarter, "work": work})
    return render(request, "performance/my_work.html", context)
