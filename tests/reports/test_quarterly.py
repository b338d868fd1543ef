"""The 季管考 report (issue 17): an agency's indicators through a quarter against their milestones,
as HTML, PDF (read back with poppler) and Excel (read back with openpyxl), from the workflow
agency of tests/performance/conftest.py (流程測試署, this year, quarter 1):

- 指標count: milestone for Q1 set to 20, 15 reached: 75% of it, behind, with its reasons;
- 指標ratio: 45 of 50 = 90% against the default milestone (the 90% target): on pace;
- 指標other (of 秘書室): nothing entered, or 8 of 10 where a test enters it.
"""

import re
import subprocess
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from budget.models import Agency
from budget.services import agency_create
from kpitrack.reports.assembly import ReportNotFound
from kpitrack.reports.quarterly import quarterly_report, render_quarterly
from performance.models import Result
from performance.services import indicator_create, milestone_set, result_save_draft
from tests.performance.conftest import _workflow_rows, workflow  # noqa: F401 (fixtures)
from tests.performance.test_html_valid import _check as _vnu_check
from tests.performance.test_html_valid import _missing as _vnu_missing

from .test_pdf import flat
from .test_print_layout import Printed, _overlaps

pytestmark = pytest.mark.django_db

MARK = "草稿：資料未完備或未核定，非正式版本"
REASON = "=人力不足(A-B)"  # formula-like: must stay text in Excel
IMPROVEMENT = "+增派人力支援"


def _enter(flow, alice, *, everything=False):
    milestone_set(
        indicator=flow.count, quarter=1, value=Decimal("20"), user=alice, reason="分配進度"
    )
    narrative = {"shortfall_reason": REASON, "improvement": IMPROVEMENT}
    entries = [
        (flow.count, {"value": "15"}, narrative),
        (flow.ratio, {"num": "45", "den": "50"}, {}),
    ]
    if everything:
        entries.append((flow.elsewhere, {"value": "8"}, {"shortfall_reason": "颱風"}))
    for indicator, figures, text in entries:
        result_save_draft(
            indicator=indicator,
            quarter=1,
            figures=figures,
            narrative=text,
            expected_version=None,
            user=alice,
        )


def _approve_all(flow):
    Result.objects.filter(indicator__goal__agency=flow.agency).update(state=Result.State.APPROVED)


@pytest.fixture
def drafted(workflow, alice):  # noqa: F811
    _enter(workflow, alice)
    return workflow


@pytest.fixture
def approved(workflow, alice):  # noqa: F811
    _enter(workflow, alice, everything=True)
    _approve_all(workflow)
    return workflow


def _pdf(tmp_path, flow, name="q.pdf") -> list[str]:
    path = tmp_path / name
    path.write_bytes(render_quarterly(agency=flow.agency, year=flow.year, quarter=1, format="pdf"))
    return path


