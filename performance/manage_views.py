"""The management screens (管理者): an agency's quarters — entry windows and review deadlines,
entry exceptions for a unit, locking and unlocking a quarter, reopening an approved result.

Thin, as the entry pages: `permissions.access_managed_agency` fetches the agency and checks that
the user is its administrator (404, then 403), the address's year and quarter must exist (404),
a form reads the request (400 with the message at the field), a service writes with the reason
and its history row and decides every rule again, and its refusal is the page again with the
message (`_refused`, the status from kpitrack.core.refusals): 400 bad input, 409 somebody
changed it since the page was loaded, 423 frozen. Nothing is written on any refusal.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kpitrack.core.engine.calendar import QUARTERS, is_valid_year
from kpitrack.core.refusals import Refusal, status_of
from kpitrack.core.versioning import ConcurrentEditError
from performance import permissions

from . import period_reads, services
from .manage_forms import ExceptionForm, ReasonForm, ReopenForm, WindowForm, YearForm
from .manage_tables import ExceptionTable, FrozenResultTable, QuarterTable
from .models import EntryException, Result
from .page_refusals import REFUSALS


def _quarter(request, agency: str, year: int, quarter: int):
    """The agency the user manages, and the address's year and quarter checked."""
    agency = permissions.access_managed_agency(request.user, agency)
    if not is_valid_year(year) or quarter not in QUARTERS:
        raise Http404("period")
    return agency


def _refused(exc: Exception, form) -> tuple[int, ConcurrentEditError | None]:
    """A service's refusal on `form`, and its status; a stale form keeps what was typed and
    says so above it (the page shows what is stored now)."""
    if not isinstance(exc, REFUSALS):
        raise exc
    if isinstance(exc, ConcurrentEditError):
        form.add_error(None, exc.message)
        return exc.status, exc
    if isinstance(exc, Refusal):
        form.add_error(None, exc.message)
    else:
        form.add_service_errors(exc)
    return status_of(exc), None


def _context(agency, year, quarter, **extra) -> dict:
    return {"agency": agency, "year": year, "quarter": quarter, **extra}


@login_required
@require_GET
def index(request):
    """The agencies the user manages."""
    agencies = list(permissions.agencies_user_manages(request.user).order_by("code"))
    permissions.require(bool(agencies))
    return render(request, "performance/manage/index.html", {"agencies": agencies})


@login_required
@require_GET
def agency(request, agency: str):
    """The year's four quarters: window, deadlines, lock, open exceptions, frozen results."""
    agency = permissions.access_managed_agency(request.user, agency)
    years, default = period_reads.years_to_manage(agency=agency)
    form = YearForm(request.GET if "year" in request.GET else {"year": default})
    context = {"agency": agency, "years": years, "form": form}
    if not form.is_valid():
        return render(request, "performance/manage/agency.html", context, status=400)
    year = form.cleaned_data["year"]
    rows = period_reads.quarters_of_year(agency=agency, year=year)
    context.update(year=year, table=QuarterTable(rows, agency=agency))
    return render(request, "performance/manage/agency.html", context)


