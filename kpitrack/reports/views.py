"""Report pages. The PDF and Excel files are stored exports, rendered by background jobs
(kpitrack.reports.exports, kpitrack.jobs)."""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from budget.selectors import budget_years
from kpitrack.core.engine.calendar import to_roc
from kpitrack.core.forms import ElapsedPeriodForm, PeriodForm
from kpitrack.jobs import files
from kpitrack.jobs.runners import QueueUnavailable
from kpitrack.jobs.selectors import active_job_for
from kpitrack.jobs.services import bundle_start, job_start
from performance.permissions import access_agency, agencies_for_user
from performance.selectors import goal_years

from .assembly import BUDGET, KINDS, ReportNotFound, report_for, report_years, require_year
from .exports import (
    CONTENT_TYPES,
    bundle_agencies,
    bundle_filename,
    export_key,
    named,
    stored_export,
)
from .quarterly import (
    QUARTERLY,
    quarterly_members,
    quarterly_report,
    quarterly_require,
    quarterly_years,
)
from .render import body_template, content_disposition, quarter_choices


def _error(request, message, status):
    return render(request, "reports/error.html", {"message": message}, status=status)


def _period(year, request) -> ElapsedPeriodForm:
    return ElapsedPeriodForm({"year": year, "quarter": request.GET.get("q")})


def _asked(request, agency: str, kind: str, year):
    """The agency (checked), and the year and quarter asked for; or the page refusing them."""
    agency = access_agency(request.user, agency)
    if kind not in KINDS:
        return _error(request, _("沒有這種報表。"), 404)
    period = _period(year, request)
    if not period.is_valid():
        return _error(request, period.message, 400)
    return agency, period.cleaned_data["year"], period.cleaned_data["quarter"]


class ReportView(LoginRequiredMixin, View):
    def get(self, request, agency, kind, year):
        asked = _asked(request, agency, kind, year)
        if isinstance(asked, HttpResponse):
            return asked
        agency, year, quarter = asked
        try:
            report = report_for(agency, kind, year, quarter)
        except ReportNotFound as exc:
            return _error(request, str(exc), 404)
        return self.respond(request, report)

    def respond(self, request, report):
        args = [report.agency.code, report.kind, report.year]
        query = f"?q={report.through_quarter}" if report.kind == BUDGET else ""
        context = {
            "report": report,
            "body_template": body_template(report),
            "years": report_years(report.agency, report.kind),
            "quarters": quarter_choices(),
            "pdf_url": reverse("report-pdf", args=args) + query,
            "xlsx_url": reverse("report-xlsx", args=args) + query,
            "bundle_url": reverse("report-bundle", args=args) + query,
        }
        return render(request, "reports/page.html", context)


class ExportView(LoginRequiredMixin, View):
    """The PDF or Excel file of a report: served at once when it is stored under its key
    (kpitrack.reports.exports), else rendered by a background job whose page shows the
    progress and then the download. A second request while it renders joins the same job."""

    fmt = "pdf"  # and the disposition: set by each address (kpitrack/urls.py)
    disposition = "inline"

    def get(self, request, agency, kind, year):
        asked = _asked(request, agency, kind, year)
        if isinstance(asked, HttpResponse):
            return asked
        agency, year, quarter = asked
        try:
            require_year(agency, kind, year)
        except ReportNotFound as exc:
            return _error(request, str(exc), 404)
        return self.export(request, agency, kind, year, quarter)

    def export(self, request, agency, kind, year, quarter, members=None):
        """The stored file, or the job that makes it. `members`: the agencies a 季管考 report
        covers; whoever sees the job must see all of them (kpitrack.jobs.selectors)."""
        key, stored = stored_export(agency, kind, year, quarter, self.fmt, members)
        if stored is not None:
            return self.serve(agency, kind, year, quarter, stored)
        job = active_job_for(request.user, key)
        if job is None:
            title = _("%(agency)s %(roc)s年度%(document)s（%(format)s）") % {
                "agency": agency.name,
                "roc": to_roc(year),
                "document": named(agency, kind, year, quarter).document,
                "format": self.fmt.upper(),
            }
            params = {
                "agency": agency.pk,
                "kind": kind,
                "year": year,
                "quarter": quarter,
                "format": self.fmt,
            }
            if members is not None:
                params["agencies"] = sorted(members)
            try:
                job = job_start(
                    kind="report",
                    user=request.user,
                    params=params,
                    title=title,
                    agency=agency,
                    key=key,
                )
            except QueueUnavailable as exc:
                return _error(request, str(exc), 503)
        return redirect("job", pk=job.pk)

    def serve(self, agency, kind, year, quarter, name):
        files.touch(name)
        response = FileResponse(files.open_file(name), content_type=CONTENT_TYPES[self.fmt])
        names = named(agency, kind, year, quarter)
        response["Content-Disposition"] = content_disposition(names, self.fmt, self.disposition)
        return response


