"""Print faults an officer would not hand in, over every report of the seeded agency: every year
of both kinds, and a performance report of results entered in kpitrack (not transcribed). Each
PDF is rendered once per test session (the seeded reports by tests/reports/conftest.py, shared
with test_pdf.py) and read back with poppler (`pdftotext -bbox`)."""

import html
import re
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.pdf]

ENTERED_YEAR = 2012  # the seed holds only its Q2 results: Q4 is entered here


def poppler(*args) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@dataclass(frozen=True)
class Word:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


@dataclass
class Printed:
    name: str
    path: Path
    # The goals and indicators its tables name in their first two columns.
    goals: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)  # the report's own, as in its contents

    @cached_property
    def pages(self) -> list[list[Word]]:
        """The words of each page, from one `pdftotext -bbox` run; pages[0] is page 1."""
        out = poppler("pdftotext", "-bbox", str(self.path), "-")
        word = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
        return [
            [
                Word(float(x0), float(y0), float(x1), float(y1), html.unescape(text))
                for x0, y0, x1, y1, text in re.findall(word, page)
            ]
            for page in re.findall(r"<page [^>]*>(.*?)</page>", out, re.S)
        ]

    @cached_property
    def layout(self) -> list[list[str]]:
        """Each page's non-blank lines as `pdftotext -layout` places them."""
        text = poppler("pdftotext", "-layout", str(self.path), "-")
        return [[ln for ln in page.splitlines() if ln.strip()] for page in text.split("\f")]

    @cached_property
    def text(self) -> list[str]:
        """Each page's text without whitespace."""
        return ["".join("".join(lines).split()) for lines in self.layout]


def _enter_results(year: int, state: str = "approved") -> None:
    """Approved Q4 results for every indicator of `year`, each input at its part's target: the
    kind of year an agency types in, not one transcribed from a document."""
    from performance.models import Indicator, Result, ResultFigure

    for indicator in Indicator.objects.filter(goal__agency__code="nia", goal__year=year):
        targets = {part.key: part.value for part in indicator.parts.all()}
        result = Result.objects.create(
            indicator=indicator,
            quarter=4,
            state=state,
            progress=f"{indicator.name}：全年依計畫辦理完成，並按季檢討執行進度。",
            benefit="提升服務品質，落實政策目標，民眾滿意度持續提高。",
        )
        for entry in indicator.inputs.all():
            value = targets.get(entry.key) or Decimal(100)
            ResultFigure.objects.create(result=result, key=entry.key, value=value)


def _name(row) -> str:
    return getattr(row, "indicator", row).name


def _render_all(folder: Path, seeded_pdf) -> dict[str, Printed]:
    from django.db import transaction

    from budget.models import Agency
    from kpitrack.reports.assembly import KINDS, report_for, report_years
    from kpitrack.reports.render import pdf_bytes

    agency = Agency.objects.get(code="nia")
    printed = {}

    def render(name, report, data=None):
        path = folder / f"{name}.pdf"
        path.write_bytes(data or pdf_bytes(report))
        if report.kind == "budget":
            tables = [report.kpis, report.prior.groups, report.elapsed.groups]
            results = tables[1:]
        else:
            tables = results = [report.section.groups]
        printed[name] = Printed(
            name,
            path,
            goals=[g.goal.title for groups in tables for g in groups],
            headings=[label for _anchor, label, _level in report.toc],
            # A row the document printed empty (FY2010's 加強財務審核) has nothing beside it.
            results=[
                _name(row) for groups in results for g in groups for row in g.rows if row.cell
            ],
        )

    for kind in KINDS:
        for year in report_years(agency, kind):
            render(f"{kind}-{year}", report_for(agency, kind, year, 2), seeded_pdf(kind, year, 2))
    with transaction.atomic():
        _enter_results(ENTERED_YEAR)
        render(f"performance-{ENTERED_YEAR}-entered", report_for(agency, "performance", 2012))
        transaction.set_rollback(True)
    with transaction.atomic():
        _enter_results(ENTERED_YEAR, state="draft")
        render(f"performance-{ENTERED_YEAR}-draft", report_for(agency, "performance", 2012))
        transaction.set_rollback(True)
    return printed


