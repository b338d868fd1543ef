"""The printed reports, end to end: each PDF is rendered once per module with WeasyPrint and read
back with poppler (pdffonts, pdfinfo, pdftotext, pdftoppm) the way a reader's tools would see it.

pdftotext breaks table cells across lines and interleaves neighbouring cells, so text is compared
with all whitespace removed and searched for in short per-cell pieces; where a whole cell matters,
its column is read back from the words' positions (`pdftotext -bbox`). (`pdfinfo -struct-text`
would give whole cells from the tag tree, but takes ~30 s on the budget report.)
"""

import html
import re
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest
import yaml

from tests.conftest import SEED

pytestmark = [pytest.mark.django_db, pytest.mark.pdf]

AGENCY = "入出國及移民署"
# The official print face (Ming), named in print.html; never the generic or the sans face.
FONT = re.compile(r"Noto-?Serif-?CJK-?TC", re.IGNORECASE)
A4_PTS = (595.28, 841.89)
RESULTS_HEADER = "績效衡量暨達成情形分析"
UNITS = [
    unit["name"] for unit in yaml.safe_load((SEED / "agency.yaml").read_text())["agency"]["units"]
]


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def seed_indicators(name: str) -> list[dict]:
    data = yaml.safe_load((SEED / name).read_text(encoding="utf-8"))
    return [ind for goal in data["goals"] for ind in goal["indicators"]]


