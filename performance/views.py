"""The quarterly entry and review pages. Thin: `permissions.access_*` fetches what the address
names and checks the user's rights (404 when it does not exist, 403 when it is not theirs), a
form reads the request, a service writes (and decides every rule again: permission, window,
lock, state, version), a selector reads, a template renders. The buttons offered are
`permissions.allowed_actions`. A service's refusal becomes the page with its message and status
in one place (`page_refusals.on_form`): bad input 400, a stale save 409 with the other person's
values beside the form, a locked or approved result or a closed window 423 — the quarter is
closed to this person, not the request malformed.
"""

from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kpitrack.core.engine.calendar import QUARTERS
from kpitrack.core.formatting import through_quarter_choices
from performance import permissions

from . import selectors, services
from .forms import (
    EvidenceForm,
    MilestoneForm,
    ResultEntryForm,
    ReviewForm,
    WorkFilterForm,
    figure_errors,
    figure_inputs,
)
from .models import Evidence, Indicator, Result
from .page_refusals import REFUSALS, on_form
from .reasons import reason_message
from .work_page import work_page_html
from .work_rows import work_rows_html


def _outcome_context(indicator: Indicator, quarter: int, figures) -> dict:
    outcome, judgement = selectors.quarter_preview(
        indicator=indicator, quarter=quarter, figures=figures
    )
    return {
        "outcome": outcome,
        "judgement": judgement,
        "outcome_reason": reason_message(outcome.reason, indicator.labels()),
        # Behind the quarter's milestone (Q4: short of the target): explained on submit.
        "short": judgement.behind,
    }


def _stored_figures(result: Result | None) -> dict:
    return {f.key: f.value for f in result.figures.all()} if result else {}


def _separation_note(user, result, indicator, actions) -> str | None:
    """Why a 複核 reviewer is offered no 複核 here (separation of duties), or None."""
    if "final_approve" in actions or not permissions.may(user, permissions.FINAL_REVIEW, indicator):
        return None
    conflict = permissions.final_review_conflict(user, result, indicator)
    return permissions.separation_message(conflict) if conflict else None