@pytest.fixture(scope="session")
def printed(django_db_setup, django_db_blocker, tmp_path_factory, seeded_pdf) -> dict[str, Printed]:
    with django_db_blocker.unblock():
        return _render_all(tmp_path_factory.mktemp("reports"), seeded_pdf)


def test_it_renders_every_report_of_the_seeded_agency(printed):
    assert {
        "budget-2013",
        "budget-2012",
        "performance-2010",
        "performance-2011",
        "performance-2012",
        f"performance-{ENTERED_YEAR}-entered",
    } <= set(printed), sorted(printed)


def _stacked(a: Word, b: Word) -> bool:
    # The organisation chart's vertical labels: one character a word, in one column, set closer
    # than a line's height (the chart's own lettering, not text printed over text).
    return len(a.text) == len(b.text) == 1 and abs(a.x0 - b.x0) < 0.5


def _overlaps(words: list[Word]) -> list[tuple[str, str]]:
    """Pairs of words whose boxes share more than a sliver (0.5 pt) both ways."""
    found = []
    words = sorted(words, key=lambda w: w.y0)
    for i, a in enumerate(words):
        for b in words[i + 1 :]:
            if b.y0 >= a.y1 - 0.5:
                break
            if _stacked(a, b):
                continue
            if min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5:
                found.append((a.text, b.text))
    return found


def test_no_two_words_overlap_on_any_page(printed):
    faults = []
    for name, pdf in sorted(printed.items()):
        for number, words in enumerate(pdf.pages, 1):
            pairs = _overlaps(words)
            if pairs:
                faults.append(f"{name} p.{number}: {pairs[:3]}")
    assert not faults, "text printed over text:\n" + "\n".join(faults)


NUMBER = re.compile(r"^[一二三四五六七八九十]+、")


TABLE_LEFT = 16 / 25.4 * 72 + 4.75  # the left margin, the first cell's border and padding
NAME_COLUMNS = (TABLE_LEFT + 1, 200)  # the x where the second column's cells start: past it


def _first_lines(pdf: Printed, text: str, columns: tuple[float, float]) -> list[tuple[int, Word]]:
    """Where a table cell holding `text` starts, as (page, word): a word between `columns` (its
    left edge) that begins with the text's first three characters (after any 一、 numbering),
    with no line of the same column just above it."""
    start = NUMBER.sub("", "".join(text.split()))[:3]
    found = []
    for page, words in enumerate(pdf.pages, 1):
        for word in words:
            if not (columns[0] <= word.x0 < columns[1]):
                continue
            if not NUMBER.sub("", word.text).startswith(start):
                continue
            if any(abs(w.x0 - word.x0) < 1 and 0 < word.y0 - w.y0 < 18 for w in words):
                continue  # a wrapped line of a longer cell, not where one starts
            found.append((page, word))
    return found


def _beside(pdf: Printed, page: int, word: Word, wanted) -> bool:
    return any(
        abs(other.y0 - word.y0) < 1 and other.x0 > word.x1 and wanted(other)
        for other in pdf.pages[page - 1]
    )


def test_a_name_prints_where_its_row_starts(printed):
    """A goal's title and an indicator's name start a cell (nothing above them in it) level with
    the rest of their row: never only on the next page, under （續）."""
    faults = []
    for name, pdf in sorted(printed.items()):
        for title in pdf.goals:
            places = _first_lines(pdf, title, (TABLE_LEFT - 1, TABLE_LEFT + 1))
            if not places:
                faults.append(f"{name}: no cell starts with goal {title!r}")
            for page, word in places:
                if not _beside(pdf, page, word, lambda w: True):
                    faults.append(f"{name} p.{page}: goal {word.text!r} alone on its line")
        for indicator in pdf.results:
            places = _first_lines(pdf, indicator, NAME_COLUMNS)
            if not places:
                faults.append(f"{name}: no cell starts with indicator {indicator!r}")
            for page, word in places:
                if not _beside(pdf, page, word, lambda w: True):
                    faults.append(f"{name} p.{page}: indicator {word.text!r} alone on its line")
    assert not faults, "names away from where their rows start:\n" + "\n".join(faults)


