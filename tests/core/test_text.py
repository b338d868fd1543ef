"""The one rule of characters no text may hold, and of text kept text in a spreadsheet."""

import pytest
from openpyxl import Workbook

from kpitrack.core.text import cleaned, has_unusable, keep_as_text, neutral, shown


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\ud800"])
def test_nul_other_c0_controls_and_lone_surrogates_are_unusable(char):
    assert has_unusable(f"a{char}b")
    assert cleaned(f"a{char}b") == "ab"
    assert shown(f"a{char}b") == "a\ufffdb"


def test_tab_line_feed_carriage_return_and_ordinary_text_are_usable():
    text = "第一行\r\n\t第二行 ✓ 😀"
    assert not has_unusable(text)
    assert cleaned(text) == text


def test_a_csv_cell_that_would_start_a_formula_is_neutralised():
    assert [neutral(t) for t in ["=1+1", "+1", "-5%", "@x", "普通"]] == [
        "'=1+1",
        "'+1",
        "'-5%",
        "'@x",
        "普通",
    ]


def test_a_cell_of_text_stays_text():
    cell = Workbook().active["A1"]
    cell.value = "=HYPERLINK(1)"
    assert cell.data_type == "f"
    keep_as_text(cell)
    assert (cell.data_type, cell.value) == ("s", "=HYPERLINK(1)")
