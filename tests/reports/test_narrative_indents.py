"""The 績效衡量暨達成情形分析 cell prints one line per numbered item with its number hanging
(一、 (一) 1. (1)): wrapped lines start where the text after the number starts, and an
unnumbered line (a note, a paragraph) starts under the text above it. The PDF's positions are
checked in test_reports_pdf."""

import re

import pytest

pytestmark = pytest.mark.django_db


def hang(number: str, em: str) -> str:
    """A numbered line's opening: its indent and its number, `em` wide."""
    return (
        f'<p class="hang" style="padding-left: {em}em; text-indent: -{em}em">'
        f'<span class="n" style="min-width: {em}em">{number}</span>'
    )


@pytest.fixture
def cell(client, bob):
    """The 2010 report's cell for one indicator, by the text it opens with."""
    client.force_login(bob)
    page = client.get("/reports/nia/performance/2010/").content.decode()
    cells = re.findall(r'<div class="analysis">(.*?)</div>', page, re.S)

    def find(text):
        return next(c for c in cells if text in c)

    return find


def test_each_level_of_numbering_hangs_by_its_own_width(cell):
    html = cell("分3季完成外籍訂戶增加")
    heading = (
        '<span class="n h" style="min-width: 2em">二、</span><span class="h">辦理情形：</span>'
    )
    assert '<p class="hang part" style="padding-left: 2em; text-indent: -2em">' + heading in html
    assert hang("(一)", "2") + "行銷推廣創新作為：" in html
    assert hang("1.", "1") + "99年4月15日" in html
    assert hang("2.", "1") + "不定期提供" in html


def test_an_unnumbered_line_starts_under_the_text_above_it(cell):
    html = cell("分3季完成外籍訂戶增加")
    note = re.search(r'<p class="hang" style="([^"]*)"><span class="recompute"', html)
    assert note[1] == "padding-left: 2em; text-indent: -0em", note[1]


def test_a_wider_number_hangs_further(client, bob):
    from performance.models import Result

    result = Result.objects.get(
        indicator__goal__agency__code="nia", indicator__goal__year=2010, indicator__order=1
    )
    lines = [f"({n})第{n}項。" for n in "一二三四五六七八九十"] + [
        "(十一)第十一項。",
        "10.第十項。",
    ]
    Result.objects.filter(pk=result.pk).update(progress="\n".join(lines))
    client.force_login(bob)
    page = client.get("/reports/nia/performance/2010/").content.decode()
    assert hang("(十一)", "3") + "第十一項。" in page
    assert hang("10.", "1.5") + "第十項。" in page