@login_required
def bundle(request, agency, kind, year):
    """The reports of an agency and of every agency under it (a whole ministry) for one year:
    one job, one zip with a PDF per agency and manifest.json."""
    asked = _asked(request, agency, kind, year)
    if isinstance(asked, HttpResponse):
        return asked
    root, year, quarter = asked
    agencies = bundle_agencies(root, kind, year, agencies_for_user(request.user))
    if not agencies:
        return _error(
            request,
            _("%(agency)s及所屬機關沒有民國%(roc)s年度的報表資料。")
            % {"agency": root.name, "roc": to_roc(year)},
            404,
        )
    parts = [
        {
            "kind": "report",
            "agency": agency,
            "title": agency.name,
            "key": export_key(agency, kind, year, quarter, "pdf"),
            "params": {
                "agency": agency.pk,
                "kind": kind,
                "year": year,
                "quarter": quarter,
                "format": "pdf",
            },
        }
        for agency in agencies
    ]
    try:
        job = bundle_start(
            kind="report_bundle",
            user=request.user,
            params={"root": root.pk, "kind": kind, "year": year, "quarter": quarter},
            title=bundle_filename(root, kind, year),
            agency=root,
            parts=parts,
        )
    except QueueUnavailable as exc:
        return _error(request, str(exc), 503)
    return redirect("job", pk=job.pk)


@login_required
def index(request):
    # The years of every agency at once (as report_years, which answers for one agency): a
    # query per table, however many agencies there are.
    agencies = list(agencies_for_user(request.user))
    goals = goal_years(agencies=agencies)
    budgets = budget_years(agencies=agencies)
    rows = []
    for agency in agencies:
        performance = goals.get(agency.pk, set())
        budget = performance | budgets.get(agency.pk, set())
        rows.append(
            {
                "agency": agency,
                "budget_years": sorted(budget, reverse=True),
                "performance_years": sorted(performance, reverse=True),
                "quarterly_years": _subtree_years(agency, agencies, goals),
            }
        )
    context = {"agencies": rows, "quarters": _quarter_choices()}
    return render(request, "reports/index.html", context)


def _subtree_years(agency, agencies, goals) -> list[int]:
    """The years of the agency's 季管考 report: its own and those of the agencies under it
    (among those listed), for a ministry whose indicators are its agencies'."""
    years, stack, seen = set(), [agency.pk], set()
    while stack:
        pk = stack.pop()
        if pk in seen:
            continue
        seen.add(pk)
        years |= goals.get(pk, set())
        stack += [other.pk for other in agencies if other.parent_id == pk]
    return sorted(years, reverse=True)


@login_required
def pick(request):
    """The year picker's target: validates the choice and redirects to the report's address."""
    agency = access_agency(request.user, request.GET.get("agency", ""))
    kind = request.GET.get("kind", "")
    if kind == QUARTERLY:
        return _pick_quarter(request, agency)
    if kind not in KINDS:
        return _error(request, _("沒有這種報表。"), 400)
    period = _period(request.GET.get("year"), request)
    if not period.is_valid():
        return _error(request, period.message, 400)
    url = reverse("report", args=[agency.code, kind, period.cleaned_data["year"]])
    if kind == BUDGET:
        url += f"?q={period.cleaned_data['quarter']}"
    return redirect(url)


# --- the 季管考 report (issue 17) --------------------------------------------------------------


def _pick_quarter(request, agency):
    period = PeriodForm({"year": request.GET.get("year"), "quarter": request.GET.get("q")})
    if not period.is_valid():
        return _error(request, period.message, 400)
    args = [agency.code, period.cleaned_data["year"], period.cleaned_data["quarter"]]
    return redirect(reverse("report-quarterly", args=args))


def _quarter_choices():
    return [(q, _("第%(q)s季") % {"q": q}) for q in (1, 2, 3, 4)]


class QuarterlyReportView(LoginRequiredMixin, View):
    """/reports/<agency>/quarterly/<year>/q<quarter>/: a ministry's covers the agencies under
    it that the user may see."""

    def get(self, request, agency, year, quarter):
        agency = access_agency(request.user, agency)
        period = PeriodForm({"year": year, "quarter": quarter})
        if not period.is_valid():
            return _error(request, period.message, 400)
        visible = set(agencies_for_user(request.user).values_list("pk", flat=True))
        try:
            report = quarterly_report(
                agency,
                period.cleaned_data["year"],
                period.cleaned_data["quarter"],
                visible=visible,
            )
        except ReportNotFound as exc:
            return _error(request, str(exc), 404)
        return self.respond(request, report)

    def respond(self, request, report):
        args = [report.agency.code, report.year, report.quarter]
        context = {
            "report": report,
            "years": quarterly_years(report.agency),
            "quarters": _quarter_choices(),
            "pdf_url": reverse("report-quarterly-pdf", args=args),
            "xlsx_url": reverse("report-quarterly-xlsx", args=args),
        }
        return render(request, "reports/quarterly.html", context)


class QuarterlyExportView(ExportView):
    """The 季管考 report's PDF or Excel file, as the other reports' (stored, else a job). A
    ministry's covers the agencies under it the user may see: they are part of its key."""

    def get(self, request, agency, year, quarter):
        agency = access_agency(request.user, agency)
        period = PeriodForm({"year": year, "quarter": quarter})
        if not period.is_valid():
            return _error(request, period.message, 400)
        year, quarter = period.cleaned_data["year"], period.cleaned_data["quarter"]
        visible = set(agencies_for_user(request.user).values_list("pk", flat=True))
        members = quarterly_members(agency, visible=visible)
        try:
            quarterly_require(agency, year, members)
        except ReportNotFound as exc:
            return _error(request, str(exc), 404)
        return self.export(request, agency, QUARTERLY, year, quarter, [a.pk for a in members])