def poppler(*args) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@dataclass(frozen=True)
class Word:
    """A run of text without spaces and its box on the page, from `pdftotext -bbox`."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str


@dataclass
class Pdf:
    path: Path
    title: str  # the report's title as printed on the title page
    roc_year: int

    @cached_property
    def info(self) -> dict[str, str]:
        out = poppler("pdfinfo", str(self.path))
        return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in out.splitlines())}

    @cached_property
    def page_count(self) -> int:
        return int(self.info["Pages"])

    @cached_property
    def pages(self) -> list[str]:
        """Whitespace-free text of each page; pages[0] is page 1."""
        return [
            flat(poppler("pdftotext", "-f", str(n), "-l", str(n), str(self.path), "-"))
            for n in range(1, self.page_count + 1)
        ]

    @cached_property
    def layout_lines(self) -> list[list[str]]:
        """Each page's non-blank lines in physical layout (running header first, footer last)."""
        pages = []
        for n in range(1, self.page_count + 1):
            text = poppler("pdftotext", "-layout", "-f", str(n), "-l", str(n), str(self.path), "-")
            pages.append([line for line in text.splitlines() if line.strip()])
        return pages

    def words(self, page: int) -> list[Word]:
        out = poppler("pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(self.path), "-")
        pattern = (
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
        )
        return [
            Word(float(x0), float(y0), float(x1), float(y1), html.unescape(text))
            for x0, y0, x1, y1, text in re.findall(pattern, out)
        ]

    def column_cells(self, pages: range, first: Word) -> list[str]:
        """The cells of a left-aligned table column, top to bottom over `pages`, starting with
        the cell whose first line is `first`. Lines 1-2 pt apart belong to one cell, wider gaps
        (cell padding and borders) start the next; the column ends where the next column's
        text starts on `first`'s line."""
        left, below = first.x0, first.y0 - 0.5
        right = min(
            (w.x0 for w in self.words(pages[0]) if abs(w.y0 - first.y0) < 0.5 and w.x0 > left),
            default=float("inf"),
        )
        cells: list[str] = []
        for page in pages:
            words = self.words(page)
            starts = sorted(
                (w for w in words if abs(w.x0 - left) < 1.5 and (page != pages[0] or w.y0 > below)),
                key=lambda w: w.y0,
            )
            previous = None
            for start in starts:
                line = "".join(
                    w.text
                    for w in sorted(words, key=lambda w: w.x0)
                    if abs(w.y0 - start.y0) < 0.5 and start.x0 <= w.x0 < right
                )
                if previous is None or start.y0 - previous.y1 > 4:
                    cells.append(line)
                else:
                    cells[-1] += line
                previous = start
        return cells

    @cached_property
    def toc_page(self) -> int | None:
        # 目次 itself is letter-spaced and split by the running header; its leader dots are not.
        pages = enumerate(self.pages, 1)
        return next((n for n, text in pages if re.search(r"\.{10,}\d+", text)), None)

    @property
    def body_start(self) -> int:
        """The last page before the body: the table of contents, or the title page."""
        return self.toc_page or 1

    def body_page_of(self, text: str) -> int:
        """The first page after the table of contents that shows `text`."""
        wanted = flat(text)
        for n in range(self.body_start + 1, self.page_count + 1):
            if wanted in self.pages[n - 1]:
                return n
        raise AssertionError(f"{text!r} is on no page after the table of contents ({self.path})")

    @cached_property
    def body(self) -> str:
        return "".join(self.pages[self.body_start :])


def _render(tmp_path_factory, seeded_pdf, kind, year, quarter, title, roc_year) -> Pdf:
    data = seeded_pdf(kind, year, quarter)  # conftest.py: once per session, shared
    path = tmp_path_factory.mktemp("pdf") / f"nia-{kind}-{year}.pdf"
    path.write_bytes(data)
    assert data.startswith(b"%PDF-"), f"{kind} {year} did not render to a PDF"
    return Pdf(path, title, roc_year)


@pytest.fixture(scope="module")
def budget_2013(tmp_path_factory, seeded_pdf):
    return _render(tmp_path_factory, seeded_pdf, "budget", 2013, 2, "預算總說明", 102)


@pytest.fixture(scope="module")
def budget_2012(tmp_path_factory, seeded_pdf):
    return _render(tmp_path_factory, seeded_pdf, "budget", 2012, 2, "預算總說明", 101)


@pytest.fixture(scope="module")
def performance_2010(tmp_path_factory, seeded_pdf):
    return _render(tmp_path_factory, seeded_pdf, "performance", 2010, 4, "99年度施政績效報告", 99)


ALL_PDFS = ["budget_2013", "performance_2010", "budget_2012"]


def budget_headings(roc: int, prior: int, elapsed: int) -> list[str]:
    return [
        "一、現行法定職掌",
        "(一)機關主要職掌",
        "(二)內部分層業務",
        "(三)組織系統圖及預算員額說明表",
        f"二、{AGENCY}{roc}年度施政目標與重點",
        "(一)年度施政目標",
        "(二)年度關鍵績效指標",
        f"三、{AGENCY}以前年度實施狀況及成果概述",
        f"(一)前({prior})年度施政績效及達成情形分析",
        f"(二)上({elapsed})年度已過期間施政績效及達成情形",
    ]


HEADINGS = {
    "budget_2013": budget_headings(102, 100, 101),
    "budget_2012": budget_headings(101, 99, 100),
    # As printed in FY2010: one untitled table, no lights (agency.yaml's uses_lights: false).
    "performance_2010": [],
}
# What opens each report's results section: 三 of the budget; the table's own header row in the
# FY2010 report, which has no headings.
RESULTS_HEADING = {
    "budget_2013": HEADINGS["budget_2013"][7],
    "budget_2012": HEADINGS["budget_2012"][7],
    "performance_2010": RESULTS_HEADER,
}


# --- fonts and metadata ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_PDFS)
def test_it_embeds_the_print_face_as_a_subset_and_nothing_else(request, name):
    pdf = request.getfixturevalue(name)
    lines = poppler("pdffonts", str(pdf.path)).splitlines()
    assert lines[1].startswith("-----"), lines[:2]
    fonts = []
    for line in lines[2:]:
        match = re.match(
            r"^(\S+)\s+(.+?)\s+(\S+)\s+(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$", line
        )
        assert match, f"unreadable pdffonts line: {line!r}"
        fonts.append(match.groups())
    assert fonts, f"{name}: no fonts at all"
    for font_name, font_type, _encoding, emb, _sub, _uni in fonts:
        assert emb == "yes", f"{name}: font {font_name} is not embedded"
        assert "Type 3" not in font_type, f"{name}: Type 3 font {font_name}"
    cjk = [f for f in fonts if FONT.search(f[0])]
    assert len(cjk) == len(fonts), f"{name}: fonts other than Noto Serif CJK TC: {fonts}"
    assert any(emb == "yes" and sub == "yes" for _n, _t, _e, emb, sub, _u in cjk), (
        f"{name}: the Noto Serif CJK TC font is not an embedded subset: {cjk}"
    )


@pytest.mark.parametrize("name", ALL_PDFS)
def test_it_is_a_tagged_a4_pdf_with_title_and_author(request, name):
    pdf = request.getfixturevalue(name)
    info = pdf.info
    assert info.get("Tagged") == "yes", f"{name} is not tagged: {info}"
    assert AGENCY in info["Title"] and pdf.title in info["Title"], info["Title"]
    assert f"中華民國{pdf.roc_year}年度" in info["Title"], info["Title"]
    assert info["Author"] == AGENCY
    size = re.match(r"([\d.]+) x ([\d.]+) pts", info["Page size"])
    assert size, info["Page size"]
    width, height = float(size[1]), float(size[2])
    assert (width, height) == pytest.approx(A4_PTS, abs=0.05), f"{name} is {width} x {height} pts"


# --- structure: headings, table of contents, running headers and footers --------------------


@pytest.mark.parametrize("name", ALL_PDFS)
def test_it_prints_the_headings_in_order_after_the_table_of_contents(request, name):
    pdf = request.getfixturevalue(name)
    headings = HEADINGS[name]
    positions = []
    for heading in headings:
        position = pdf.body.find(flat(heading))
        assert position >= 0, f"{name}: heading {heading!r} missing from the body"
        positions.append(position)
    assert positions == sorted(positions), (
        f"{name}: headings out of order: {sorted(zip(positions, headings, strict=True))}"
    )


@pytest.mark.parametrize("name", ["budget_2013", "budget_2012"])
def test_it_lists_every_heading_in_the_toc_with_its_real_page_number(request, name):
    pdf = request.getfixturevalue(name)
    toc = pdf.pages[pdf.toc_page - 1]
    assert pdf.toc_page == 2, f"{name}: the table of contents should follow the title page"
    for heading in HEADINGS[name]:
        entry = re.search(re.escape(flat(heading)) + r"\.+(\d+)", toc)
        assert entry, f"{name}: TOC has no entry with a page number for {heading!r}: {toc}"
        listed = int(entry[1])
        actual = pdf.body_page_of(heading)
        assert listed == actual, (
            f"{name}: TOC says {heading!r} is on p.{listed}, it is on p.{actual}"
        )


@pytest.mark.parametrize("name", ALL_PDFS)
def test_it_has_an_unnumbered_title_page_running_headers_and_page_x_of_y_footers(request, name):
    pdf = request.getfixturevalue(name)
    year = f"中華民國{pdf.roc_year}年度"
    title_page = pdf.pages[0]
    for text in (AGENCY, flat(pdf.title), year):
        assert text in title_page, f"{name}: title page lacks {text!r}: {title_page}"
    total = pdf.page_count
    assert not re.search(r"第\d+頁", title_page), f"{name}: the cover is numbered: {title_page}"
    for number, lines in enumerate(pdf.layout_lines[1:], 2):
        footer = flat(lines[-1])
        # The 101年度 budget explanation lacks headcount and policy data: every page says draft.
        mark = "草稿：資料未完備或未核定，非正式版本" if name == "budget_2012" else ""
        expected = f"{mark}第{number}頁/共{total}頁"
        assert footer == expected, f"{name} p.{number}: footer {lines[-1]!r}"
        header = flat(lines[0])
        for text in (AGENCY, flat(pdf.title), year):
            assert text in header, f"{name} p.{number}: running header {lines[0]!r} lacks {text}"


# --- content: KPI table, figures, headcount, org chart ------------------------------------


def _kpi_pages(pdf: Pdf, name: str) -> range:
    """The KPI table runs from its heading to the results section, which starts a new page."""
    return range(pdf.body_page_of("(二)年度關鍵績效指標"), pdf.body_page_of(RESULTS_HEADING[name]))


def test_it_lists_all_eleven_fy2013_kpis_with_their_targets(budget_2013):
    expected = seed_indicators("2013-budget.yaml")
    assert len(expected) == 11
    pages = _kpi_pages(budget_2013, "budget_2013")
    text = "".join(budget_2013.pages[n - 1] for n in pages)
    # Names and targets as short per-cell pieces: a cell's first line holds 5 characters at least.
    for ind in expected:
        assert flat(ind["name"])[:5] in text, f"{ind['code']}: {ind['name']!r} not on pp.{pages}"
        for line in ind["target_text"].splitlines():
            piece = flat(line)[:5]
            assert piece in text, f"{ind['code']}: target {piece!r} not on pp.{pages}"
    for piece in ("160件", "8,000人", "(1)12所。", "(2)20場次。", "(3)500人"):
        assert piece in text, f"{piece!r} not on the KPI pages {pages}"
    # The 關鍵績效指標 and 102年度目標值 columns read back whole: one cell per KPI, in order.
    words = budget_2013.words(pages[0])
    for column, first_line in (("name", "外籍專業人"), ("target_text", "160件")):
        first = next(w for w in words if w.text.startswith(first_line))
        headers = {"關鍵績效指標", "102年度目標值"}  # in case a repeated header lines up
        cells = [
            c for c in budget_2013.column_cells(pages, first) if not c.startswith(tuple(headers))
        ]
        assert cells == [flat(ind[column]) for ind in expected], f"{column} column: {cells}"


def _section_text(pdf: Pdf, start: str, end: str | None) -> str:
    body = pdf.body
    begin = body.index(flat(start))
    finish = body.index(flat(end), begin) if end else len(body)
    return body[begin:finish]


PRIOR_2013 = ("(一)前(100)年度施政績效及達成情形分析", "(二)上(101)年度")
ELAPSED_2013 = ("(二)上(101)年度已過期間施政績效及達成情形（1-6月）", None)


def test_it_prints_one_result_per_indicator_in_each_results_table(budget_2013):
    # Each row's analysis cell opens with 一、衡量標準 or, as two 101年度 rows print it,
    # 一、衡量指標 (a row split over two pages, only once).
    prior = _section_text(budget_2013, *PRIOR_2013)
    elapsed = _section_text(budget_2013, *ELAPSED_2013)
    assert prior.count("一、衡量標準：") == len(seed_indicators("2011-results.yaml")) == 12
    opening = elapsed.count("一、衡量標準：") + elapsed.count("一、衡量指標：")
    assert opening == len(seed_indicators("2012-results.yaml")) == 11


def test_it_prints_the_engines_figures_in_the_right_sections(budget_2013):
    prior = _section_text(budget_2013, *PRIOR_2013)
    elapsed = _section_text(budget_2013, *ELAPSED_2013)
    # Published lines stay as printed; the engine's figures stand beside them as a note.
    # e-permit 603,349 / 600,000, rounded half-up to two decimals.
    assert (
        "(二)達成度：603,349人，達成率100.55％，符合並超越年度目標值。重算：603,349÷600,000"
        in prior
    )
    # Auto-gate enrolment 92,885 / 8,000: the document printed 1,061%, the engine says 1,161.06%.
    assert "重算：92,885÷8,000=1,161.06%，與原列1,061%不符" in prior
    # PASS card 165 / 160 and the campus alliance's lowest-part rule (19 / 12 schools).
    assert "(二)達成度：103％。重算：165÷160=103.13%，與原列103%相符" in elapsed
    assert "取各項最低者158.33%，與原列158%相符" in elapsed


def _layout_numbers(lines: list[str], label: str, count: int) -> list[str]:
    """The first `count` numbers after `label` on the first layout line that has that many."""
    for line in lines:
        if label in line:
            numbers = re.findall(r"\d[\d,]*", line.split(label, 1)[1])
            if len(numbers) >= count:
                return numbers[:count]
    raise AssertionError(f"no line with {label!r} and {count} numbers in {lines}")


def test_it_prints_the_headcount_table_with_its_totals(budget_2013):
    lines = yaml.safe_load((SEED / "2013-budget.yaml").read_text(encoding="utf-8"))["headcount"]
    previous = [line["previous"] for line in lines[0]["lines"]]
    change = [line["change"] for line in lines[0]["lines"]]
    current = [p + c for p, c in zip(previous, change, strict=True)]
    expected = {
        "上年度": [*previous, sum(previous)],
        "本年度": [*change, sum(change)],
        "合計": [*current, sum(current)],
    }
    assert [row[-1] for row in expected.values()] == [2732, 78, 2810] and current[0] == 2177
    page = budget_2013.body_page_of("預算員額說明表（單位：人）")
    text = budget_2013.pages[page - 1]
    for figure in ("2,732", "78", "2,810", "2,177"):
        assert figure in text, f"{figure} missing from the headcount page {page}"
    layout = budget_2013.layout_lines[page - 1]
    for label, numbers in expected.items():
        printed = _layout_numbers(layout, label, len(numbers))
        assert printed == [f"{n:,}" for n in numbers], f"row {label}: {printed}"


def test_it_draws_the_org_chart_with_all_thirteen_units(budget_2013):
    assert len(UNITS) == 13
    page = budget_2013.body_page_of(f"{AGENCY}組織系統圖")
    text = budget_2013.pages[page - 1]
    assert "(三)組織系統圖及預算員額說明表" in text
    missing = [unit for unit in UNITS if unit not in text]
    assert not missing, f"org chart page {page} lacks {missing}"


def test_it_keeps_the_blank_before_the_honorific(budget_2013):
    """「經  總統公布」: the 挪抬 blank the source prints before 總統 (two spaces, half an em)."""
    page = budget_2013.body_page_of("總統公布")
    words = budget_2013.words(page)
    after = next(w for w in words if w.text.startswith("總統公布"))
    before = next(w for w in words if w.text.endswith("經") and abs(w.y0 - after.y0) < 0.5)
    gap = after.x0 - before.x1
    assert gap == pytest.approx(10.5 / 2, abs=0.5), f"{gap:.2f} pt between 經 and 總統"


def test_it_prints_2010_as_the_agency_did_one_table_without_lights_or_contents(performance_2010):
    assert performance_2010.toc_page is None, "the FY2010 report has no table of contents"
    text = "".join(performance_2010.pages)
    for absent in ("目次", "燈號", "指標達成情形燈號統計", "二、績效目標", "綠燈", "白燈"):
        assert absent not in text, f"{absent!r} printed, the source has none"
    assert performance_2010.body_page_of(RESULTS_HEADER) == 2, "the table should open page 2"
    header = next(
        flat(line) for line in performance_2010.layout_lines[1] if RESULTS_HEADER in flat(line)
    )
    assert header == "年度績效目標衡量指標" + RESULTS_HEADER, header


def test_it_prints_the_recomputed_rates_of_2010_beside_the_published_ones(performance_2010):
    body = performance_2010.body
    # Civil liaison: the published cell said 100%, reprinted as such; 541 sessions / 300 is
    # 180.33%, in the recomputation note beside it.
    assert "三、目標達成值：100%。重算：541÷300=180.33%，與原列100%不符" in body


# --- pagination -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_PDFS)
def test_it_repeats_the_results_table_header_on_every_page(request, name):
    """The results section starts on a new page and holds only the results tables, so every
    page from its heading to the end carries result rows and must show the header row."""
    pdf = request.getfixturevalue(name)
    pages = range(pdf.body_page_of(RESULTS_HEADING[name]), pdf.page_count + 1)
    assert len(pages) >= 3, f"{name}: expected the results to run over several pages"
    bare = [n for n in pages if RESULTS_HEADER not in pdf.pages[n - 1]]
    assert not bare, f"{name}: results rows without the header row on pages {bare}"


@pytest.mark.parametrize("name", ["budget_2013", "budget_2012"])
def test_it_repeats_the_kpi_table_header_on_every_page(request, name):
    pdf = request.getfixturevalue(name)
    pages = _kpi_pages(pdf, name)
    assert len(pages) >= 2, f"{name}: expected the KPI table to run over two pages at least"
    standards = [
        flat(ind["measurement_standard"])[:8]
        for ind in seed_indicators(
            "2013-budget.yaml" if name == "budget_2013" else "2012-results.yaml"
        )
    ]
    for n in pages:
        text = pdf.pages[n - 1]
        assert any(s in text for s in standards), f"{name} p.{n}: no KPI row found"
        for header in ("關鍵策略目標", "衡量標準", f"{pdf.roc_year}年度目標值"):
            assert header in text, f"{name} p.{n} has KPI rows but no {header!r} header"


# --- images ---------------------------------------------------------------------------------


def _png(pdf: Pdf, page: int, folder: Path, stem: str) -> Path:
    target = folder / stem
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", "-f", str(page), "-l", str(page), "-singlefile"]
        + [str(pdf.path), str(target)],
        check=True,
    )
    return target.with_suffix(".png")


