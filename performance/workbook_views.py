"""The Excel round trip: choose a unit and quarter, download its workbook, upload it filled,
read the preview, confirm.

Between the preview and the confirm the uploaded file waits in shared storage
(performance.workbook_uploads). A confirm that writes more than settings.WORKBOOK_JOB_ROWS rows
runs as a background job (performance.workbook_jobs) and sends the user to its page; a smaller
one is written on the request.
"""

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from budget.models import Agency, Unit
from kpitrack.core.formatting import through_quarter_choices
from kpitrack.core.forms import QuarterField, YearField
from kpitrack.core.refusals import Conflict, Refusal, status_of
from kpitrack.jobs.runners import QueueUnavailable
from performance import permissions

from . import selectors, workbook_jobs
from . import workbook as wb
from . import workbook_import as wi
from . import workbook_uploads as uploads

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WHOLE_AGENCY = ""
SCOPE_FIELDS = ("agency", "unit", "year", "quarter")


class ScopeForm(forms.Form):
    """Which workbook: agency, unit (empty: the whole agency), year, quarter."""

    agency = forms.CharField(label=gettext_lazy("機關"))
    unit = forms.CharField(label=gettext_lazy("單位"), required=False)
    year = YearField(label=gettext_lazy("年度"))
    quarter = QuarterField(label=gettext_lazy("季別"))

    def __init__(self, data=None, files=None, *, user, **kwargs):
        super().__init__(data, files, **kwargs)
        self.user = user

    def clean(self):
        data = super().clean()
        code = data.get("agency")
        if not code:
            return data
        agency = Agency.objects.filter(code=code).first()
        if agency is None:
            raise forms.ValidationError(_("找不到機關代碼「%(code)s」。") % {"code": code})
        permissions.require(permissions.can_view_agency(self.user, agency))
        data["agency"] = agency
        unit_code = data.get("unit") or WHOLE_AGENCY
        data["unit"] = None
        if unit_code != WHOLE_AGENCY:
            unit = Unit.objects.filter(agency=agency, code=unit_code).first()
            if unit is None:
                raise forms.ValidationError(_("找不到單位代碼「%(code)s」。") % {"code": unit_code})
            data["unit"] = unit
        return data

    def scope(self) -> wb.Scope:
        d = self.cleaned_data
        return wi.make_scope(d["agency"], d["unit"], d["year"], d["quarter"])


class UploadForm(ScopeForm):
    file = forms.FileField(label=gettext_lazy("填好的活頁簿（.xlsx）"))


def _choices(user):
    """The agencies and units whose workbooks `user` may take, for the page's lists."""
    options = []
    for agency in permissions.agencies_for_user(user).prefetch_related("units"):
        units = [u for u in agency.units.all() if wi.may_use_scope(user, agency, u)]
        whole = wi.may_use_scope(user, agency, None)
        if units or whole:
            options.append((agency, whole, units))
    return options


def _years(user, scope) -> list[int]:
    """The picker's years, newest first: those with goals in the user's agencies, and the
    one the page shows."""
    by_agency = selectors.goal_years(agencies=permissions.agencies_for_user(user))
    years = set().union(*by_agency.values())
    if scope is not None:
        years.add(scope.year)
    return sorted(years, reverse=True)


def _scope_data(query):
    """The page's one list names agency and unit together (`scope=agency|unit`)."""
    if not query:
        return None
    data = query.copy()
    if "scope" in data:
        data["agency"], _bar, data["unit"] = data.pop("scope")[-1].partition("|")
    return data


def _page(request, *, form=None, upload_form=None, report=None, status=200, **extra):
    scope_form = form or ScopeForm(_scope_data(request.GET), user=request.user)
    scope = scope_form.scope() if scope_form.is_bound and scope_form.is_valid() else None
    if scope is not None and upload_form is None:
        upload_form = UploadForm(user=request.user)
    # The upload carries the scope the page shows, or the one it was posted with.
    source = (
        upload_form.data if upload_form is not None and upload_form.is_bound else scope_form.data
    )
    context = {
        "form": scope_form,
        "scope": scope,
        "scope_label": wi.scope_label(scope) if scope else "",
        "upload_form": upload_form,
        "options": _choices(request.user),
        "years": _years(request.user, scope),
        "chosen_year": str(source.get("year", "")),
        "quarters": through_quarter_choices(),
        "report": report,
        "scope_query": _scope_query(scope_form) if scope else "",
        "upload_values": {n: source.get(n, "") for n in SCOPE_FIELDS},
        **extra,
    }
    return render(request, "performance/workbook_page.html", context, status=status)


