"""The calendar module: ROC years, bounds, quarters and their periods, and reading them from
text with the reason a text is not one."""

import pytest

from kpitrack.core.engine.calendar import (
    FIRST_YEAR,
    LAST_YEAR,
    Problem,
    from_roc,
    is_valid_quarter,
    is_valid_year,
    parse_quarter,
    parse_year,
    quarter_months,
    through_months,
    to_roc,
)


def test_roc_year_one_is_1912():
    assert to_roc(1912) == 1
    assert to_roc(2013) == 102
    assert from_roc(102) == 2013


def test_the_bounds_are_roc_year_one_to_2200():
    assert (FIRST_YEAR, LAST_YEAR) == (1912, 2200)
    assert is_valid_year(1912) and is_valid_year(2200)
    assert not is_valid_year(1911) and not is_valid_year(2201)
    assert not is_valid_year(True) and not is_valid_year("2013") and not is_valid_year(2013.0)


def test_quarters_and_their_months():
    assert [quarter_months(q) for q in (1, 2, 3, 4)] == [(1, 3), (4, 6), (7, 9), (10, 12)]
    assert [through_months(q) for q in (1, 2, 3, 4)] == [(1, 3), (1, 6), (1, 9), (1, 12)]
    assert is_valid_quarter(4) and not is_valid_quarter(0) and not is_valid_quarter(5)


@pytest.mark.parametrize(
    ("text", "year"), [("2013", 2013), (" 2013\n", 2013), ("02013", 2013), (2013, 2013)]
)
def test_it_reads_a_gregorian_year(text, year):
    assert parse_year(text).value == year


def test_it_reads_an_roc_year_when_asked():
    assert parse_year("102", roc=True).value == 2013
    assert parse_year("0", roc=True).problem is Problem.OUT_OF_RANGE


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, Problem.MISSING),
        ("", Problem.MISSING),
        ("   ", Problem.MISSING),
        ("abc", Problem.NOT_A_NUMBER),
        ("101.5", Problem.NOT_A_NUMBER),
        ("-2012", Problem.NOT_A_NUMBER),
        ("２０１２", Problem.NOT_A_NUMBER),
        ("٢٠١٢", Problem.NOT_A_NUMBER),
        ("20\x0012", Problem.NOT_A_NUMBER),
        ("1800", Problem.OUT_OF_RANGE),
        ("2201", Problem.OUT_OF_RANGE),
        ("9" * 5000, Problem.OUT_OF_RANGE),
        (-1, Problem.OUT_OF_RANGE),
    ],
)
def test_it_says_why_a_text_is_not_a_year(text, problem):
    parsed = parse_year(text)
    assert (parsed.value, parsed.problem, parsed.ok) == (None, problem, False)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", Problem.MISSING), ("q2", Problem.NOT_A_NUMBER), ("0", Problem.OUT_OF_RANGE)],
)
def test_it_says_why_a_text_is_not_a_quarter(text, problem):
    assert parse_quarter(text).problem is problem


def test_it_reads_quarters_one_to_four():
    assert [parse_quarter(str(q)).value for q in (1, 2, 3, 4)] == [1, 2, 3, 4]
    assert parse_quarter("5").problem is Problem.OUT_OF_RANGE


@pytest.mark.parametrize(
    ("text", "roc", "year"),
    [("1912", False, 1912), ("2200", False, 2200), ("1", True, 1912), ("289", True, 2200)],
)
def test_the_first_and_the_last_year_are_read(text, roc, year):
    assert parse_year(text, roc=roc).value == year
    assert parse_year(int(text), roc=roc).value == year
