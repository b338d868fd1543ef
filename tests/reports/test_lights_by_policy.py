"""Lights print only where the agency's policy for the year says it uses them: nia's documents
print none (see test_reports_html, _pdf and _xlsx); with the 2010 policy switched on, the same
report prints the 燈號 column and the 一、指標達成情形燈號統計 summary on the page, in the PDF
and in the workbook. Transcribed results without raw figures follow their published figure; none is
「無法評估」."""

import re
import subprocess
from io import BytesIO

import pytest
from openpyxl import load_workbook

from budget.models import AchievementPolicy, Agency
from budget.services import achievement_policy_set
from kpitrack.reports.assembly import report_for
from kpitrack.reports.render import pdf_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

# 9 of the 11 FY2010 indicators print a figure a light can follow; 2 print none, so have no light.
COUNTS = {"綠燈": 9, "黃燈": 0, "紅燈": 0, "合計": 9}
SUMMARY = "一、指標達成情形燈號統計"
TABLE = "二、績效目標及衡量指標達成情形"


@pytest.fixture
def lit_2010():
    """nia's 2010 policy with lights on, through the service an administrator's edit uses."""
    agency = Agency.objects.get(code="nia")
    policy = AchievementPolicy.objects.get(agency=agency, year=2010)
    assert policy.uses_lights is False, "the seeded policy should print no lights"
    achievement_policy_set(
        agency=agency,
        year=2010,
        expected_version=policy.version,
        user=None,
        reason="測試：使用燈號",
        uses_lights=True,
    )
    return report_for(agency, "performance", 2010, 4)


def test_the_page_shows_the_light_column_and_summary_when_the_policy_says(client, bob, lit_2010):
    client.force_login(bob)
    html = client.get("/reports/nia/performance/2010/").content.decode()
    assert SUMMARY in html and TABLE in html
    counts = dict(
        re.findall(r'<span class="light \w+">([^<]*)</span></th><td class="num">(\d+)</td>', html)
    )
    assert counts == {"綠燈": "9", "黃燈": "0", "紅燈": "0"}, counts
    header = re.search(r'<table class="results perf">.*?<thead>(.*?)</thead>', html, re.S)[1]
    assert '<th scope="col">燈號</th>' in header
    assert html.count('<td class="c"><span class="light green">綠燈</span></td>') == 9
    assert "無法評估" not in html


@pytest.mark.pdf
def test_the_pdf_prints_the_lights_and_lists_both_sections(lit_2010, tmp_path):
    path = tmp_path / "lit.pdf"
    path.write_bytes(pdf_bytes(lit_2010))
    layout = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    flat = re.sub(r"\s+", "", layout)
    assert re.search(re.escape(SUMMARY) + r"\.+\d+" + re.escape(TABLE) + r"\.+\d+", flat), (
        "the table of contents lists the summary and the table"
    )
    counts = {
        m[1]: int(m[2])
        for m in re.finditer(r"^\s*(綠燈|黃燈|紅燈|白燈|合計)\s+(\d+)", layout, re.MULTILINE)
    }
    assert counts == COUNTS, counts
    assert flat.count("綠燈") == 9 + 1, "one 綠燈 per lit row, and one in the summary"


def test_the_workbook_has_the_light_sheet_and_column(lit_2010):
    wb = load_workbook(BytesIO(xlsx_bytes(lit_2010)))
    assert wb.sheetnames == ["燈號統計", "指標達成情形", "目標項目明細"]
    counts = dict(wb["燈號統計"].iter_rows(min_row=2, values_only=True))
    assert counts == COUNTS
    rows = list(wb["指標達成情形"].values)
    lights = [row[rows[0].index("燈號")] for row in rows[1:]]
    assert lights.count("綠燈") == 9 and lights.count("") + lights.count(None) == 2, lights
