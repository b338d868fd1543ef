"""The 績效衡量暨達成情形分析 cell prints one line per numbered item with its number hanging
(一、 (一) 1. (1)): wrapped lines start where the text after the number starts, and an
unnumbered line (a note, a paragraph) starts under the text above it. The PDF's positions are
checked in test_reports_pdf."""

import re
from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db


def half_ems(em) -> int:
    return int(Decimal(em) * 2)


def hang(number: str, em: str, left: str = "0") -> str:
    """A numbered line's opening: its number, `em` wide, starting `left` em into the cell (the
    indent classes of static/css/report.css count half ems)."""
    return (
        f'<p class="hang i-{half_ems(Decimal(left) + Decimal(em))} h-{half_ems(em)}">'
        f'<span class="n w-{half_ems(em)}">{number}</span>'
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
    heading = '<span class="n h w-4">二、</span><span class="h">辦理情形：</span>'
    assert '<p class="hang part i-4 h-4">' + heading in html
    assert hang("(一)", "2") + "行銷推廣創新作為：" in html
    # The source's list of 1. 2. under (一) sits under (一)'s text.
    assert hang("1.", "1", left="2") + "99年4月15日" in html
    assert hang("2.", "1", left="2") + "不定期提供" in html


def test_an_unnumbered_line_starts_under_the_text_above_it(cell):
    html = cell("分3季完成外籍訂戶增加")
    note = re.search(r'<p class="hang ([^"]*)"><span class="recompute"', html)
    assert note[1] == "i-4 h-0", note[1]


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
    assert hang("10.", "1.5", left="3") + "第十項。" in page


def _report_css() -> str:
    from tests.conftest import ROOT

    return (ROOT / "static" / "css" / "report.css").read_text(encoding="utf-8")


def test_every_indent_the_filter_names_has_its_rules():
    """The indents are classes (the Content-Security-Policy allows no style attribute): each class
    the filter can give must exist in report.css, with its width."""
    from kpitrack.templatetags.kpi import HALF_EMS_STYLED, half_ems

    css = _report_css()
    for n in range(HALF_EMS_STYLED + 1):
        em = f"{n / 2:g}em"
        assert f".report .hang.i-{n} {{ padding-left: {em}; }}" in css
        assert f".report .hang.h-{n} {{ text-indent: {'0' if n == 0 else '-' + em}; }}" in css
        assert f".report .hang > .n.w-{n} {{ min-width: {em}; }}" in css
    assert half_ems(Decimal("1.5")) == 3
    assert half_ems(Decimal("99")) == HALF_EMS_STYLED  # wider than any class: the widest


def test_every_column_width_class_of_the_report_tables_has_its_rule():
    from tests.conftest import ROOT

    css = _report_css()
    for name in ("_budget.html", "_performance.html"):
        template = (ROOT / "templates" / "reports" / name).read_text(encoding="utf-8")
        assert "style=" not in template
        for width in re.findall(r'<col class="mm(\d+)">', template):
            assert f".report col.mm{width} {{ width: {width}mm; }}" in css
