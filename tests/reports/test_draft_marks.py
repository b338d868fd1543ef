"""A report with an unapproved or missing result says so (the draft mark and a list of what is
missing or unapproved) on the page and in print; the complete, approved seeded years carry no
mark."""

import re

import pytest

from budget.models import Agency
from kpitrack.reports.assembly import report_for
from kpitrack.reports.render import print_html
from performance.models import Result

pytestmark = pytest.mark.django_db

MARK = "草稿：資料未完備或未核定，非正式版本"


@pytest.fixture
def page(client, bob):
    client.force_login(bob)

    def get(url):
        response = client.get(url)
        assert response.status_code == 200
        return response.content.decode()

    return get


def _listed(html: str) -> list[str]:
    box = re.search(r'<aside class="missing-list"[^>]*>(.*?)</aside>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", box[1]) if box else []


@pytest.mark.parametrize(
    ("url", "kind", "year"),
    [
        ("/reports/nia/budget/2013/?q=2", "budget", 2013),
        ("/reports/nia/performance/2010/", "performance", 2010),
    ],
)
def test_the_complete_seeded_years_carry_no_mark(page, url, kind, year):
    html = page(url)
    assert MARK not in html and not _listed(html)
    assert MARK not in print_html(report_for(Agency.objects.get(code="nia"), kind, year, 2))


def test_a_draft_result_marks_the_report_and_is_listed(page):
    result = Result.objects.get(indicator__goal__year=2011, indicator__code="mobile-service")
    result.state = Result.State.DRAFT
    result.save()
    html = page("/reports/nia/budget/2013/?q=2")
    assert MARK in html
    assert any("「辦理專題講座" in item and "草稿" in item for item in _listed(html)), _listed(html)
    printed = print_html(report_for(Agency.objects.get(code="nia"), "budget", 2013, 2))
    assert MARK in printed and "草稿，尚未核定" in printed
    assert report_for(Agency.objects.get(code="nia"), "budget", 2013, 2).draft_mark == MARK


def test_a_year_without_results_lists_each_missing_one(page):
    html = page("/reports/nia/performance/2012/")
    assert MARK in html
    listed = _listed(html)
    assert len([item for item in listed if "尚未填報" in item]) == 11, listed


def test_an_entered_result_with_empty_parts_lists_them(page):
    result = Result.objects.get(indicator__goal__year=2011, indicator__code="mobile-service")
    result.source = ""  # entered in kpitrack, not transcribed
    result.benefit = ""
    result.save()
    listed = _listed(page("/reports/nia/budget/2013/?q=2"))
    assert any("尚未填寫效益" in item for item in listed), listed