BODY_TOP, BODY_BOTTOM = 22 / 25.4 * 72, 841.89 - 18 / 25.4 * 72  # the @page margins
# A part of an analysis cell whose text starts on the line below: 「二、辦理情形：」,
# 「(二) 達成情形：」.
PART_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、)?[^：，。]{2,10}：$")
PART_NUMBER = re.compile(r"^[(（][一二三四五六七八九十]+[)）]$")


def _alone_at_foot(words: list[Word], word: Word) -> bool:
    """Nothing of the page's body below `word` in its column (from its left edge rightwards)."""
    return not any(
        w.y0 > word.y1 and w.y1 < BODY_BOTTOM and w.x1 > word.x0 - 1 for w in words if w != word
    )


def test_no_heading_is_left_at_the_foot_of_a_page(printed):
    """A heading (the report's own or a part of an analysis cell) stays with what follows it:
    never the last line of a page, its text on the next."""
    faults = []
    for name, pdf in sorted(printed.items()):
        for number, words in enumerate(pdf.pages, 1):
            body = [w for w in words if BODY_TOP < w.y0 and w.y1 < BODY_BOTTOM]
            if sum(w.text == "." for w in body) > 20:
                continue  # the table of contents lists the headings, one a line
            for i, word in enumerate(body):
                before = body[i - 1] if i else None
                part = PART_HEADING.match(word.text) and (
                    word.text[0] in "一二三四五六七八九十"
                    or (before and PART_NUMBER.match(before.text) and abs(before.y0 - word.y0) < 1)
                )
                own = any(
                    word.text.startswith("".join(h.split())[:8])
                    for h in pdf.headings + ["預算員額說明表"]
                )
                if (part or own) and _alone_at_foot(body, word):
                    faults.append(f"{name} p.{number}: {word.text!r}")
    assert not faults, "headings left at the foot of a page:\n" + "\n".join(faults)


def test_the_headcount_rows_are_as_tall_as_their_text(printed):
    """The 合計 row ends where its figures do: the next line of the table (its 增減說明) starts
    within a line and a half, not after some ten blank lines beside a tall explanation."""
    pdf = printed["budget-2013"]
    found = [
        (number, words, word)
        for number, words in enumerate(pdf.pages, 1)
        for word in words
        if word.text == "合計" and word.x0 < 150
    ]
    assert found, "no 合計 row in the headcount table"
    number, words, total = found[0]
    figures = [w for w in words if abs(w.y0 - total.y0) < 1 and w.x0 > total.x1]
    right = max(w.x1 for w in figures)
    below = [w.y0 for w in words if w.y0 > total.y1 and w.x0 < right]
    assert below and min(below) - total.y1 < 1.5 * 15.5, (
        f"p.{number}: {min(below, default=0) - total.y1:.1f} pt below the 合計 row"
    )


def test_the_performance_reports_number_their_indicators_in_order(printed):
    """一、二、三、… down the 衡量指標 column over the whole table, as FY2010 prints them; not
    「一、」 again under every goal."""
    from kpitrack.core.formatting import chinese_number

    for name, pdf in sorted(printed.items()):
        if not name.startswith("performance"):
            continue
        numbers = [
            NUMBER.match(word.text)[0]
            for words in pdf.pages
            for word in sorted(words, key=lambda w: w.y0)
            if NAME_COLUMNS[0] <= word.x0 < NAME_COLUMNS[1] and NUMBER.match(word.text)
        ]
        expected = [f"{chinese_number(n)}、" for n in range(1, len(numbers) + 1)]
        assert len(numbers) >= 10 and numbers == expected, f"{name}: {numbers}"


def test_the_cover_and_the_pdf_title_give_the_year_once_unspaced(printed):
    """「中華民國99年度」 once on the cover, its digits together (not 「9 9 年 度」), and once in
    the PDF's title."""
    for name, pdf in sorted(printed.items()):
        roc = int(re.search(r"\d{4}", name)[0]) - 1911
        cover = pdf.layout[0]
        assert not [line for line in cover if re.search(r"\d\s+\d", line)], f"{name}: {cover}"
        assert pdf.text[0].count(f"{roc}年度") == 1, f"{name}: the cover says {pdf.text[0]}"
        info = poppler("pdfinfo", str(pdf.path))
        title = re.search(r"^Title:\s*(.*)$", info, re.M)[1]
        assert title.count(f"{roc}年度") == 1, f"{name}: PDF title {title!r}"
        assert title.startswith("入出國及移民署 中華民國"), f"{name}: PDF title {title!r}"