@pytest.mark.parametrize(
    ("name", "anchor"),
    [
        ("budget_2013", f"{AGENCY}組織系統圖"),
        ("budget_2013", "重算：165÷160=103.13%"),
        ("performance_2010", RESULTS_HEADER),
        ("performance_2010", "重算：541÷300=180.33%"),
        ("budget_2012", "資料缺漏"),
        ("budget_2013", "(二)年度關鍵績效指標"),
        ("budget_2013", "(一)前(100)年度施政績效及達成情形分析"),
        ("performance_2010", "效益：傾聽在地聲音"),
        ("performance_2010", "新增網路申辦服務項目包括"),
    ],
)
def test_it_renders_pages_to_png(request, artifacts, name, anchor):
    pdf = request.getfixturevalue(name)
    page = pdf.body_page_of(anchor)
    png = _png(pdf, page, artifacts, f"{name.replace('_', '-')}-p{page}")
    assert png.exists(), f"pdftoppm wrote nothing for {name} p.{page}"
    assert png.read_bytes().startswith(b"\x89PNG")
    assert png.stat().st_size > 10_000, f"{png} is only {png.stat().st_size} bytes"


# --- a year with partial data ---------------------------------------------------------------


def test_it_lists_the_missing_data_of_a_partial_year(budget_2012):
    box = budget_2012.body_page_of("資料缺漏")
    assert box == budget_2012.body_page_of("一、現行法定職掌"), "資料缺漏 box should open the body"
    text = budget_2012.pages[box - 1]
    assert text.index("資料缺漏") < text.index("一、現行法定職掌")
    for item in ("尚無本年度預算員額資料。", "尚無本年度施政目標與重點。"):
        assert item in text, f"資料缺漏 box lacks {item!r}"
    assert "尚無本年度關鍵績效指標" not in text  # 2012 has KPIs


