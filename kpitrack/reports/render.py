"""One entry point per output format, shared by the web views and `manage.py render_report`."""

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from .assembly import BUDGET
from .pdf import html_to_pdf, print_font_family
from .xlsx import report_workbook


def quarter_labels():
    return {1: _("1-3月"), 2: _("1-6月"), 3: _("1-9月"), 4: _("1-12月")}


def body_template(report) -> str:
    return "reports/_budget.html" if report.kind == BUDGET else "reports/_performance.html"


def print_html(report) -> str:
    return render_to_string(
        "reports/print.html",
        {
            "report": report,
            "body_template": body_template(report),
            "toc": report.toc,
            "print": True,
            "print_face": print_font_family(),
        },
    )


def pdf_bytes(report) -> bytes:
    return html_to_pdf(print_html(report))


def xlsx_bytes(report) -> bytes:
    return report_workbook(report)


def filename(report, extension: str) -> str:
    kind = "budget" if report.kind == BUDGET else "performance"
    return f"{report.agency.code}-{kind}-{report.year}.{extension}"


def quarter_choices():
    return [(q, _("上年度%(label)s") % {"label": label}) for q, label in quarter_labels().items()]
