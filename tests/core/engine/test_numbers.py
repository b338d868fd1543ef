"""What a refused figure carries: the reason's code and the text as the person gave it, which
the message quotes back (`performance.reasons.figure_error_message`)."""

from decimal import Decimal

import pytest

from kpitrack.core.engine.numbers import FigureError, check_figure, parse_figure

D = Decimal


@pytest.mark.parametrize(
    ("given", "code", "text"),
    [
        (True, "not_a_number", "True"),
        (None, "not_a_number", "None"),
        ([1], "not_a_number", "[1]"),
        (" abc ", "not_a_number", " abc "),
        ("1,23", "not_a_number", "1,23"),
        (" nan ", "not_finite", " nan "),
        ("-Infinity", "not_finite", "-Infinity"),
        ("1,000,000,000,000", "out_of_range", "1,000,000,000,000"),
        (" 1.23456 ", "too_many_decimals", " 1.23456 "),
        (D("NaN"), "not_finite", "NaN"),
        (D("1E+20"), "out_of_range", "1E+20"),
        (D("1.00001"), "too_many_decimals", "1.00001"),
        (10**12, "out_of_range", "1000000000000"),
    ],
)
def test_a_refused_figure_names_its_reason_and_the_text_given(given, code, text):
    with pytest.raises(FigureError) as info:
        parse_figure(given)
    assert (info.value.code, info.value.text) == (code, text)
    assert str(info.value) == f"{code}: {text!r}"


def test_check_figure_names_the_value():
    with pytest.raises(FigureError) as info:
        check_figure(D("-1E+12"))
    assert (info.value.code, info.value.text) == ("out_of_range", "-1E+12")
