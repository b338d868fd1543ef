"""The report pages through the web views (Django's test client): the index, budget and
performance reports, their downloads, the year picker, bad addresses, access control, and a
query bound that a small year (2012) and a full one (2013) share."""

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import yaml

from tests.conftest import SEED

pytestmark = pytest.mark.django_db

AGENCY = "入出國及移民署"
BUDGET_2013 = "/reports/nia/budget/2013/?q=2"
CJK = re.compile(r"[\u4e00-\u9fff]")
# Measured: 31 queries for the 2013 budget report (session, user, agency, report data, years,
# the quarterly picker's years, the header's menu rights and unread notifications).
MAX_QUERIES = 31

BUDGET_2013_HEADINGS = [
    "一、現行法定職掌",
    "(一)機關主要職掌",
    "(二)內部分層業務",
    "(三)組織系統圖及預算員額說明表",
    f"二、{AGENCY}102年度施政目標與重點",
    "(一)年度施政目標",
    "(二)年度關鍵績效指標",
    f"三、{AGENCY}以前年度實施狀況及成果概述",
    "(一)前(100)年度施政績效及達成情形分析",
    "(二)上(101)年度已過期間施政績效及達成情形（1-6月）",
]


def text(response) -> str:
    return response.content.decode()


def seed_result(name: str, code: str) -> dict:
    data = yaml.safe_load((SEED / name).read_text(encoding="utf-8"))
    indicator = next(i for g in data["goals"] for i in g["indicators"] if i["code"] == code)
    return indicator["results"][-1]


@pytest.fixture
def as_bob(client, bob):
    client.force_login(bob)
    return client


def test_it_lists_report_years_in_roc_form(as_bob):
    response = as_bob.get("/reports/")
    assert response.status_code == 200
    html = text(response)
    for roc, year in ((102, 2013), (101, 2012), (100, 2011), (99, 2010)):
        assert f"民國{roc}年（{year}）" in html, f"民國{roc}年 missing from the index"
        assert f'href="/reports/nia/budget/{year}/"' in html
        assert f'href="/reports/nia/performance/{year}/"' in html


def test_it_shows_the_budget_report_with_chart_and_downloads(as_bob):
    response = as_bob.get(BUDGET_2013)
    assert response.status_code == 200
    html = text(response)
    positions = [html.find(heading) for heading in BUDGET_2013_HEADINGS]
    missing = [h for h, p in zip(BUDGET_2013_HEADINGS, positions, strict=True) if p < 0]
    assert not missing, f"headings missing: {missing}"
    assert positions == sorted(positions), "headings out of order"
    svg = re.search(r"<svg\b[^>]*>.*?</svg>", html, re.S)
    assert svg, "no inline org chart"
    assert 'role="img"' in svg[0].split(">", 1)[0]
    assert re.search(rf"<title[^>]*>{AGENCY}組織系統圖</title>", svg[0])
    assert 'href="/reports/nia/budget/2013/pdf/?q=2"' in html
    assert 'href="/reports/nia/budget/2013/xlsx/?q=2"' in html
    assert "中華民國102年度" in html


def test_it_lists_missing_data_for_a_partial_year(as_bob):
    response = as_bob.get("/reports/nia/budget/2012/?q=2")
    assert response.status_code == 200
    html = text(response)
    box = re.search(r'<aside class="missing-list"[^>]*>(.*?)</aside>', html, re.S)
    assert box and "資料缺漏" in box[1], "no 資料缺漏 box"
    assert "尚無本年度預算員額資料" in box[1] and "尚無本年度施政目標與重點" in box[1], box[1]
    assert "(二)上(100)年度已過期間施政績效及達成情形（1-6月）" in html
    assert "無法計算：" in html


@pytest.mark.parametrize(
    ("year", "title"),
    [(2010, "99年度施政績效報告"), (2011, "100年度施政績效報告"), (2012, "101年度施政績效報告")],
)
def test_it_shows_performance_reports_without_lights_as_the_agency_prints_them(as_bob, year, title):
    """nia's documents print no lights (agency.yaml's uses_lights: false): no 燈號 column, no
    一、指標達成情形燈號統計, and the table stands untitled, as in the FY2010 report."""
    response = as_bob.get(f"/reports/nia/performance/{year}/")
    assert response.status_code == 200
    html = text(response)
    assert title in html
    report = html[html.index('<div class="report wide"') :]
    assert "燈號" not in report and 'class="light' not in report
    assert "指標達成情形燈號統計" not in report and "二、績效目標" not in report
    headers = re.search(r'<table class="results perf">.*?<thead>(.*?)</thead>', report, re.S)
    assert re.findall(r"<th[^>]*>([^<]*)</th>", headers[1]) == [
        "年度績效目標",
        "衡量指標",
        "績效衡量暨達成情形分析",
    ]
    assert 'href="/reports/nia/performance/' + str(year) + '/pdf/"' in html


def test_it_notes_published_figures_that_do_not_follow_on_screen_and_in_print(as_bob):
    from budget.models import Agency
    from kpitrack.reports.assembly import report_for
    from kpitrack.reports.render import print_html

    published = seed_result("2011-results.yaml", "auto-gate-enrolment")["published_text"]
    note = "重算：92,885 ÷ 8,000 = 1,161.06%，與原列 1,061% 不符"
    html = text(as_bob.get(BUDGET_2013))
    assert note in html, "the 1,061% auto-gate figure is not flagged"
    start = html.index("(一)前(100)年度施政績效及達成情形分析")
    end = html.index("(二)上(101)年度已過期間")
    assert start < html.index(published) < html.index(note) < end
    printed = print_html(report_for(Agency.objects.get(code="nia"), "budget", 2013, 2))
    assert published in printed and note in printed


