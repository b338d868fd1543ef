"""Figures are exact on every database, within a stated range (kpitrack.core.engine.numbers)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpitrack.core.engine.numbers import FIGURE_LIMIT, FigureError, parse_figure
from performance.models import Result, ResultFigure

RANGE_MESSAGE = "數值必須介於 -99,999,999,999.9999 與 99,999,999,999.9999 之間"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234567890.1234", Decimal("1234567890.1234")),
        (" 1,234.5 ", Decimal("1234.5")),
        ("-99999999999.9999", Decimal("-99999999999.9999")),
        ("1.50000", Decimal("1.5")),
        (0.1, Decimal("0.1")),
        (42, Decimal(42)),
    ],
)
def test_parse_figure_reads_what_people_type(text, value):
    assert parse_figure(text) == value


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("一百", "not_a_number"),
        ("12,34", "not_a_number"),
        ("1.5%", "not_a_number"),
        (None, "not_a_number"),
        ("1.00001", "too_many_decimals"),
        ("100000000000", "out_of_range"),
        ("9999999999999999", "out_of_range"),
        ("1e999999999", "out_of_range"),
        ("NaN", "not_finite"),
        (Decimal("-Infinity"), "not_finite"),
    ],
)
def test_parse_figure_says_why_it_refuses(text, code):
    with pytest.raises(FigureError) as excinfo:
        parse_figure(text)
    assert excinfo.value.code == code


def _figure():
    return ResultFigure.objects.get(
        result__indicator__code="pass-card", result__indicator__goal__year=2012, key="value"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["1234567890.1234", "99999999999.9999", "-0.0001"])
def test_the_largest_figures_read_back_exactly(text):
    figure = _figure()
    figure.value = Decimal(text)
    figure.full_clean()
    figure.save()
    assert str(_figure().value) == text


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["100000000000", "9999999999999999", "1.00001"])
def test_figures_out_of_range_are_refused_with_the_range(text):
    figure = _figure()
    figure.value = Decimal(text)
    with pytest.raises(ValidationError) as excinfo:
        figure.full_clean()
    assert excinfo.value.message_dict["value"] == [f"{RANGE_MESSAGE}，且最多 4 位小數。"]


@pytest.mark.django_db
@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.decimals(min_value=-FIGURE_LIMIT, max_value=FIGURE_LIMIT, places=4, allow_nan=False))
def test_any_figure_in_range_round_trips_through_the_database(value):
    result = Result.objects.get(indicator__code="pass-card", indicator__goal__year=2012)
    figure, _created = ResultFigure.objects.update_or_create(
        result=result, key="value", defaults={"value": value}
    )
    assert ResultFigure.objects.get(pk=figure.pk).value == value