def _pages(path) -> list[str]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    count = int(re.search(r"Pages:\s+(\d+)", info.stdout)[1])
    return [
        flat(
            subprocess.run(
                ["pdftotext", "-f", str(n), "-l", str(n), str(path), "-"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for n in range(1, count + 1)
    ]


# --- what it says ---------------------------------------------------------------------------


def test_each_indicator_with_its_milestone_actual_progress_target_rate_light_and_state(drafted):
    report = quarterly_report(drafted.agency, drafted.year, 1)
    rows = {row.indicator.code: row for row in report.sections[0].rows}
    count, ratio, other = rows["count"], rows["ratio"], rows["other"]
    assert (count.milestone_text, count.actual_text, count.target_text) == ("20", "15", "100")
    assert count.progress == Decimal("75.00") and count.annual_rate == Decimal("15.00")
    assert count.behind and count.pace_label == "落後進度" and count.light_label == "紅燈"
    assert count.state_label == "草稿"
    assert ratio.milestone_text == "90（預設）" and ratio.actual_text == "90"
    assert not ratio.behind
    assert other.state_label == "尚未填報" and other.actual_text == "—"
    assert report.is_draft and report.draft_mark == MARK
    assert any("指標other" in item and "尚未填報" in item for item in report.incomplete)
    by_unit = {t.label: t for t in report.sections[0].by_unit}
    assert by_unit["業務組"].count == 2 and by_unit["業務組"].behind == 1
    # The mean of the two computable 達成進度 (75 and 100), unweighted.
    assert by_unit["業務組"].average == Decimal("87.50") and by_unit["業務組"].averaged == 2
    # Over the goal's three, the one without a 達成進度 is left out of the mean, not counted 0.
    (goal,) = report.sections[0].by_goal
    assert (goal.count, goal.averaged, goal.average) == (3, 2, Decimal("87.50"))
    assert goal.lights == (1, 0, 1, 1) and goal.unapproved == 3


def test_all_approved_is_final(approved):
    report = quarterly_report(approved.agency, approved.year, 1)
    assert not report.is_draft and report.draft_mark is None
    assert {row.state_label for row in report.sections[0].rows} == {"已核定"}


def test_a_ministry_reports_over_its_agencies(workflow, alice):  # noqa: F811
    _enter(workflow, alice)
    ministry = agency_create(user=alice, code="ministry", name="測試部")
    Agency.objects.filter(pk=workflow.agency.pk).update(parent=ministry)
    report = quarterly_report(ministry, workflow.year, 1)
    assert report.is_ministry
    assert [s.agency.code for s in report.sections] == ["wf"]
    assert [t.label for t in report.by_agency] == ["流程測試署"]
    assert report.incomplete[0].startswith("流程測試署：")
    # Only the agencies the user may see: none visible but the ministry leaves nothing.
    with pytest.raises(ReportNotFound):
        quarterly_report(ministry, workflow.year, 1, visible={ministry.pk})


def test_a_transcribed_year_has_no_quarters():
    nia = Agency.objects.get(code="nia")
    with pytest.raises(ReportNotFound, match="轉錄自已發布的年度文件"):
        quarterly_report(nia, 2010, 1)


# --- the web pages --------------------------------------------------------------------------


def test_the_page_shows_the_figures_and_the_draft_mark(client, alice, drafted):
    client.force_login(alice)
    url = f"/reports/wf/quarterly/{drafted.year}/q1/"
    html = client.get(url).content.decode()
    assert MARK in html
    for text in ("指標count", "20", "15", "75%", "落後進度", "紅燈", "草稿", "90（預設）"):
        assert text in html, text
    assert "人力不足" in html and "增派人力支援" in html
    assert f'href="{url}pdf/"' in html and f'href="{url}xlsx/"' in html


def test_the_reports_index_picks_a_quarter(client, alice, drafted):
    client.force_login(alice)
    index = client.get("/reports/").content.decode()
    assert 'name="kind" value="quarterly"' in index
    answer = client.get(f"/reports/pick/?agency=wf&kind=quarterly&year={drafted.year}&q=1")
    assert answer.status_code == 302
    assert answer["Location"] == f"/reports/wf/quarterly/{drafted.year}/q1/"


def test_a_ministrys_page_has_a_section_per_agency_and_its_summary(client, alice, workflow):  # noqa: F811
    _enter(workflow, alice)
    ministry = agency_create(user=alice, code="ministry", name="測試部")
    Agency.objects.filter(pk=workflow.agency.pk).update(parent=ministry)
    client.force_login(alice)
    html = client.get(f"/reports/ministry/quarterly/{workflow.year}/q1/").content.decode()
    assert "各機關摘要" in html and "<h2>流程測試署</h2>" in html and "指標count" in html
    # The index offers the ministry the years of its agencies.
    index = client.get("/reports/").content.decode()
    picker = re.search(r'aria-label="測試部季管考報告">(.*?)</form>', index, re.S)
    assert picker and f'<option value="{workflow.year}">' in picker[1]


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/reports/nia/quarterly/2010/q1/", 404, "轉錄自已發布的年度文件"),
        ("/reports/nia/quarterly/2010/q5/", 400, "季別必須是 1 到 4 的整數。"),
        ("/reports/nia/quarterly/1800/q1/", 400, "年度必須介於"),
        ("/reports/nia/quarterly/2099/q1/", 404, "沒有民國188年度"),
        ("/reports/pick/?agency=nia&kind=quarterly&year=2010&q=9", 400, "季別必須是"),
    ],
)
def test_bad_periods_get_a_clear_message(client, alice, url, status, message):
    client.force_login(alice)
    answer = client.get(url)
    assert answer.status_code == status
    assert message in answer.content.decode()


# --- PDF ------------------------------------------------------------------------------------


@pytest.mark.pdf
def test_the_pdf_prints_the_figures_and_the_mark_on_every_page(tmp_path, drafted):
    path = _pdf(tmp_path, drafted)
    pages = _pages(path)
    assert all(MARK in page for page in pages), [MARK in page for page in pages]
    text = "".join(pages)
    for piece in ("指標count", "75%", "落後進度", "紅燈", "草稿", "人力不足", "90（預設）"):
        assert piece in text, piece
    assert f"第{len(pages)}頁/共{len(pages)}頁" in text
    size = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    assert "841.89 x 595.28" in size or "841.89 x 595.276" in size  # A4 landscape
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    assert re.search(r"Noto-?Serif-?CJK-?TC.*yes", fonts, re.IGNORECASE), fonts
    printed = Printed("quarterly", path).pages
    faults = [n for n, words in enumerate(printed, 1) if _overlaps(words)]
    assert not faults, f"text printed over text on pages {faults}"
    # The goal's heading row (「目標」, the workflow goal's title) is never left at the foot of
    # a page: it prints on the page of its first indicator, above it.
    page = next(words for words in printed if any(w.text == "指標count" for w in words))
    first = next(w for w in page if w.text == "指標count")
    assert any(w.text == "目標" and w.y1 <= first.y0 and w.x0 < first.x0 for w in page)


@pytest.mark.pdf
def test_an_approved_quarter_prints_no_mark(tmp_path, approved):
    pages = _pages(_pdf(tmp_path, approved))
    assert not any(MARK in page for page in pages)
    assert "已核定" in "".join(pages)


# --- Excel ----------------------------------------------------------------------------------


def test_the_workbook_has_numbers_text_kept_as_text_and_the_draft_mark(drafted):
    data = render_quarterly(agency=drafted.agency, year=drafted.year, quarter=1, format="xlsx")
    wb = load_workbook(BytesIO(data))
    assert wb.sheetnames[0] == "資料缺漏或未核定"
    ws = wb["季管考"]
    assert ws["A1"].value == MARK
    headers = [cell.value for cell in ws[2]]
    assert headers[:5] == ["機關", "策略目標", "主辦單位", "衡量指標", "分季目標（第1季）"]
    rows = {row[3]: row for row in ws.iter_rows(min_row=3, values_only=True)}
    count = rows["指標count"]
    assert count[4] == 20 and count[5] == "已設定" and count[6] == 15
    assert count[7] == pytest.approx(0.75) and count[9] == pytest.approx(0.15)
    assert count[12] == "草稿"
    # 「=…」 and 「+…」 are the text typed, not formulas.
    cells = {c.value: c for c in ws[3 + list(rows).index("指標count")]}
    assert cells[REASON].data_type == "s" and cells[IMPROVEMENT].data_type == "s"
    number = ws.cell(row=3 + list(rows).index("指標count"), column=8)
    assert number.number_format.endswith("%")
    assert rows["指標ratio"][5] == "預設" and not rows["指標ratio"][13]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.print_title_rows.replace("$", "") == "1:2"
    assert {"依策略目標摘要", "依主辦單位摘要"} <= set(wb.sheetnames)
    units = {r[0]: r for r in wb["依主辦單位摘要"].iter_rows(min_row=3, values_only=True)}
    assert units["業務組"][1] == 2 and units["業務組"][-2] == pytest.approx(0.875)


def test_an_approved_workbook_has_no_mark(approved):
    data = render_quarterly(agency=approved.agency, year=approved.year, quarter=1, format="xlsx")
    wb = load_workbook(BytesIO(data))
    assert "資料缺漏或未核定" not in wb.sheetnames
    assert wb["季管考"]["A1"].value == "機關"


# --- render_report --------------------------------------------------------------------------


def test_render_report_writes_each_format(tmp_path, drafted):
    for format in ("html", "xlsx"):
        out = tmp_path / f"q.{format}"
        call_command(
            "render_report",
            "quarterly",
            f"--year={drafted.year}",
            "--quarter=1",
            f"--format={format}",
            f"--output={out}",
            "--agency=wf",
        )
        assert out.stat().st_size > 0
    assert "指標count" in (tmp_path / "q.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--year=2013"], "--quarter"),
        (["--year=2013", "--quarter=5"], "季別必須是 1 到 4 的整數。"),
        (["--year=2013", "--quarter=1", "--through-quarter=2"], "--through-quarter"),
        (["--year=2010", "--quarter=1"], "轉錄自已發布的年度文件"),
    ],
)
def test_render_report_refuses_bad_arguments(tmp_path, args, message):
    out = tmp_path / "q.pdf"
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command(
            "render_report", "quarterly", *args, "--format=pdf", f"--output={out}", "--agency=nia"
        )
    assert not out.exists()


