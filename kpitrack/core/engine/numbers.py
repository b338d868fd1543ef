"""The bounds of a recorded figure and the one way text becomes one (pure: no Django).

Figures are stored with at most 15 significant digits, 4 of them decimals: SQLite keeps a decimal
as a REAL, which holds 15 significant digits exactly, so within these bounds every database reads
back what was written.
"""

import re
from decimal import Decimal, InvalidOperation

FIGURE_MAX_DIGITS = 15
FIGURE_DECIMAL_PLACES = 4
FIGURE_LIMIT = Decimal(10) ** (FIGURE_MAX_DIGITS - FIGURE_DECIMAL_PLACES) - Decimal(10) ** (
    -FIGURE_DECIMAL_PLACES
)
_QUANTUM = Decimal(10) ** -FIGURE_DECIMAL_PLACES

# Plain decimal notation, with optional thousands separators as people type and Excel exports.
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[+-]?\.\d+$")
# A float's repr may use an exponent (1e-05).
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$")
_NOT_FINITE = re.compile(r"^[+-]?(nan|snan|inf|infinity)$", re.IGNORECASE)


class FigureError(ValueError):
    """Why a text or number is not a figure; `code` is one of CODES, `text` what was given."""

    CODES = ("not_a_number", "too_many_decimals", "out_of_range", "not_finite")

    def __init__(self, code: str, text: str):
        super().__init__(f"{code}: {text!r}")
        self.code = code
        self.text = text


def check_figure(value: Decimal) -> Decimal:
    """`value` itself when it can be stored as a figure; FigureError otherwise."""
    if not value.is_finite():
        raise FigureError("not_finite", str(value))
    if value.copy_abs() > FIGURE_LIMIT:
        raise FigureError("out_of_range", str(value))
    # Exact comparison: 1.50000 is fine (its value has 1 decimal), 1.00001 is not.
    if value != value.quantize(_QUANTUM):
        raise FigureError("too_many_decimals", str(value))
    return value


def parse_figure(text) -> Decimal:
    """A figure from what a person typed or a workbook cell held: '1,234.5', 1234, Decimal.

    Floats (a workbook's numbers) are read through their shortest repr, the number the person
    saw, never through their binary expansion.
    """
    if isinstance(text, bool):
        raise FigureError("not_a_number", str(text))
    if isinstance(text, Decimal):
        return check_figure(text)
    if isinstance(text, int):
        return check_figure(Decimal(text))
    if isinstance(text, float):
        text = repr(text)
    if not isinstance(text, str):
        raise FigureError("not_a_number", str(text))
    cleaned = text.strip()
    if _NOT_FINITE.match(cleaned):
        raise FigureError("not_finite", text)
    if not (_NUMBER.match(cleaned) or _SCIENTIFIC.match(cleaned)):
        raise FigureError("not_a_number", text)
    try:
        value = Decimal(cleaned.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the patterns above admit only numbers
        raise FigureError("not_a_number", text) from exc
    try:
        return check_figure(value)
    except FigureError as exc:
        raise FigureError(exc.code, text) from None
