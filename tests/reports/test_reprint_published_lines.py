"""Transcribed results are reprinted as the source documents printed them: every published
achievement line verbatim in its own labelled part, kpitrack's recomputation beside it as a note
(on the page, in the print HTML and in the PDF), no placeholder or part the source does not have,
and numbered targets on their own lines. The lines below are copied from ../shared/seeds/ with
the PDF's spaces and line breaks removed."""

import html
import re
import subprocess

import pytest

from budget.models import Agency
from kpitrack.reports.assembly import report_for
from kpitrack.reports.render import print_html

pytestmark = pytest.mark.django_db

BUDGET_2013 = "/reports/nia/budget/2013/?q=2"
PERFORMANCE_2010 = "/reports/nia/performance/2010/"

# 99年度施政績效報告: 三、目標達成值 of indicators 1-9 and 11 (10 has an empty cell).
FY2010 = [
    "三、目標達成值：145%，指標達成率符合，並超前預定進度。",
    "三、目標達成值：100%，指標達成率符合，並超前預定進度。",
    "三、目標達成值：截至12月外籍訂戶4,041人，總訂戶6,521人，指標達成率超前預定進度144%，"
    "總訂戶數155%。",
    "三、目標達成值：100%，超前預定進度。",
    "三、目標達成值：指標達成率100%，並超前預定進度。",
    "三、目標達成值：100%。",
    "三、目標達成值：截至11月累計次數為534次，指標達成度超前預定進度(178%)。",
    "三、目標達成值：1,456%，指標達成率符合，並超前預定進度。",
    "三、目標達成值：2%。",
]
# 預算總說明 102年度 三、(一) 前(100)年度: (一)年度目標值 and (二)達成度 of the 12 goals.
FY2011 = [
    "(一)年度目標值：600,000件。(二)達成度：603,349人，達成率100.55％，符合並超越年度目標值。",
    "(一)年度目標值：22縣市。(二)達成度：22縣市，達成率100%，第3季即累計完成建置22縣市網絡，"
    "符合並超越年度目標值。",
    "(一)年度目標值：2%。(二)達成度：2%，符合年度目標值。",
    "(一)年度目標值：完成洽談達60次以上。(二)達成度：60次以上，達成率100%，符合並超越年度目標值。",
    "(一)年度目標值：8,000人。(二)達成度：92,885人，達成率1,061％，符合並大幅超前年度目標值。",
    "(一)年度目標值：80％。(二)達成度：102％，符合並超越年度目標值。",
    "(一)年度目標值：100場次。(二)達成度：157場次，達成率157％，符合並超越年度目標值。",
    "(一)年度目標值：1,000人次。(二)達成度：4,796次，年度達成率479.6％，符合並大幅超前年度目標值。",
    "(一)年度目標值：2％。(二)達成度：77.5％，符合並大幅超前年度目標值。",
    "(一)年度目標值：2％。(二)達成度：2.01％，符合年度目標值。",
    "一、衡量標準：獎補助經費按季送立法院並上網公告。二、年度目標值及達成度："
    "(一)年度目標值：100%。(二)達成度：100％。",
    "(一)年度目標值：2。(二)達成度：100％。",
]
# 三、(二) 上(101)年度已過期間 (1-6月).
FY2012 = [
    "(一)年度目標值：160件。(二)達成度：103％。",
    "(一)年度目標值：100％。(二)達成度：146.33％。",
    "一、衡量指標：",
    "二、年度目標值及達成情形：(一)年度目標值：101(1─6月)年度預防宣導、安置保護服務被害人、"
    "查緝及鑑別人口販運嫌疑人及被害人總人次，應較100年度提升2%。(二)達成情形：1、101年度人口販運宣導",
    "(二)達成度：116％。",
    "(一)年度目標值：1.28座。2.300萬。(二)達成度：1.10％。2.59％。",
    "(一)年度目標值：0件。(二)達成度：100％。",
    "(一)年度目標值：1.12所。2.20場次、500人次。(二)達成度：158％。",
    "一、衡量指標：年度遣返受收容人之累計人次二、辦理情形：1─6月累計5,650人次",
    "(一)年度目標值：7,044人次。(二)達成度：80.2%",
    "五、小結：本年度本署均以朝目標值前進。",
    "(一)年度目標值：20%。(二)達成度：60.95％。",
    "(一)年度目標值：5％。(二)達成度：78％。",
    "二、本署同仁核心能力達成狀況（統計至101年6月30日）：（一）平均共同核心能力項目達成率：21.2%。",
]
NOTES_2013 = [
    "重算：92,885÷8,000=1,161.06%，與原列1,061%不符",
    "重算：(1)84÷60=140%；(2)4÷3=133.33%；取各項最低者133.33%，與原列100%不符",
    "重算：165÷160=103.13%，與原列103%相符",
    "重算：(158−89)÷89=77.53%，與原列77.5%相符",
    "重算：(1)2÷28=7.14%，與原列10%不符",
]


def flat(text: str) -> str:
    """Page text without tags or whitespace, so cells compare as the documents print them."""
    text = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", text, flags=re.S)
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", text)))