@login_required
@require_GET
def workbook_page(request):
    return _page(request)


@login_required
@require_GET
def workbook_download(request):
    form = ScopeForm(_scope_data(request.GET), user=request.user)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    d = form.cleaned_data
    if not wi.may_use_scope(request.user, d["agency"], d["unit"]):
        return _page(
            request,
            form=form,
            status=403,
            refusal=_("您沒有「%(scope)s」的填報權限。") % {"scope": wi.scope_label(form.scope())},
        )
    data = wi.build_for(
        request.user, agency=d["agency"], unit=d["unit"], year=d["year"], quarter=d["quarter"]
    )
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, wi.file_name(form.scope()))
    return response


def _status(report: wi.Report) -> int:
    """The page's status for an import's report, as kpitrack.core.refusals gives each refusal."""
    if report.forbidden:
        return status_of(PermissionDenied())
    if report.stale:
        return Conflict.status
    return 200 if report.ok else Refusal.status


@login_required
@require_POST
def workbook_upload(request):
    form = UploadForm(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        return _page(request, upload_form=form, status=400)
    upload = form.cleaned_data["file"]
    name = Path(upload.name).name
    if upload.size > wb.max_bytes():
        report = wi.Report(file_name=name, problems=[wb.too_big(upload.size)])
        return _page(request, upload_form=form, report=report, status=400)
    data = upload.read()
    scope = form.scope()
    report = wi.import_workbook(data, name=name, user=request.user, commit=False, expected=scope)
    token = None
    if report.ok and report.changed_rows:
        token = uploads.store(
            data,
            {
                "user": request.user.pk,
                "name": name,
                "scope": {n: form.data.get(n, "") for n in SCOPE_FIELDS},
                "parsed": report.parsed.to_json(),
                "plan": report.plan(),
            },
        )
    return render(
        request,
        "performance/workbook_preview.html",
        {"report": report, "token": token, "scope_query": _scope_query(form)},
        status=_status(report),
    )


def _scope_query(form) -> str:
    query = QueryDict(mutable=True)
    for name in SCOPE_FIELDS:
        query[name] = form.data.get(name, "")
    return query.urlencode()


@login_required
@require_POST
def workbook_confirm(request):
    token = request.POST.get("token", "")
    stored = uploads.load(token, request.user)
    if stored is None:
        raise PermissionDenied(_("找不到這次上傳，或上傳已過期；請重新上傳活頁簿。"))
    _data, meta = stored
    form = ScopeForm(meta["scope"], user=request.user)
    if not form.is_valid():
        raise PermissionDenied(_("找不到這次上傳，或上傳已過期；請重新上傳活頁簿。"))
    if uploads.rows_to_write(meta) > settings.WORKBOOK_JOB_ROWS:
        try:
            job = workbook_jobs.import_start(
                user=request.user,
                token=token,
                meta=meta,
                scope=form.scope(),
                agency=form.cleaned_data["agency"],
                scope_query=_scope_query(form),
            )
        except QueueUnavailable as exc:
            return _page(request, form=form, status=503, refusal=str(exc))
        return redirect("job", pk=job.pk)
    report = wi.import_parsed(
        wb.Parsed.from_json(meta["parsed"]),
        name=meta["name"],
        user=request.user,
        commit=True,
        expected=form.scope(),
        planned=meta["plan"],
    )
    if report.written:
        uploads.discard(token)
        return render(
            request,
            "performance/workbook_done.html",
            {"report": report, "scope_query": _scope_query(form)},
        )
    uploads.discard(token)
    return render(
        request,
        "performance/workbook_preview.html",
        {"report": report, "token": None, "scope_query": _scope_query(form), "refused": True},
        status=_status(report) if not report.ok else Conflict.status,
    )