def test_it_explains_why_the_elapsed_period_cannot_be_computed(budget_2012):
    """2011 has only full-year (Q4) figures: through June every indicator is 無法計算, with why."""
    elapsed = _section_text(budget_2012, "(二)上(100)年度已過期間施政績效及達成情形（1-6月）", None)
    count = len(seed_indicators("2011-results.yaml"))
    reasons = re.findall(r"\(二\)達成度：無法計算：([^四]+?)四、效益", elapsed)
    assert len(reasons) == count, f"{len(reasons)} of {count} rows say why: {reasons}"
    assert all(reason.strip("。") for reason in reasons), reasons
    assert "達成率" not in elapsed
    prior = _section_text(budget_2012, "(一)前(99)年度施政績效及達成情形分析", "(二)上(100)年度")
    assert "541÷300=180.33%" in prior  # 2010 is complete and still recomputed


# --- print quality --------------------------------------------------------------------------

TABLE_HEADERS = {
    "budget_2013": [
        *("業務計畫", "年度及類別", "職員", "警員", "技工", "工友", "聘用", "約僱", "增減說明"),
        *("關鍵策略目標", "關鍵績效指標", "評估體制", "評估方式", "衡量標準", "102年度目標值"),
        *("年度績效目標", "衡量指標", "原定目標值", RESULTS_HEADER),
    ],
    "budget_2012": ["關鍵策略目標", "關鍵績效指標", "評估體制", "評估方式", "101年度目標值"],
    "performance_2010": ["年度績效目標", "衡量指標", RESULTS_HEADER],
}


