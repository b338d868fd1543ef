from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from budget.models import Agency
from kpitrack.forms import ElapsedPeriodForm
from kpitrack.reports.assembly import KINDS, ReportNotFound, report_for
from kpitrack.reports.render import pdf_bytes, print_html, xlsx_bytes

FORMATS = ("html", "pdf", "xlsx")


class Command(BaseCommand):
    help = "Render 預算總說明 (budget) or 施政績效報告 (performance) to an HTML, PDF or Excel file."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("--year", required=True, help="Gregorian year, e.g. 2013")
        parser.add_argument(
            "--through-quarter",
            help="budget only: the elapsed period of year N-1, 1-4 (default 2 = 1-6月)",
        )
        parser.add_argument("--format", choices=FORMATS, required=True)
        parser.add_argument("--output", required=True, help="file to write")
        parser.add_argument("--agency", help="agency code (needed when several are loaded)")

    def handle(self, kind, year, through_quarter, format, output, agency=None, **options):
        period = ElapsedPeriodForm(
            {"year": year, "quarter": through_quarter, "agency": agency},
            agencies=Agency.objects.all(),
        )
        if not period.is_valid():
            raise CommandError(period.message)
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(_("輸出資料夾不存在：%(dir)s") % {"dir": path.parent})
        agency_obj = period.cleaned_data["agency"] or self._only_agency()
        try:
            report = report_for(
                agency_obj, kind, period.cleaned_data["year"], period.cleaned_data["quarter"]
            )
        except ReportNotFound as exc:
            raise CommandError(str(exc)) from exc
        if format == "html":
            data = print_html(report).encode("utf-8")
        elif format == "pdf":
            data = pdf_bytes(report)
        else:
            data = xlsx_bytes(report)
        path.write_bytes(data)
        self.stdout.write(
            _("已寫入 %(path)s（%(size)s 位元組）") % {"path": path, "size": len(data)}
        )

    def _only_agency(self):
        # Only agencies with their own data count; a parent like 內政部 is just a name here.
        agencies = list(Agency.objects.filter(goals__isnull=False).distinct()[:2])
        if len(agencies) != 1:
            raise CommandError(_("請以 --agency 指定機關代碼。"))
        return agencies[0]