@pytest.fixture
def page(client, bob):
    client.force_login(bob)

    def get(url):
        response = client.get(url)
        assert response.status_code == 200
        return response.content.decode()

    return get


def _print(kind, year):
    return print_html(report_for(Agency.objects.get(code="nia"), kind, year, 2))


@pytest.mark.parametrize("line", FY2011 + FY2012)
def test_the_budget_explanation_reprints_each_published_line(page, line):
    assert flat(line) in flat(page(BUDGET_2013))
    assert flat(line) in flat(_print("budget", 2013))


@pytest.mark.parametrize("line", FY2010)
def test_the_performance_report_reprints_each_published_line(page, line):
    assert flat(line) in flat(page(PERFORMANCE_2010))


@pytest.mark.parametrize("note", NOTES_2013)
def test_the_recomputation_stands_beside_the_line_on_the_page_and_in_print(page, note):
    assert note in flat(page(BUDGET_2013))
    assert note in flat(_print("budget", 2013))


def test_the_note_follows_the_line_it_checks(page):
    text = flat(page(BUDGET_2013))
    line = text.index(flat("92,885人，達成率1,061％，符合並大幅超前年度目標值。"))
    assert text.index("重算：92,885÷8,000") > line
    assert text.index("重算：92,885÷8,000") < text.index("四、效益：(一)建置航前旅客資訊系統")


def test_the_note_says_why_when_there_is_nothing_to_recompute(page):
    text = flat(page(PERFORMANCE_2010))
    start = text.index("三、目標達成值：1,456%")
    assert text[start:].split("四、效益")[0].endswith("未重算：原報告未列原始數值。")


@pytest.mark.parametrize("url", [BUDGET_2013, PERFORMANCE_2010])
def test_a_reprint_adds_no_placeholder_or_part(page, url):
    text = flat(page(url))
    assert "（尚未填報）" not in text
    assert "無法計算：" not in text, "a generated line replaced a published one"
    assert "無法評估" not in text


def test_a_reprint_adds_no_part_the_source_does_not_print(page):
    text = flat(page(BUDGET_2013))
    # 101年度 #3 has no 辦理情形 and no 效益; 100年度 #11 has neither 辦理情形 nor 效益.
    start = text.index("二、年度目標值及達成情形：")
    assert "四、效益" not in text[start : text.index("四、與相關國家")]
    start = text.index("一、衡量標準：獎補助經費按季送立法院並上網公告。")
    assert text[start:].split("十二、提升員工")[0].count("、效益") == 0
    # 101年度 #11 prints only 一、衡量標準 and 二、本署同仁核心能力達成狀況.
    tail = text[text.index("二、本署同仁核心能力達成狀況") :]
    assert "三、" not in tail.split("</table>")[0][:400]
    # 99年度 #10 is an empty cell.
    p = flat(page(PERFORMANCE_2010))
    cell = p[p.index("十、加強財務審核,全面提升施政效能") : p.index("十一、提升員工職能")]
    assert cell == "十、加強財務審核,全面提升施政效能" or cell.endswith("效能"), cell


def test_numbered_targets_keep_their_lines_on_the_page(page):
    """Each numbered part of a target is a line of its own, its number hanging."""
    budget = page(BUDGET_2013)
    line = r'\s*<p class="hang[^"]*"><span class="n[^"]*">{}</span>{}</p>'
    campus = line.format(r"1\.", "12所。") + line.format(r"2\.", "20場次、500人次。")
    assert re.search(campus, budget)
    assert re.search(line.format(r"1\.", "28座。") + line.format(r"2\.", "300萬。"), budget)


def test_the_api_keeps_the_target_newline(client, bob):
    client.force_login(bob)
    answer = client.get("/api/v1/achievements/?agency=nia&year=2012&quarter=2").json()
    rows = answer["results"]
    texts = [r["target_text"] for r in rows if r.get("code") == "campus-alliance"]
    assert texts == ["1.12所。\n2.20場次、500人次。"], texts


@pytest.mark.pdf
def test_the_pdf_prints_the_lines_and_the_notes(tmp_path, seeded_pdf):
    path = tmp_path / "budget.pdf"
    path.write_bytes(seeded_pdf("budget", 2013, 2))  # conftest.py: rendered once per session
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True)
    text = re.sub(r"\s+", "", done.stdout)
    # A row split across pages interleaves its columns in the page's text; the prior year's
    # analysis column alone (from 16 + 26 + 26 + 24 mm, in points) reads as the document prints.
    left = round((16 + 26 + 26 + 24) / 25.4 * 72) - 2
    column = subprocess.run(
        ["pdftotext", "-x", str(left), "-y", "0", "-W", "600", "-H", "842", str(path), "-"],
        capture_output=True,
        text=True,
    )
    analysis = re.sub(r"\s+", "", column.stdout)
    for note in NOTES_2013:
        assert note in text, note
    for line in FY2011[4:9]:
        assert line.split("(二)達成度：")[1] in analysis, line
    assert "草稿" not in text
