"""What the entry workbook says each input accepts, and what a refusal says (issue 18, items 22
and 23): the format shows every decimal the server keeps, validation and refusals state the
input's real bounds and quote the value typed, and every problem of a file is listed at once."""

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from performance import workbook as wb
from performance.workbook_import import import_workbook

from .test_workbook_file import SCOPE, _built, _edit
from .test_workbook_import import COUNT, DEN, NUM, _good, _refused
from .workbook_helpers import download, fill

WIDEST = "99,999,999,999.9999"


def _shown_decimals(number_format: str) -> int:
    """How many decimals a number format can show (General shows what the cell holds)."""
    if number_format == "General":
        return 4
    _whole, _dot, decimals = number_format.partition(".")
    return sum(1 for ch in decimals if ch in "0#")


def test_every_number_input_shows_the_four_decimals_the_server_keeps():
    sheet = load_workbook(io.BytesIO(_built())).worksheets[0]
    for coordinate in (
        "G3",
        "H4",
        "I4",
    ):  # a count, a numerator with 2-decimal target, a denominator
        assert _shown_decimals(sheet[coordinate].number_format) == 4, coordinate
    assert sheet["H4"].number_format.startswith("#,##0.00")  # the target's places always shown


def test_the_validation_states_the_inputs_real_bounds_and_decimals():
    sheet = load_workbook(io.BytesIO(_built())).worksheets[0]
    (rule,) = [dv for dv in sheet.data_validations.dataValidation if "G3" in str(dv.sqref)]
    assert rule.showInputMessage and rule.prompt
    for text in (rule.prompt, rule.error):
        assert f"0 至 {WIDEST}" in text and "4 位小數" in text
        assert f"-{WIDEST}" not in text


@pytest.mark.parametrize(
    "typed, quoted, bounds",
    [
        (-5, "「-5」不可為負數", f"介於 0 與 {WIDEST} 之間"),
        (90.12345, "「90.12345」", f"介於 0 與 {WIDEST} 之間，且最多 4 位小數"),
        ("1,000.123456", "「1,000.123456」", f"介於 0 與 {WIDEST} 之間"),
        (1e18, "「1000000000000000000」", f"介於 0 與 {WIDEST} 之間"),
    ],
)
def test_a_refused_figure_quotes_the_value_typed_and_the_real_bounds(typed, quoted, bounds):
    parsed = wb.read(_edit(_built(), G3=typed))
    (problem,) = [p for p in parsed.problems if (p.row, p.column) == (3, "G")]
    assert quoted in problem.message
    assert bounds in problem.message
    assert f"-{WIDEST}" not in problem.message  # a count has no negative bound
    assert "count" not in parsed.rows[0].figures


def test_a_growth_input_keeps_its_negative_bound():
    rows = [
        wb.RowSpec(
            30, None, "g", "成長", "", "", "", True,
            (wb.InputSpec("v", "成長值", minimum=-wb.FIGURE_LIMIT),),
        )
    ]  # fmt: skip
    parsed = wb.read(_edit(wb.build(SCOPE, rows, title="t"), G3=-5, H3=None))
    assert parsed.problems == [] and parsed.rows[0].figures == {"v": Decimal(-5)}
    parsed = wb.read(_edit(wb.build(SCOPE, rows, title="t"), G3=-5.00001))
    assert f"介於 -{WIDEST} 與 {WIDEST} 之間" in parsed.problems[0].message


@pytest.mark.django_db
@pytest.mark.parametrize("same_row", [True, False], ids=["same row", "two rows"])
def test_a_negative_and_too_many_decimals_are_both_listed(alice, workflow, same_row):
    cells = {(workflow.ratio, NUM): -5, (workflow.ratio, DEN): 50.12345}
    if not same_row:
        cells = {(workflow.count, COUNT): -5, (workflow.ratio, DEN): 50.12345}
    data = fill(_good(alice, workflow), cells)

    report = _refused(data, alice)

    problems = " ".join(str(p) for p in report.all_problems)
    assert "「-5」不可為負數" in problems
    assert "「50.12345」" in problems and "最多 4 位小數" in problems
    shown = [c.new for row in report.rows for c in row.changes]
    assert "-5" not in shown, "the refused value shows as a change"


@pytest.mark.django_db
def test_a_value_typed_with_decimals_comes_back_exact(alice, workflow):
    data = fill(download(alice, workflow), {(workflow.count, COUNT): 120.3})
    report = import_workbook(data, name="a.xlsx", user=alice, commit=False)
    assert report.ok, report.lines()
    assert [c.new for c in report.rows[0].changes] == ["120.3"]
