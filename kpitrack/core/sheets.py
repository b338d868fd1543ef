"""How every xlsx kpitrack writes (reports, dashboard exports, the entry workbook) lays out
wrapped text and prints: one home, so the three writers cannot drift apart.

Excel grows a row to fit wrapped text only when it edits the cell, and LibreOffice not at all
when it opens a file whose rows have no height: without a height, every wrapped cell shows and
prints as its first line. So the writers set each row's height from its text and the widths of
its columns, estimated as a person reading the sheet would count characters.
"""

import math
import unicodedata

from openpyxl.utils import get_column_letter, range_boundaries

# Points per line of 11-point text (Excel's and LibreOffice's default row is 15 points tall).
LINE_HEIGHT = 15.0
DEFAULT_FONT_SIZE = 11.0
# Excel refuses a taller row; text beyond it is cut whatever is done.
MAX_ROW_HEIGHT = 409.0
DEFAULT_WIDTH = 8.43
# About how many width units of columns print across an A4 landscape page at 100% with the
# default margins (277 mm less margins, ~1.9 mm per unit), and the smallest scale that still
# reads: wider sheets print over several pages across rather than shrunk onto one.
A4_LANDSCAPE_WIDTH = 130
MIN_SCALE = 0.7
PAGE_WIDTH = A4_LANDSCAPE_WIDTH / MIN_SCALE
MAX_PAGES_ACROSS = 10


def text_width(text: str) -> float:
    """How many column-width units a line of text takes: a CJK (wide) character about two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def lines_needed(text: str, width: float) -> int:
    """How many lines `text` wraps to in a column `width` units wide."""
    usable = max(width - 1, 1)  # the cell's padding
    return sum(max(1, math.ceil(text_width(line) / usable)) for line in str(text).split("\n"))


def _width(ws, column: int) -> float:
    dimension = ws.column_dimensions.get(get_column_letter(column))
    return (dimension.width if dimension is not None and dimension.width else None) or (
        DEFAULT_WIDTH
    )


def fit_rows(ws, *, min_row: int = 1) -> None:
    """Sets the height of each row from `min_row` on to show all of its wrapped text: call it
    once the column widths are set. Merged cells (titles, banners) are left as they are."""
    merged = set()
    for bounds in ws.merged_cells.ranges:
        low_col, low_row, high_col, high_row = range_boundaries(str(bounds))
        for r in range(low_row, high_row + 1):
            for c in range(low_col, high_col + 1):
                merged.add((r, c))
    widths: dict[int, float] = {}
    for number, dimension in ws.row_dimensions.items():
        if number >= min_row:
            dimension.height = None  # rows inserted above leave their heights behind
    for row in ws.iter_rows(min_row=min_row):
        tallest = 0.0
        for cell in row:
            value = cell.value
            if not isinstance(value, str) or not value or (cell.row, cell.column) in merged:
                continue
            wraps = cell.alignment is not None and cell.alignment.wrap_text
            if not wraps and "\n" not in value:
                continue
            if cell.column not in widths:
                widths[cell.column] = _width(ws, cell.column)
            size = (cell.font.sz if cell.font is not None and cell.font.sz else None) or (
                DEFAULT_FONT_SIZE
            )
            lines = lines_needed(value, widths[cell.column]) if wraps else value.count("\n") + 1
            tallest = max(tallest, lines * LINE_HEIGHT * size / DEFAULT_FONT_SIZE)
        if tallest > LINE_HEIGHT:
            ws.row_dimensions[row[0].row].height = min(math.ceil(tallest) + 2, MAX_ROW_HEIGHT)


def print_setup(ws, *, title_rows: str, title_columns: str | None = None) -> None:
    """A4 landscape with the header rows (and the naming columns) repeated on every page; as
    many pages across as the columns need to print readable, and as many down as the rows."""
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    shown = [
        c
        for c in range(1, ws.max_column + 1)
        if not ws.column_dimensions[get_column_letter(c)].hidden
    ]
    total = sum(_width(ws, c) for c in shown)
    repeated = 0.0
    if title_columns:
        low, _row, high, _row = range_boundaries(f"{title_columns}".replace("$", ""))
        repeated = sum(_width(ws, c) for c in shown if low <= c <= high)
        ws.print_title_cols = title_columns
    # Columns repeated on every page take room from each page after the first.
    pages = 1
    if total > PAGE_WIDTH:
        pages = 1 + math.ceil((total - PAGE_WIDTH) / max(PAGE_WIDTH - repeated, 1))
    ws.page_setup.fitToWidth = min(pages, MAX_PAGES_ACROSS)
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = title_rows
