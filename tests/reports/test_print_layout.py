"""Print faults an officer would not hand in, over every report of the seeded agency: every year
of both kinds, and a performance report of results entered in kpitrack (not transcribed). Each
PDF is rendered once per test session and read back with poppler (`pdftotext -bbox`)."""

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


def _enter_results(year: int) -> None:
    """Approved Q4 results for every indicator of `year`, each input at its part's target: the
    kind of year an agency types in, not one transcribed from a document."""
    from performance.models import Indicator, Result, ResultFigure

    for indicator in Indicator.objects.filter(goal__agency__code="nia", goal__year=year):
        targets = {part.key: part.value for part in indicator.parts.all()}
        result = Result.objects.create(
            indicator=indicator,
            quarter=4,
            state=Result.State.APPROVED,
            progress=f"{indicator.name}：全年依計畫辦理完成，並按季檢討執行進度。",
            benefit="提升服務品質，落實政策目標，民眾滿意度持續提高。",
        )
        for entry in indicator.inputs.all():
            value = targets.get(entry.key) or Decimal(100)
            ResultFigure.objects.create(result=result, key=entry.key, value=value)


def _name(row) -> str:
    return getattr(row, "indicator", row).name


def _render_all(folder: Path) -> dict[str, Printed]:
    from django.db import transaction

    from budget.models import Agency
    from kpitrack.reports.assembly import KINDS, report_for, report_years
    from kpitrack.reports.render import pdf_bytes

    agency = Agency.objects.get(code="nia")
    printed = {}

    def render(name, report):
        path = folder / f"{name}.pdf"
        path.write_bytes(pdf_bytes(report))
        if report.kind == "budget":
            tables = [report.kpis, report.prior.groups, report.elapsed.groups]
            results = tables[1:]
        else:
            tables = results = [report.section.groups]
        printed[name] = Printed(
            name,
            path,
            goals=[g.goal.title for groups in tables for g in groups],
            # A row the document printed empty (FY2010's 加強財務審核) has nothing beside it.
            results=[
                _name(row) for groups in results for g in groups for row in g.rows if row.cell
            ],
        )

    for kind in KINDS:
        for year in report_years(agency, kind):
            render(f"{kind}-{year}", report_for(agency, kind, year, 2))
    with transaction.atomic():
        _enter_results(ENTERED_YEAR)
        render(f"performance-{ENTERED_YEAR}-entered", report_for(agency, "performance", 2012))
        transaction.set_rollback(True)
    return printed


@pytest.fixture(scope="session")
def printed(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, Printed]:
    with django_db_blocker.unblock():
        return _render_all(tmp_path_factory.mktemp("reports"))


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