@pytest.mark.parametrize("name", ALL_PDFS)
def test_it_never_breaks_a_table_header_across_lines(request, name):
    """Wherever a header's text is on a page, it is on one printed line (not 關鍵績效指/標)."""
    pdf = request.getfixturevalue(name)
    broken = []
    for label in TABLE_HEADERS[name]:
        pages = [
            n for n in range(pdf.body_start + 1, pdf.page_count + 1) if label in pdf.pages[n - 1]
        ]
        assert pages, f"{name}: header {label!r} is on no page"
        for n in pages:
            if not any(label in flat(line) for line in pdf.layout_lines[n - 1]):
                broken.append((label, n))
    assert not broken, f"{name}: headers split across lines (label, page): {broken}"


BODY_TOP, BODY_BOTTOM = 22 / 25.4 * 72, A4_PTS[1] - 18 / 25.4 * 72  # the @page margins


def _fill(pdf: Pdf, page: int) -> float:
    """How far down the body area the page's lowest text (not the footer) reaches, 0 to 1."""
    words = [w for w in pdf.words(page) if BODY_TOP < w.y0 and w.y1 < BODY_BOTTOM]
    lowest = max((w.y1 for w in words), default=BODY_TOP)
    return (lowest - BODY_TOP) / (BODY_BOTTOM - BODY_TOP)


