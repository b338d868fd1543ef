"""The review queue (issue 17), under /review/: every result of an agency's quarter waiting for
the user's 初核 or 複核 on one page, grouped by unit with what the decision needs inline; the
ticked ones approved at once (`services.review_bulk.results_approve`: all or none, a refused
row named), one returned with a comment (`services.result_return`).

Thin, as the entry pages: `permissions.access_review_agency` fetches the agency and checks that
the user reviews there (404, then 403); the stage asked for must be one the user holds; a form
reads the request (400, with the message, nothing written); the services decide every rule
again under each row's lock, and a refusal is the page again with the message and the status
of kpitrack.core.refusals (409 a row changed since the page was loaded, 423 frozen, 403)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from kpitrack.core.engine.calendar import QUARTERS
from kpitrack.core.refusals import status_of
from performance import permissions

from . import review_reads, services
from .models import Result
from .page_refusals import REFUSALS
from .review_forms import STAGE_LABELS, ApproveForm, QueueForm, ReturnForm
from .services.review_bulk import ApprovalsRefused, results_approve

# What the history of a result approved from the queue says beside who and when.
QUEUE_REASON = "審核清單批次核准"


def _agency(request, agency: str):
    agency = permissions.access_review_agency(request.user, agency)
    return agency, permissions.review_stages(request.user, agency)


def _queue_url(agency, year, quarter, stage) -> str:
    query = urlencode({"year": year, "quarter": quarter, "stage": stage})
    return f"{reverse('review-queue-agency', args=[agency.code])}?{query}"


def _page(request, agency, stages, form, *, status=200, **extra):
    """The queue of the quarter and stage `form` names (bound and checked by the caller's
    view); with a form that is not valid, the page with its messages and no list."""
    years = review_reads.queue_years(agency=agency)
    context = {
        "agency": agency,
        "years": years,
        "quarter_numbers": QUARTERS,
        "stages": [(s, STAGE_LABELS[s]) for s in stages],
        "form": form,
        **extra,
    }
    if form.is_valid():
        year, quarter = form.cleaned_data["year"], form.cleaned_data["quarter"]
        stage = form.cleaned_data["stage"]
        context.update(
            year=year,
            quarter=quarter,
            stage=stage,
            stage_label=STAGE_LABELS[stage],
            queue=review_reads.review_queue(
                user=request.user, agency=agency, year=year, quarter=quarter, stage=stage
            ),
        )
    return render(request, "performance/review_queue.html", context, status=status)


@login_required
@require_GET
def index(request):
    """The agencies where the user reviews; straight to the queue when there is one."""
    agencies = list(permissions.agencies_user_reviews(request.user).order_by("code"))
    permissions.require(bool(agencies))
    if len(agencies) == 1:
        return redirect("review-queue-agency", agency=agencies[0].code)
    return render(request, "performance/review_index.html", {"agencies": agencies})


@login_required
@require_GET
def queue(request, agency: str):
    agency, stages = _agency(request, agency)
    data = request.GET.copy()
    if "year" not in data:
        # By default, the newest quarter with something waiting at the user's first stage.
        stage = data.get("stage") if data.get("stage") in stages else stages[0]
        year, quarter = review_reads.queue_default_period(
            agency=agency, stage=stage, years=review_reads.queue_years(agency=agency)
        )
        data.update({"year": year or "", "quarter": quarter, "stage": stage})
    form = QueueForm(data, stages=stages)
    return _page(request, agency, stages, form, status=200 if form.is_valid() else 400)


def _selected(agency, versions: dict[int, int]):
    """The agency's results of `versions` (id -> version seen), with what the services and the
    refusals' names read; None when an id is not one of them."""
    found = Result.objects.select_related("indicator__goal__agency").in_bulk(
        list(versions), field_name="pk"
    )
    if set(found) != set(versions) or any(
        r.indicator.goal.agency_id != agency.pk for r in found.values()
    ):
        return None
    return [(found[pk], version) for pk, version in versions.items()]


@login_required
@require_POST
def approve(request, agency: str):
    agency, stages = _agency(request, agency)
    form = ApproveForm(request.POST, stages=stages)
    if not form.is_valid():
        return _page(request, agency, stages, _listing(form, stages), status=400, approve_form=form)
    stage = form.cleaned_data["stage"]
    items = _selected(agency, form.cleaned_data["versions"])
    if items is None:
        form.add_error(None, _("所選成果不存在或不屬於這個機關，請重新載入頁面。"))
        return _page(request, agency, stages, _listing(form, stages), status=400, approve_form=form)
    try:
        done = results_approve(user=request.user, items=items, stage=stage, reason=QUEUE_REASON)
    except ApprovalsRefused as exc:
        context = {
            "approve_form": form,
            "refused": exc.refused,
            "refused_ids": {r.result.pk for r in exc.refused},
            "selected": {r.pk for r, _version in items},
        }
        return _page(request, agency, stages, _listing(form, stages), status=exc.status, **context)
    n = len(done)
    if stage == permissions.FIRST_STAGE:
        done_text = ngettext("已初核通過 %(n)s 筆成果。", "已初核通過 %(n)s 筆成果。", n)
    else:
        done_text = ngettext("已核定 %(n)s 筆成果。", "已核定 %(n)s 筆成果。", n)
    messages.success(request, done_text % {"n": n})
    data = form.cleaned_data
    return redirect(_queue_url(agency, data["year"], data["quarter"], stage))


@login_required
@require_POST
def return_one(request, agency: str):
    agency, stages = _agency(request, agency)
    form = ReturnForm(request.POST, stages=stages)
    if not form.is_valid():
        return _page(request, agency, stages, _listing(form, stages), status=400, return_form=form)
    data = form.cleaned_data
    result = (
        Result.objects.select_related("indicator__goal__agency")
        .filter(pk=data["result"], indicator__goal__agency=agency)
        .first()
    )
    if result is None:
        form.add_error(None, _("所選成果不存在或不屬於這個機關，請重新載入頁面。"))
        return _page(request, agency, stages, _listing(form, stages), status=400, return_form=form)
    try:
        services.result_return(
            result=result,
            expected_version=data["version"],
            user=request.user,
            comment=data["comment"],
        )
    except REFUSALS as exc:
        why = exc.message if hasattr(exc, "message") else " ".join(exc.messages)
        form.add_error(None, f"「{review_reads.label_of(result.indicator)}」{why}")
        return _page(
            request,
            agency,
            stages,
            _listing(form, stages),
            status=status_of(exc),
            return_form=form,
        )
    messages.success(
        request,
        _("已退回「%(name)s」，並通知填報單位修正。")
        % {"name": review_reads.label_of(result.indicator)},
    )
    return redirect(_queue_url(agency, data["year"], data["quarter"], data["stage"]))


def _listing(form, stages) -> QueueForm:
    """The quarter and stage a posted form came from, to list the queue again beside its
    messages (the newest plan year's when they are missing or bad)."""
    data = {name: form.data.get(name, "") for name in ("year", "quarter", "stage")}
    return QueueForm(data, stages=stages)
