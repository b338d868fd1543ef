"""The source's own spacing survives loading and printing: 「經  總統公布」 keeps the 挪抬 blank
before 總統 that the FY2013 budget explanation prints (two spaces in the extracted text), in
the database, on the page, in the print HTML (white-space kept) and in the workbook. The PDF's
gap is checked in test_reports_pdf."""

import re
from io import BytesIO

import pytest
from openpyxl import load_workbook

from budget.models import Agency
from kpitrack.reports.assembly import report_for
from kpitrack.reports.render import print_html, xlsx_bytes

from ..conftest import ROOT

pytestmark = pytest.mark.django_db

NUOTAI = "經  總統公布"
SEED_TEXT = ROOT.parent / "shared" / "seeds" / "000_0084f00e5697e0f9.txt"


def test_the_source_and_the_data_file_print_the_same_blank():
    if SEED_TEXT.exists():  # the source documents sit beside the project in development
        assert NUOTAI in SEED_TEXT.read_text(encoding="utf-8")
    assert NUOTAI in (ROOT / "fixtures" / "nia" / "agency.yaml").read_text(encoding="utf-8")


def test_the_loader_keeps_the_blank():
    assert NUOTAI in Agency.objects.get(code="nia").duties


def test_the_print_and_the_page_keep_the_blank(client, bob):
    report = report_for(Agency.objects.get(code="nia"), "budget", 2013, 2)
    html = print_html(report)
    para = re.search(r'<p class="para">([^<]*經  總統公布[^<]*)</p>', html)
    assert para, "the duties paragraph lost the blank before 總統"
    css = re.search(r"\.report \.para,[^{]*\{\s*white-space:\s*pre-wrap", html)
    assert css, "the paragraph's spaces would collapse into one"
    client.force_login(bob)
    assert NUOTAI in client.get("/reports/nia/budget/2013/?q=2").content.decode()


def test_the_workbook_keeps_the_blank():
    report = report_for(Agency.objects.get(code="nia"), "budget", 2013, 2)
    ws = load_workbook(BytesIO(xlsx_bytes(report)))["法定職掌與施政重點"]
    duties = {row[0]: row[1] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert NUOTAI in duties["機關主要職掌"]