def test_the_readme_names_the_font_the_pdfs_embed(printed):
    """README says which face the PDFs embed; pdffonts reads the same one in every report."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    said = re.findall(r"(Noto (?:Sans|Serif) CJK TC) font embedded", " ".join(readme.split()))
    assert said, "README does not say which font the PDFs embed"
    for name, pdf in sorted(printed.items()):
        fonts = poppler("pdffonts", str(pdf.path)).splitlines()[2:]
        families = {re.sub(r"^[A-Z]{6}\+|-Bold$", "", line.split()[0]) for line in fonts}
        assert families == {face.replace(" ", "-") for face in said}, f"{name}: {families}"


def test_performance_reports_not_printed_from_one_state_each_target(printed):
    """Entered years, and FY2011 recast from the budget document, print 「年度目標值：…」 after
    what was achieved (the auto-gate's 8,000人); FY2010 prints as its report did, without."""
    entered = "".join(printed[f"performance-{ENTERED_YEAR}-entered"].text)
    assert entered.count("年度目標值：") == 11, entered
    assert "三、目標達成值：160件，達成率100%，符合年度目標值。年度目標值：160件。" in entered
    recast = "".join(printed["performance-2011"].text)
    assert "符合並大幅超前年度目標值。年度目標值：8,000人。重算：92,885÷8,000" in recast
    assert "年度目標值：" not in "".join(printed["performance-2010"].text)


def test_a_draft_report_prints_the_entered_figures_marked_and_lists_each_gap_once(printed):
    text = "".join(printed[f"performance-{ENTERED_YEAR}-draft"].text)
    assert "三、目標達成值：160件，達成率100%" in text, text
    assert text.count("（草稿，尚未核定）") == 11, text
    assert "」：尚未填報。" not in text, "a draft is not missing"
    assert text.count("「外籍專業人士申請核發就業PASS卡」") == 1, "listed more than once"


def test_a_recomputation_note_says_how_it_agrees_and_shows_steps_that_follow(printed):
    """Where the document truncated instead of rounding, the note says so; a step computed from
    a rounded figure shows enough of it for its result to follow (81.82% ÷ 80% is 102.28%)."""
    text = "".join(printed["budget-2013"].text)
    for agrees in (
        "603,349÷600,000=100.56%，與原列100.55%以無條件捨去計相符",
        "(109−61)÷61=78.69%，與原列78%以無條件捨去計相符",
        "取各項最低者116.67%，與原列116%以無條件捨去計相符",
        "重算：165÷160=103.13%，與原列103%相符",  # rounded half up: plainly 相符
    ):
        assert agrees in text, agrees
    assert "81.82%÷80%" not in text
    assert "9÷11=81.82%；81.8182%÷80%=102.27%，與原列102%相符" in text


def test_the_fy2011_report_recast_from_the_budget_document_says_so(printed):
    """No 100年度施政績效報告 was published: the report rebuilt from the budget document says
    where its figures come from, on the cover and in the notes; FY2010's, published, does not."""
    source = "預算總說明中華民國102年度三、(一)前(100)年度施政績效及達成情形分析"
    recast = printed["performance-2011"].text
    assert "重編" in recast[0] and source in recast[0], recast[0]
    assert any("重編" in page and source in page for page in recast[1:]), "no note in the body"
    assert not any("重編" in page for page in printed["performance-2010"].text)


def test_a_row_continued_on_a_page_brings_three_lines_at_least(printed):
    """A row that goes on to the next page takes at least three lines with it (a last page with
    a line or two is a fault), and leaves at least two behind."""
    faults = []
    for name, pdf in sorted(printed.items()):
        for number, lines in enumerate(pdf.layout[1:], 2):
            text = [line for line in lines if line.strip()]
            carried = next((i for i, line in enumerate(text) if "（續）" in line), None)
            if carried is None:
                continue
            # Lines from （續） to the footer or the next row (a goal or name flush left).
            count = 1
            for line in text[carried + 1 : -1]:
                if line[:1].strip():
                    break
                count += 1
            if count < 3:
                faults.append(f"{name} p.{number}: {count} lines carried over")
    assert not faults, "\n".join(faults)
