"""One entry point per output format, shared by the web views and `manage.py render_report`."""

import re
from urllib.parse import quote

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from kpitrack.core.engine.calendar import QUARTERS
from kpitrack.core.formatting import months_label

from .assembly import BUDGET
from .pdf import html_to_pdf, print_font_family
from .xlsx import report_workbook


def body_template(report) -> str:
    if getattr(report, "body_template", None):  # the 季管考 report names its own
        return report.body_template
    return "reports/_budget.html" if report.kind == BUDGET else "reports/_performance.html"


# A `@media screen …` block (rules inside it one level deep): for the screen only. WeasyPrint
# reads media types, not features, and warned twice per PDF on `screen and (max-width: …)`.
_SCREEN_ONLY = re.compile(r"@media\s+screen\b[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}")


def report_css() -> str:
    """static/css/report.css, the report page's stylesheet, for print.html to inline: the same
    rules on screen and on paper, from one file (but its screen-only blocks)."""
    path = finders.find("css/report.css")
    with open(path, encoding="utf-8") as css:
        return mark_safe(_SCREEN_ONLY.sub("", css.read()))  # our own file, inside <style>


def print_html(report) -> str:
    return render_to_string(
        "reports/print.html",
        {
            "report": report,
            "body_template": body_template(report),
            "toc": report.toc,
            "print": True,
            "print_face": print_font_family(),
            "report_css": report_css(),
        },
    )


def pdf_bytes(report) -> bytes:
    return html_to_pdf(print_html(report))


def xlsx_bytes(report) -> bytes:
    return report_workbook(report)


def filename(report, extension: str) -> str:
    """入出國及移民署_102年度_預算總說明.pdf: agency, ROC year and document, as filed."""
    document = _("預算總說明") if report.kind == BUDGET else _("施政績效報告")
    if hasattr(report, "quarter"):  # the 季管考 report: 113年度_第2季管考報告
        document = report.document
    year = _("%(roc)s年度") % {"roc": report.roc_year}
    name = "_".join(_FILENAME_UNSAFE.sub("", part) for part in (report.agency.name, year, document))
    return f"{name}.{extension}"


def ascii_filename(report, extension: str) -> str:
    """The fallback for clients that cannot read a UTF-8 file name: nia-budget-2013.pdf."""
    code = re.sub(r"[^A-Za-z0-9_-]", "", report.agency.code) or "report"
    key = getattr(report, "file_key", None) or f"{report.kind}-{report.year}"
    return f"{code}-{key}.{extension}"


def content_disposition(report, extension: str, disposition: str) -> str:
    """RFC 6266: an ASCII `filename` for old clients and the real name as `filename*`."""
    fallback = ascii_filename(report, extension)
    utf8 = quote(filename(report, extension), safe="")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{utf8}"


# Characters no file system or browser download accepts in a name, and control characters.
_FILENAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def quarter_choices():
    return [(q, _("上年度%(label)s") % {"label": months_label(q)}) for q in QUARTERS]