@pytest.mark.parametrize("name", ALL_PDFS)
def test_no_page_is_less_than_half_full_unless_a_section_ends_there(request, name):
    pdf = request.getfixturevalue(name)
    # A page ends a section when the next one opens with a top-level heading (一、 二、 三、).
    starts = {pdf.body_page_of(h) for h in HEADINGS[name] if not h.startswith("(")}
    sparse = [
        (n, round(_fill(pdf, n), 2))
        for n in range(pdf.body_start + 1, pdf.page_count)
        if n + 1 not in starts and _fill(pdf, n) < 0.5
    ]
    assert not sparse, f"{name}: pages under half full mid-section (page, fill): {sparse}"


EM = 10  # the tables' font size in pt: one em


def test_it_hangs_the_numbers_of_numbered_lines_in_the_analysis_cells(performance_2010):
    """一、 and (一) hang: the wrapped lines of a numbered line start where its text starts."""
    pdf = performance_2010
    words = pdf.words(pdf.body_page_of("新增網路申辦服務項目包括"))

    def word(start: str) -> Word:
        return next(w for w in words if w.text.startswith(start))

    def next_line(line: Word) -> Word:
        below = [w for w in words if line.y1 < w.y0 < line.y1 + EM and w.x0 >= line.x0 - 1]
        return min(below, key=lambda w: (w.y0, w.x0))

    item = word("新增網路申辦服務項目包括")
    number = next(w for w in words if w.text == "(一)" and abs(w.y0 - item.y0) < 0.5)
    assert item.x0 - number.x0 == pytest.approx(2 * EM, abs=0.5), "(一) hangs by 2 em"
    assert next_line(item).x0 == pytest.approx(item.x0, abs=0.5), next_line(item)
    heading = word("二、辦理情形：涉及人民權益")
    assert next_line(heading).x0 == pytest.approx(heading.x0 + 2 * EM, abs=0.5), "二、 hangs"