def _quarter_page(request, agency, year, quarter, *, form=None, status=200, conflict=None):
    period = period_reads.period_or_default(agency=agency, year=year, quarter=quarter)
    if form is None:
        initial = {name: getattr(period, name) for name in WindowForm.DATES}
        form = WindowForm(initial={**initial, "version": period.version})
    context = _context(
        agency,
        year,
        quarter,
        period=period,
        form=form,
        conflict=conflict,
        history=period_reads.quarter_history(agency=agency, year=year, quarter=quarter),
    )
    return render(request, "performance/manage/quarter.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def quarter(request, agency: str, year: int, quarter: int):
    """The quarter's window and review deadlines (edit), with its history."""
    agency = _quarter(request, agency, year, quarter)
    if request.method == "GET":
        return _quarter_page(request, agency, year, quarter)
    form = WindowForm(request.POST)
    if not form.is_valid():
        return _quarter_page(request, agency, year, quarter, form=form, status=400)
    try:
        with transaction.atomic():
            period = services.period_get_or_create(agency=agency, year=year, quarter=quarter)
            services.period_update(
                period=period,
                expected_version=form.cleaned_data["version"],
                user=request.user,
                reason=form.cleaned_data["reason"],
                **form.dates(),
            )
    except REFUSALS as exc:
        status, conflict = _refused(exc, form)
        return _quarter_page(
            request, agency, year, quarter, form=form, status=status, conflict=conflict
        )
    messages.success(request, _("填報期間與審核期限已更新。"))
    return redirect("manage-quarter", agency=agency.code, year=year, quarter=quarter)


def _exceptions_page(request, agency, year, quarter, *, form=None, status=200):
    rows = period_reads.quarter_exceptions(agency=agency, year=year, quarter=quarter)
    context = _context(
        agency,
        year,
        quarter,
        period=period_reads.period_or_default(agency=agency, year=year, quarter=quarter),
        table=ExceptionTable(rows, agency=agency),
        form=form or ExceptionForm(units=period_reads.units_of(agency)),
    )
    return render(request, "performance/manage/exceptions.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def exceptions(request, agency: str, year: int, quarter: int):
    """The quarter's entry exceptions, and a new one for a unit."""
    agency = _quarter(request, agency, year, quarter)
    if request.method == "GET":
        return _exceptions_page(request, agency, year, quarter)
    form = ExceptionForm(request.POST, units=period_reads.units_of(agency))
    if not form.is_valid():
        return _exceptions_page(request, agency, year, quarter, form=form, status=400)
    try:
        services.entry_exception_grant(
            agency=agency,
            unit=form.cleaned_data["unit"],
            year=year,
            quarter=quarter,
            until=form.cleaned_data["until"],
            user=request.user,
            reason=form.cleaned_data["reason"],
        )
    except REFUSALS as exc:
        status, _conflict = _refused(exc, form)
        return _exceptions_page(request, agency, year, quarter, form=form, status=status)
    messages.success(
        request,
        _("已開放「%(unit)s」逾期填報至 %(until)s。")
        % {"unit": form.cleaned_data["unit"].name, "until": form.cleaned_data["until"]},
    )
    return redirect("manage-exceptions", agency=agency.code, year=year, quarter=quarter)


@login_required
@require_http_methods(["GET", "POST"])
def exception_withdraw(request, agency: str, year: int, quarter: int, pk: int):
    """Withdraw one of the quarter's exceptions, with a reason."""
    agency = _quarter(request, agency, year, quarter)
    exception = get_object_or_404(
        EntryException.objects.select_related("unit", "granted_by", "agency"),
        pk=pk,
        agency=agency,
        year=year,
        quarter=quarter,
    )
    form, status = ReasonForm(), 200
    if request.method == "POST":
        form, status = ReasonForm(request.POST), 400
        if form.is_valid():
            try:
                services.entry_exception_withdraw(
                    exception=exception, user=request.user, reason=form.cleaned_data["reason"]
                )
            except REFUSALS as exc:
                status, _conflict = _refused(exc, form)
            else:
                messages.success(
                    request, _("已撤回「%(unit)s」的逾期填報例外。") % {"unit": exception.unit.name}
                )
                return redirect("manage-exceptions", agency=agency.code, year=year, quarter=quarter)
    context = _context(agency, year, quarter, exception=exception, form=form)
    return render(request, "performance/manage/withdraw.html", context, status=status)


def _lock_page(request, agency, year, quarter, *, form=None, status=200):
    context = _context(
        agency,
        year,
        quarter,
        period=period_reads.period_or_default(agency=agency, year=year, quarter=quarter),
        counts=period_reads.quarter_state_counts(agency=agency, year=year, quarter=quarter),
        form=form or ReasonForm(),
    )
    return render(request, "performance/manage/lock.html", context, status=status)


def _lock_or_unlock(request, agency, year, quarter, *, lock: bool):
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _lock_page(request, agency, year, quarter, form=form, status=400)
    reason = form.cleaned_data["reason"]
    try:
        with transaction.atomic():
            period = services.period_get_or_create(agency=agency, year=year, quarter=quarter)
            if lock:
                services.period_lock(period=period, user=request.user, reason=reason)
            else:
                services.period_unlock(period=period, user=request.user, reason=reason)
    except REFUSALS as exc:
        status, _conflict = _refused(exc, form)
        return _lock_page(request, agency, year, quarter, form=form, status=status)
    messages.success(request, _("本季已鎖定。") if lock else _("本季已解除鎖定。"))
    return redirect("manage-lock", agency=agency.code, year=year, quarter=quarter)


@login_required
@require_http_methods(["GET", "POST"])
def lock(request, agency: str, year: int, quarter: int):
    """What locking the quarter means and how many results it freezes; lock it (POST)."""
    agency = _quarter(request, agency, year, quarter)
    if request.method == "GET":
        return _lock_page(request, agency, year, quarter)
    return _lock_or_unlock(request, agency, year, quarter, lock=True)


@login_required
@require_POST
def unlock(request, agency: str, year: int, quarter: int):
    agency = _quarter(request, agency, year, quarter)
    return _lock_or_unlock(request, agency, year, quarter, lock=False)


@login_required
@require_GET
def results(request, agency: str, year: int, quarter: int):
    """The quarter's approved and locked results, each to be reopened from here."""
    agency = _quarter(request, agency, year, quarter)
    rows = period_reads.frozen_results(agency=agency, year=year, quarter=quarter)
    context = _context(agency, year, quarter, table=FrozenResultTable(rows, agency=agency))
    return render(request, "performance/manage/results.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def reopen(request, agency: str, year: int, quarter: int, pk: int):
    """Reopen one approved or locked result for correction: back to the unit as returned, with
    the reason as the comment it sees."""
    agency = _quarter(request, agency, year, quarter)
    result = get_object_or_404(
        Result.objects.select_related("indicator__goal", "indicator__responsible_unit"),
        pk=pk,
        indicator__goal__agency=agency,
        indicator__goal__year=year,
        quarter=quarter,
    )
    form, status, conflict = ReopenForm(initial={"version": result.version}), 200, None
    if request.method == "POST":
        form, status = ReopenForm(request.POST), 400
        if form.is_valid():
            try:
                services.result_reopen(
                    result=result,
                    expected_version=form.cleaned_data["version"],
                    user=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except REFUSALS as exc:
                status, conflict = _refused(exc, form)
                result.refresh_from_db()
            else:
                messages.success(
                    request,
                    _("已重新開放「%(indicator)s」，退回填報單位修正。")
                    % {"indicator": result.indicator.name},
                )
                return redirect("manage-results", agency=agency.code, year=year, quarter=quarter)
    context = _context(agency, year, quarter, result=result, form=form, conflict=conflict)
    return render(request, "performance/manage/reopen.html", context, status=status)
