"""Report pages. The PDF and Excel views subclass the HTML view: same lookup, same data."""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from kpitrack.engine.calendar import FIRST_YEAR, LAST_YEAR, is_valid_year
from kpitrack.permissions import agencies_for_user, get_agency_for_user

from .assembly import BUDGET, KINDS, PERFORMANCE, ReportNotFound, report_for, report_years
from .render import (
    body_template,
    content_disposition,
    pdf_bytes,
    quarter_choices,
    xlsx_bytes,
)


def _error(request, message, status):
    return render(request, "reports/error.html", {"message": message}, status=status)


def _quarter(raw) -> int | None:
    if raw in (None, ""):
        return 2
    return int(raw) if raw in ("1", "2", "3", "4") else None


class ReportView(LoginRequiredMixin, View):
    def get(self, request, agency, kind, year):
        agency = get_agency_for_user(request.user, agency)
        if kind not in KINDS:
            return _error(request, _("沒有這種報表。"), 404)
        if not is_valid_year(year):
            return _error(
                request,
                _("年度必須介於 %(first)s 與 %(last)s 之間。")
                % {"first": FIRST_YEAR, "last": LAST_YEAR},
                400,
            )
        through = _quarter(request.GET.get("q"))
        if through is None:
            return _error(request, _("上年度已過期間必須是第 1 到第 4 季。"), 400)
        try:
            report = report_for(agency, kind, year, through)
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
        }
        return render(request, "reports/page.html", context)


class ReportPDFView(ReportView):
    def respond(self, request, report):
        response = HttpResponse(pdf_bytes(report), content_type="application/pdf")
        response["Content-Disposition"] = content_disposition(report, "pdf", "inline")
        return response


class ReportXLSXView(ReportView):
    def respond(self, request, report):
        response = HttpResponse(
            xlsx_bytes(report),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = content_disposition(report, "xlsx", "attachment")
        return response


@login_required
def index(request):
    agencies = [
        {
            "agency": agency,
            "budget_years": report_years(agency, BUDGET),
            "performance_years": report_years(agency, PERFORMANCE),
        }
        for agency in agencies_for_user(request.user)
    ]
    return render(request, "reports/index.html", {"agencies": agencies})


@login_required
def pick(request):
    """The year picker's target: validates the choice and redirects to the report's address."""
    agency = get_agency_for_user(request.user, request.GET.get("agency", ""))
    kind = request.GET.get("kind", "")
    raw_year = request.GET.get("year", "")
    if kind not in KINDS:
        return _error(request, _("沒有這種報表。"), 400)
    if not (raw_year.isascii() and raw_year.isdigit() and is_valid_year(int(raw_year))):
        return _error(request, _("請選擇有效的年度。"), 400)
    url = reverse("report", args=[agency.code, kind, int(raw_year)])
    if kind == BUDGET:
        through = _quarter(request.GET.get("q"))
        if through is None:
            return _error(request, _("上年度已過期間必須是第 1 到第 4 季。"), 400)
        url += f"?q={through}"
    return redirect(url)