def _page(request, indicator, quarter, result, *, form=None, review_form=None, status=200, **extra):
    actions = permissions.allowed_actions(request.user, result, indicator)
    if form is None and permissions.EDIT in actions:
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
        "actions": actions,
        "separation_note": _separation_note(request.user, result, indicator, actions),
        "stored_rows": [
            (item, _stored_figures(result).get(item.key)) for item in figure_inputs(indicator)
        ],
        "quarters": through_quarter_choices(),
        # Issue 17: the unit's whole quarter on one page, for those who enter the unit's.
        "unit_page": indicator.responsible_unit is not None
        and permissions.can_enter_unit(request.user, indicator.responsible_unit),
        **_outcome_context(indicator, quarter, figures),
        **extra,
    }
    return render(request, "performance/entry.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def entry(request, indicator: int, quarter: int):
    indicator, result = permissions.access_result(request.user, indicator, quarter, entered=False)
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
    except REFUSALS as exc:
        status, extra = on_form(exc, form)
        return _page(request, indicator, quarter, result, form=form, status=status, **extra)
    messages.success(request, _("已送出，等待初核。") if submit else _("草稿已儲存。"))
    return redirect("result-entry", indicator=indicator.pk, quarter=quarter)


@login_required
@require_POST
def preview(request, indicator: int, quarter: int):
    """The htmx preview: the server's engine on what is typed so far, nothing saved."""
    indicator, result = permissions.access_result(request.user, indicator, quarter, entered=False)
    form = ResultEntryForm(request.POST, indicator=indicator, result=result)
    if not form.is_valid():
        errors = figure_errors(form)
        return render(request, "performance/_preview.html", {"preview_errors": errors})
    context = {"indicator": indicator, **_outcome_context(indicator, quarter, form.figures())}
    return render(request, "performance/_preview.html", context)


def _returned_message(notified) -> str:
    """What the page after 退回修正 says: whom the return was told to, or that nobody could be."""
    if not notified:
        return _("已退回；填報單位沒有可通知的成員，請另行告知。")
    names = "、".join(sorted(user.get_username() for user in notified))
    return _("已退回，並已通知 %(count)s 人修正：%(names)s。") % {
        "count": len(notified),
        "names": names,
    }


@login_required
@require_POST
def review(request, indicator: int, quarter: int):
    indicator, result = permissions.access_result(
        request.user,
        indicator,
        quarter,
        to=(permissions.FIRST_REVIEW, permissions.FINAL_REVIEW),
    )
    actions = permissions.allowed_actions(request.user, result, indicator)
    if not actions & permissions.REVIEW_ACTIONS and _separation_note(
        request.user, result, indicator, actions
    ):
        return _page(request, indicator, quarter, result, status=403)  # the page says why
    # A reviewer whose turn it is not (yet, or any more) has nothing to do here either.
    permissions.require(bool(actions & permissions.REVIEW_ACTIONS))
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
            returned = services.result_return(comment=form.cleaned_data["comment"], **common)
            done = _returned_message(returned.notified)
        elif "final_approve" in actions:
            services.result_final_approve(**common)
            done = _("已核定。")
        else:
            services.result_first_approve(**common)
            done = _("初核通過。")
    except REFUSALS as exc:
        status, extra = on_form(exc, form)
        return _page(request, indicator, quarter, result, review_form=form, status=status, **extra)
    messages.success(request, done)
    return redirect("result-entry", indicator=indicator.pk, quarter=quarter)


@login_required
@require_POST
def evidence_upload(request, indicator: int, quarter: int):
    # The right to enter is checked here; the result's state is the service's (423, not 403).
    indicator, result = permissions.access_result(
        request.user, indicator, quarter, to=permissions.ENTER
    )
    form = EvidenceForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            services.evidence_add(
                result=result, upload=form.cleaned_data["file"], user=request.user
            )
        except REFUSALS as exc:
            # A message that names no field is about the file.
            status, _extra = on_form(exc, form, field="file")
        else:
            messages.success(request, _("佐證資料已上傳。"))
            return redirect("result-entry", indicator=indicator.pk, quarter=quarter)
    return _page(request, indicator, quarter, result, evidence_form=form, status=status)


@login_required
@require_GET
def evidence_download(request, pk: int):
    evidence = permissions.access_evidence(request.user, pk)
    prefix = settings.EVIDENCE_ACCEL_REDIRECT
    if prefix:
        # The proxy sends the file (docs/deploying.md); the headers are the ones FileResponse
        # would send. The stored path is percent-encoded, as nginx expects (it decodes it): a
        # file restored or moved by hand may carry CJK, spaces, ? or # in its name.
        response = HttpResponse(content_type=evidence.content_type)
        response["Content-Disposition"] = content_disposition_header(True, evidence.original_name)
        response["X-Accel-Redirect"] = prefix + quote(evidence.file.name, safe="/")
    else:
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
    indicator = permissions.access_indicator(request.user, indicator)
    prefetch_related_objects([indicator], "inputs", "parts")
    evidence = Evidence.objects.select_related("uploaded_by")
    results = list(
        indicator.results.order_by("quarter").prefetch_related(Prefetch("evidence", evidence))
    )
    context = {
        "indicator": indicator,
        "indicator_history": selectors.indicator_history(indicator=indicator),
        "result_histories": [
            (result, selectors.result_history(result=result, indicator=indicator))
            for result in results
        ],
    }
    return render(request, "performance/history.html", context)


def _workbook_link(unit, year: int, quarter: int) -> str:
    """The Excel workbook page, opened on the unit and quarter shown when a unit is chosen."""
    if unit is None:
        return reverse("workbook")
    scope = f"{unit.agency_code}|{unit.code}"
    return f"{reverse('workbook')}?{urlencode({'scope': scope, 'year': year, 'quarter': quarter})}"


@login_required
@require_http_methods(["GET", "POST"])
def milestones(request, indicator: int):
    """An indicator's 分季目標: anyone who may see it reads them; the planning office (初核) or
    the agency's 管理者 sets them, with a reason kept in the history."""
    indicator = permissions.access_indicator(request.user, indicator)
    may_plan = permissions.can_plan(request.user, indicator.goal.agency)
    if request.method == "POST":
        permissions.require(may_plan)
    plan = selectors.milestone_plan(indicator=indicator)
    form = MilestoneForm(request.POST if request.method == "POST" else None, plan=plan)
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            changes = [
                services.MilestoneChange(indicator.pk, quarter, value, key)
                for key, quarter, value in form.planned()
            ]
            try:
                written = services.milestones_set(
                    changes=changes, user=request.user, reason=form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                # The form has checked each figure; what is left names no field of it.
                form.add_error(None, exc.messages)
            else:
                if written:
                    messages.success(request, _("分季目標已儲存。"))
                else:
                    messages.info(request, _("分季目標沒有變更。"))
                return redirect("indicator-milestones", indicator=indicator.pk)
    context = {
        "indicator": indicator,
        "form": form,
        "may_plan": may_plan,
        "history": selectors.milestone_history(indicator=indicator),
    }
    return render(request, "performance/milestones.html", context, status=status)


@login_required
@require_GET
def my_work(request):
    """The chosen quarter's indicators the user enters or reviews, optionally of one unit and
    one state; by default the latest plan year's first quarter."""
    years = selectors.plan_years()
    data = request.GET.copy()
    if "year" not in data:
        data.update({"year": years[0] if years else "", "quarter": 1})
    units = selectors.work_units(user=request.user)
    form = WorkFilterForm(data, units=units, states=selectors.work_states())
    context = {"form": form, "years": years, "quarter_numbers": QUARTERS}
    if not form.is_valid():
        context["page"] = work_page_html(request.user, context)
        return render(request, "performance/my_work.html", context, status=400)
    year, quarter = form.cleaned_data["year"], form.cleaned_data["quarter"]
    unit, state = form.cleaned_data["unit"], form.cleaned_data["state"]
    work = selectors.my_work(user=request.user, year=year, quarter=quarter, unit=unit, state=state)
    base = {"year": year, "quarter": quarter, **({"unit": unit.pk} if unit else {})}
    context.update(
        {
            "year": year,
            "quarter": quarter,
            "unit": unit,
            "state": state,
            "work": work,
            "work_rows": work_rows_html(work.rows, quarter),
            # Each count links to its own list: the same year, quarter and unit, that state.
            "count_links": [
                (count, f"?{urlencode({**base, 'state': count.state})}") for count in work.counts
            ],
            "all_states_link": f"?{urlencode(base)}",
            "workbook_link": _workbook_link(unit, year, quarter),
        }
    )
    # Issue 17: the quarter of each unit the user enters, on one page.
    units = {}
    for row in work.rows:
        row_unit = row.indicator.responsible_unit
        if row_unit is not None and row_unit.pk not in units:
            if permissions.can_enter_unit(request.user, row_unit):
                units[row_unit.pk] = (row.indicator.agency_code, row_unit)
    context["unit_pages"] = list(units.values())
    context["page"] = work_page_html(request.user, context)
    return render(request, "performance/my_work.html", context)