def test_render_report_refuses_quarter_for_other_kinds(tmp_path):
    with pytest.raises(CommandError, match="--quarter"):
        call_command(
            "render_report",
            "performance",
            "--year=2010",
            "--quarter=1",
            "--format=html",
            f"--output={tmp_path / 'x.html'}",
            "--agency=nia",
        )


# --- valid HTML -----------------------------------------------------------------------------


@pytest.mark.vnu
@pytest.mark.skipif(bool(_vnu_missing()), reason=_vnu_missing() or "ready")
def test_the_page_and_the_index_are_valid_html(client, alice, workflow, tmp_path):  # noqa: F811
    _enter(workflow, alice)
    ministry = agency_create(user=alice, code="ministry", name="測試部")
    Agency.objects.filter(pk=workflow.agency.pk).update(parent=ministry)
    client.force_login(alice)
    pages = {
        "quarterly": client.get(f"/reports/wf/quarterly/{workflow.year}/q1/"),
        "ministry": client.get(f"/reports/ministry/quarterly/{workflow.year}/q4/"),
        "index": client.get("/reports/"),
    }
    assert {name: r.status_code for name, r in pages.items()} == dict.fromkeys(pages, 200)
    problems = _vnu_check({n: r.content.decode() for n, r in pages.items()}, tmp_path)
    assert problems == [], "\n".join(problems)


@pytest.mark.pdf
def test_a_long_table_repeats_its_header_and_the_mark_on_each_page(tmp_path, drafted, alice):
    for n in range(30):
        indicator_create(
            user=alice,
            goal=drafted.count.goal,
            code=f"extra{n}",
            name=f"加列指標{n}",
            method="count",
            responsible_unit=drafted.unit,
            inputs=[{"key": "value", "label": "件數"}],
            parts=[{"key": "value", "label": "件數", "value": Decimal("10")}],
        )
    path = _pdf(tmp_path, drafted)
    pages = _pages(path)
    # A page with a row of the table (「4.加列指標0」), not the list of what is not approved.
    table = [page for page in pages if re.search(r"\d+\.加列指標", page)]
    assert len(table) >= 2, "the table should run over several pages"
    assert all("落後原因及改善措施" in page for page in table)
    assert all(MARK in page for page in pages)
