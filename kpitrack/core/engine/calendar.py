"""Years and quarters: the Republic of China (民國) calendar, whose year 1 is 1912, the bounds of
the years kpitrack accepts, the quarters and the year-to-date periods the documents report
("1-6月" is the period through quarter 2). Pure data and parsing; the words live in
`kpitrack.core.formatting`."""

from dataclasses import dataclass
from enum import Enum

ROC_OFFSET = 1911
FIRST_YEAR = 1912  # ROC year 1
LAST_YEAR = 2200
QUARTERS = (1, 2, 3, 4)
FULL_YEAR = 4  # through quarter 4 is the whole year

# Longer than any year in bounds; checked before int() so a huge string is never converted.
_MAX_YEAR_DIGITS = len(str(LAST_YEAR))


def to_roc(year: int) -> int:
    return year - ROC_OFFSET


def from_roc(roc_year: int) -> int:
    return roc_year + ROC_OFFSET


def is_valid_year(year) -> bool:
    return _is_int(year) and FIRST_YEAR <= year <= LAST_YEAR


def is_valid_quarter(quarter) -> bool:
    return _is_int(quarter) and quarter in QUARTERS


def quarter_months(quarter: int) -> tuple[int, int]:
    """First and last month of the quarter itself: 2 -> (4, 6)."""
    return 3 * quarter - 2, 3 * quarter


def through_months(quarter: int) -> tuple[int, int]:
    """First and last month of the year-to-date period through the quarter: 2 -> (1, 6)."""
    return 1, 3 * quarter


class Problem(Enum):
    """Why a text is not a year or a quarter."""

    MISSING = "missing"
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"


@dataclass(frozen=True)
class Parsed:
    """A parsed number, or the problem that kept the text from being one."""

    value: int | None
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def parse_year(text, *, roc: bool = False) -> Parsed:
    """A Gregorian year within bounds from text of ASCII digits (an ROC year when `roc`)."""
    number = _digits(text)
    if not number.ok:
        return number
    year = from_roc(number.value) if roc else number.value
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return Parsed(None, Problem.OUT_OF_RANGE)
    return Parsed(year)


def parse_quarter(text) -> Parsed:
    """A quarter 1-4 from text."""
    number = _digits(text)
    if not number.ok:
        return number
    if number.value not in QUARTERS:
        return Parsed(None, Problem.OUT_OF_RANGE)
    return number


def _digits(text) -> Parsed:
    if _is_int(text):
        return Parsed(text) if text >= 0 else Parsed(None, Problem.OUT_OF_RANGE)
    text = "" if text is None else str(text).strip()
    if not text:
        return Parsed(None, Problem.MISSING)
    # isdigit() alone accepts full-width and other scripts' digits, which int() would read.
    if not (text.isascii() and text.isdigit()):
        return Parsed(None, Problem.NOT_A_NUMBER)
    if len(text.lstrip("0")) > _MAX_YEAR_DIGITS:
        return Parsed(None, Problem.OUT_OF_RANGE)
    return Parsed(int(text))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