def _table_pages(pdf: Pdf, name: str) -> list[int]:
    """Pages on which a KPI or results table goes on from the page before."""
    pages = list(range(pdf.body_page_of(RESULTS_HEADING[name]) + 1, pdf.page_count + 1))
    if name.startswith("budget"):
        pages = [*_kpi_pages(pdf, name)[1:], *pages]
    return pages


GOAL_OPENS = re.compile(r"[一二三四五六七八九十]+、")


@pytest.mark.parametrize("name", ALL_PDFS)
def test_it_marks_cells_continued_from_the_previous_page(request, name):
    """A page that goes on with a row or a goal begun on the page before shows （續） on the
    table's first line, above any text the cell carries over (not printed over it); a page that
    opens with a new goal shows none, and no other line anywhere says （續）."""
    pdf = request.getfixturevalue(name)
    marked = 0
    for n in _table_pages(pdf, name):
        lines = pdf.layout_lines[n - 1]
        header = next(
            i for i, line in enumerate(lines) if re.search("關鍵策略目標|年度績效目標", line)
        )
        opening = flat(lines[header + 1])
        on_page = pdf.pages[n - 1].count("（續）")
        if GOAL_OPENS.match(opening):
            assert on_page == 0, f"{name} p.{n} opens a new goal but says （續）: {opening!r}"
        else:
            assert opening.startswith("（續）"), f"{name} p.{n} goes on unmarked: {opening!r}"
            assert on_page == opening.count("（續）"), f"{name} p.{n}: （續） below the top"
            marked += 1
    assert marked, f"{name}: no page continues a row or goal"
    table_pages = set(_table_pages(pdf, name))
    elsewhere = [n for n in range(1, pdf.page_count + 1) if n not in table_pages]
    assert not [n for n in elsewhere if "（續）" in pdf.pages[n - 1]], f"{name}: （續） elsewhere"


@pytest.mark.parametrize("name", ALL_PDFS)
def test_it_prints_in_black_with_no_coloured_text(request, name, tmp_path):
    """Status is said in words (綠燈, （尚未填報）); no page carries colour, red or any other."""
    from PIL import Image

    pdf = request.getfixturevalue(name)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf.path), str(tmp_path / "p")], check=True)
    coloured = []
    for png in sorted(tmp_path.glob("p-*.png")):
        pixels = Image.open(png).convert("RGB").getdata()
        if any(max(r, g, b) - min(r, g, b) > 48 for r, g, b in pixels):
            coloured.append(png.stem)
    assert not coloured, f"{name}: coloured pages {coloured}"
