"""How figures, percentages, years and periods read on every page, report, workbook and API
answer: the one place that turns numbers and the calendar's data into text.

Decimals are written exactly, whatever their size: nothing here rounds through a decimal
context (its 28-digit precision made `quantize` fail on figures of 1e28 and more)."""

import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kpitrack.core.engine.calendar import FULL_YEAR, QUARTERS, through_months, to_roc

# The documents' way of writing a year-to-date period; a table rather than "1-%(month)s月" so
# each language can name the months (Jan–Jun).
_THROUGH_MONTHS = {
    3: gettext_lazy("1-3月"),
    6: gettext_lazy("1-6月"),
    9: gettext_lazy("1-9月"),
    12: gettext_lazy("1-12月"),
}


def _empty(value) -> bool:
    return value is None or value == ""


def _decimal(value) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def trimmed(value: Decimal) -> Decimal:
    """The same number without zeros after its last significant decimal: 12.5000 -> 12.5.

    Unlike `Decimal.normalize()` it is exact at any size and never writes 1E+3 for 1000."""
    if not value.is_finite():
        return value
    if value.is_zero():
        return Decimal(0)
    sign, digits, exponent = value.as_tuple()
    if exponent == 0 or (exponent < 0 and digits[-1] != 0):
        return value  # nothing to trim: most figures, shown by the thousand in an import
    while exponent < 0 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    return _rebuild(sign, digits, exponent)


def _rebuild(sign, digits, exponent) -> Decimal:
    if exponent > 0:  # 1E+3: write the zeros out so the exponent never shows
        digits, exponent = digits + (0,) * exponent, 0
    return Decimal((sign, digits, exponent))


def decimals(value: Decimal) -> int:
    """How many decimals the number needs: 12.5000 -> 1, 1000 -> 0."""
    return max(-trimmed(value).as_tuple().exponent, 0) if value.is_finite() else 0


def plain(value) -> str | None:
    """Exact text of a number without padding zeros or separators, for data (API, history):
    12.0000 -> "12", 1E+3 -> "1000"; None for no value."""
    if _empty(value):
        return None
    number = _decimal(value)
    if number is None:
        return str(value)
    return format(trimmed(number), "f")


def exact(value) -> str | None:
    """Exact text of a number keeping its own decimals (a rate rounded to 2 places stays
    "103.10"), never in exponent form; None for no value."""
    if _empty(value):
        return None
    number = _decimal(value)
    if number is None:
        return str(value)
    if number.is_zero():
        number = number.copy_abs()
    return format(_rebuild(*number.as_tuple()) if number.is_finite() else number, "f")


def figure(value) -> str:
    """A number for reading: thousands separators, no padding zeros (1,234.5); "" for none."""
    if _empty(value):
        return ""
    number = _decimal(value)
    if number is None:
        return str(value)
    return format(trimmed(number), ",f")


def target_wording(text: str, parts) -> str:
    """An indicator's 目標值 as listed: its own text, else each target part's value with its
    unit (`parts`: (value, unit) pairs), 、 between them."""
    if text:
        return text
    return "、".join(f"{figure(value)}{unit}" for value, unit in parts if value is not None)


def percent(value) -> str:
    if _empty(value):
        return ""
    return f"{figure(value)}%"


def chinese_number(n) -> str:
    """一, 二, … 九十九: the numbering the documents use for goals; other numbers as digits."""
    digits = "零一二三四五六七八九"
    n = int(n)
    if n <= 0 or n >= 100:
        return str(n)
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def roc_year(year) -> str:
    """民國 year with the Gregorian year beside it: 民國102年（2013）."""
    if _empty(year):
        return ""
    return _("民國%(roc)s年（%(year)s）") % {"roc": to_roc(int(year)), "year": int(year)}


def roc(year):
    """The bare ROC year number, for headings that already say 年度."""
    if _empty(year):
        return ""
    return to_roc(int(year))


def quarter_label(quarter: int) -> str:
    """One quarter: 第2季."""
    return _("第%(q)s季") % {"q": quarter}


def months_label(quarter: int) -> str:
    """The year-to-date period through the quarter, by its months: 1-6月 (1-12月 for Q4)."""
    return str(_THROUGH_MONTHS[through_months(quarter)[1]])


def period_label(quarter: int) -> str:
    """The year-to-date period as report headings name it: 1-6月, and 全年度 for Q4."""
    return _("全年度") if quarter == FULL_YEAR else months_label(quarter)


def through_quarter_label(quarter: int) -> str:
    """A choice of how far into the year to look: 第2季（1-6月）, and 全年度 for Q4."""
    if quarter == FULL_YEAR:
        return _("全年度")
    return _("第%(q)s季（%(months)s）") % {"q": quarter, "months": months_label(quarter)}


def through_quarter_choices() -> list[tuple[int, str]]:
    return [(q, through_quarter_label(q)) for q in QUARTERS]


# --- words for coded figures (issue 17): a rating or an ordinal code reads as what it means ---

# "0代表「2項均未達到」、1代表「達到1項」": how the documents define an ordinal's codes, in the
# indicator's 衡量標準.
_ORDINAL_CODE = re.compile(r"(\d+)\s*(?:代表|表示)\s*[「『\"]([^」』\"]+)[」』\"]")


def ordinal_labels(text: str) -> dict[int, str]:
    """The words of each ordinal code as the 衡量標準 defines them ({0: "2項均未達到", …});
    empty when the text defines none."""
    return {int(code): label.strip() for code, label in _ORDINAL_CODE.findall(text or "")}


def coded_figure(value, *, method: str, standard: str = "") -> str:
    """A figure as it reads for its indicator's method: a rating as 達成 / 未達成, an ordinal
    code as the words its 衡量標準 gives it (the number when it gives none), any other figure
    as `figure` writes it; "" for no value."""
    if _empty(value):
        return ""
    number = _decimal(value)
    if method == "rating" and number is not None and number in (0, 1):
        return _("達成") if number == 1 else _("未達成")
    if method == "ordinal" and number is not None and number == number.to_integral_value():
        label = ordinal_labels(standard).get(int(number))
        if label:
            return label
    return figure(value)