@pytest.mark.parametrize(
    "url",
    [BUDGET_2013, "/reports/nia/budget/2013/pdf/?q=2", "/reports/nia/budget/2013/xlsx/?q=2"],
)
def test_it_sends_anonymous_visitors_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/accounts/login/"
    assert parse_qs(location.query)["next"] == [url]


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/reports/nia/budget/2013/?q=5", 400, "上年度已過期間必須是第 1 到第 4 季"),
        ("/reports/nia/budget/2013/?q=abc", 400, "上年度已過期間必須是第 1 到第 4 季"),
        ("/reports/nia/budget/2013/xlsx/?q=0", 400, "上年度已過期間必須是第 1 到第 4 季"),
        ("/reports/nia/budget/1800/", 400, "年度必須介於 1912 與 2200 之間"),
        ("/reports/nia/budget/2030/", 404, f"{AGENCY}沒有民國119年度（2030）的資料"),
        ("/reports/nia/performance/2030/pdf/", 404, "民國119年度"),
        ("/reports/nia/foo/2013/", 404, "沒有這種報表"),
        ("/reports/pick/?agency=nia&kind=budget&year=abc", 400, "年度必須是西元年的數字"),
        ("/reports/pick/?agency=nia&kind=budget&year=1800", 400, "年度必須介於 1912 與 2200 之間"),
        ("/reports/pick/?agency=nia&kind=budget&year=２０１３", 400, "年度必須是西元年的數字"),
        ("/reports/pick/?agency=nia&kind=foo&year=2013", 400, "沒有這種報表"),
        ("/reports/pick/?agency=nia&kind=budget&year=2013&q=9", 400, "第 1 到第 4 季"),
    ],
)
def test_it_answers_bad_addresses_with_a_clear_chinese_message(as_bob, url, status, message):
    response = as_bob.get(url)
    assert response.status_code == status, f"{url}: {response.status_code}"
    html = text(response)
    alert = re.search(r'role="alert">(.*?)</p>', html, re.S)
    assert alert, f"{url}: no error message"
    assert message in alert[1], f"{url}: {alert[1]!r}"
    assert CJK.search(alert[1])


@pytest.mark.parametrize(
    "url",
    [
        "/reports/nope/budget/2013/",
        "/reports/nope/budget/2013/pdf/",
        "/reports/pick/?agency=nope&kind=budget&year=2013",
    ],
)
def test_it_answers_an_unknown_agency_with_404(as_bob, url):
    assert as_bob.get(url).status_code == 404


@pytest.mark.parametrize(
    ("query", "target"),
    [
        ("agency=nia&kind=budget&year=2013&q=2", BUDGET_2013),
        ("agency=nia&kind=budget&year=2013", BUDGET_2013),
        ("agency=nia&kind=budget&year=2012&q=4", "/reports/nia/budget/2012/?q=4"),
        ("agency=nia&kind=performance&year=2010", "/reports/nia/performance/2010/"),
    ],
)
def test_it_redirects_the_year_picker_to_the_report(as_bob, query, target):
    response = as_bob.get(f"/reports/pick/?{query}")
    assert response.status_code == 302
    assert response["Location"] == target


@pytest.mark.parametrize("url", [BUDGET_2013, "/reports/nia/budget/2012/?q=2"])
def test_it_renders_a_budget_report_in_a_fixed_number_of_queries(
    as_bob, django_assert_max_num_queries, url
):
    with django_assert_max_num_queries(MAX_QUERIES):
        response = as_bob.get(url)
    assert response.status_code == 200


@pytest.mark.pdf
def test_it_serves_the_pdf_inline(as_bob):
    from tests.jobs.running import run_queued_jobs

    # Rendered by a job the first time (tests/jobs), then served from storage.
    assert as_bob.get("/reports/nia/budget/2013/pdf/?q=2").status_code == 302
    run_queued_jobs()
    response = as_bob.get("/reports/nia/budget/2013/pdf/?q=2")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    # RFC 6266: an ASCII fallback, then the agency's and ROC year's name for current browsers.
    assert response["Content-Disposition"] == (
        'inline; filename="nia-budget-2013.pdf"; '
        "filename*=UTF-8''" + quote("入出國及移民署_102年度_預算總說明.pdf", safe="")
    )
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("kind", "year", "quarter"), [("budget", 2013, 2), ("performance", 2012, 4)]
)
def test_the_print_stylesheet_is_css_weasyprint_reads_without_a_warning(kind, year, quarter):
    """A comment of several lines in `{# #}` was printed into the stylesheet, and a screen-only
    media query warned: four WeasyPrint warnings in the log for every PDF."""
    import logging

    from weasyprint import CSS

    from budget.models import Agency
    from kpitrack.reports.assembly import report_for
    from kpitrack.reports.render import print_html

    page = print_html(report_for(Agency.objects.get(code="nia"), kind, year, quarter))
    (style,) = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert "{#" not in style and "#}" not in style

    warnings = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = warnings.append
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        CSS(string=style)
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in warnings] == []
    assert ".report .analysis p.part + p:not(.part)" in style  # the rules around them are kept
