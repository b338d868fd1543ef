"""The achievement engine, checked against figures published in the source documents."""

import re
from decimal import ROUND_CEILING, Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpitrack.core.engine import achievement
from kpitrack.core.engine.achievement import (
    Aggregation,
    CannotCompute,
    Method,
    Outcome,
    Part,
    Policy,
    Reason,
    Rounding,
    Spec,
    Status,
    aggregate,
    aggregate_inputs,
    evaluate,
    evaluate_many,
    formula_reason,
    is_mismatch,
    round_decimal,
    status_for,
)
from kpitrack.core.engine.formula import FormulaError, FormulaEvaluationError

D = Decimal
COUNT, LOWER, RATIO, GROWTH = Method.COUNT, Method.LOWER, Method.RATIO, Method.GROWTH
WEIGHTED, MULTI, ORDINAL, RATING = Method.WEIGHTED, Method.MULTI, Method.ORDINAL, Method.RATING
FORMULA = Method.FORMULA
SUM, LATEST, AVERAGE = Aggregation.SUM, Aggregation.LATEST, Aggregation.AVERAGE
HALF_UP, DOWN = Rounding.HALF_UP, Rounding.DOWN
GREEN, YELLOW, RED, WHITE = Status.GREEN, Status.YELLOW, Status.RED, Status.WHITE


def _d(x) -> Decimal | None:
    return None if x is None else D(str(x))


def single(method, target, *, inputs=("value",), aggregation=LATEST, key="value", **extra):
    """A one-part spec; figures and targets are written as strings or ints, never floats."""
    return Spec(method, aggregation, tuple(inputs), (Part(key, key, _d(target)),), **extra)


def per_part(method, targets, *, weights=None, aggregation=LATEST, **extra):
    weights = weights or {}
    parts = tuple(Part(k, k, _d(t), weight=_d(weights.get(k))) for k, t in targets.items())
    return Spec(method, aggregation, tuple(targets), parts, **extra)


def latest(quarter=4, **figures):
    return {quarter: {k: _d(v) for k, v in figures.items()}}


def by_quarter(*rows):
    """Quarter n+1 gets rows[n]; a row of None leaves the quarter out."""
    return {
        q: {k: _d(v) for k, v in row.items()} for q, row in enumerate(rows, 1) if row is not None
    }


def part(outcome: Outcome, key: str):
    return next(p for p in outcome.parts if p.key == key)


# --- real examples from the source documents ---------------------------------------------

REAL = [
    pytest.param(
        single(COUNT, "600000"),
        latest(value="603349"),
        None,
        {"rate": "100.56", "value": "603349.00", "status": GREEN},
        [("rate", "100.55", False)],
        id="count-603349-of-600000-truncated",
    ),
    pytest.param(
        single(COUNT, "160"),
        latest(2, value="165"),
        None,
        {"rate": "103.13", "status": GREEN},
        [("rate", "103", False)],
        id="count-pass-card-165-of-160",
    ),
    pytest.param(
        single(COUNT, "8000"),
        latest(value="92885"),
        None,
        {"rate": "1161.06", "raw_rate": "1161.0625"},
        [("rate", "1061", True)],
        id="count-92885-of-8000-typo-in-document",
    ),
    pytest.param(
        single(COUNT, "1000"),
        latest(value="4796"),
        None,
        {"rate": "479.60"},
        [("rate", "479.6", False)],
        id="count-4796-of-1000",
    ),
    pytest.param(
        single(COUNT, "100"),
        latest(value="157"),
        None,
        {"rate": "157.00"},
        [("rate", "157", False)],
        id="count-157-of-100",
    ),
    pytest.param(
        single(COUNT, "7044"),
        latest(value="5650"),
        None,
        {"rate": "80.21", "status": YELLOW},
        [("rate", "80.2", False)],
        id="count-5650-of-7044",
    ),
    pytest.param(
        single(RATIO, "80", inputs=("passed", "audited")),
        latest(passed="9", audited="11"),
        None,
        {"value": "81.82", "rate": "102.27", "status": GREEN},
        [("rate", "102", False)],
        id="ratio-9-of-11-against-80",
    ),
    pytest.param(
        single(GROWTH, "2", baseline=D("89")),
        latest(value="158"),
        None,
        {"value": "77.53", "rate": "3876.40"},
        [("value", "77.5", False)],
        id="growth-158-on-baseline-89",
    ),
    pytest.param(
        single(GROWTH, "5"),
        latest(value="109"),
        {"value": D("61")},
        {"value": "78.69", "rate": "1573.77"},
        [("value", "78", False)],
        id="growth-109-on-previous-61-truncated",
    ),
    pytest.param(
        per_part(MULTI, {"institutions": "12", "sessions": "20", "attendance": "500"}),
        latest(institutions="19", sessions="219", attendance="11622"),
        None,
        {"rate": "158.33", "value": None, "part_rates": ("158.33", "1095.00", "2324.40")},
        [("rate", "158", False)],
        id="multi-所-場次-人次",
    ),
    pytest.param(
        per_part(MULTI, {"visits": "90", "countries": "4"}),
        latest(visits="105", countries="5"),
        None,
        {"rate": "116.67", "part_rates": ("116.67", "125.00")},
        [("rate", "116", False)],
        id="multi-次-國-truncated",
    ),
    pytest.param(
        per_part(MULTI, {"stations": "28", "people": "3000000"}),
        latest(stations="2", people="1765080"),
        None,
        {"rate": "7.14", "status": RED, "part_rates": ("7.14", "58.84")},
        [("part:stations", "10", True), ("part:people", "59", False)],
        id="multi-座-published-part-rate-wrong",
    ),
    pytest.param(
        single(LOWER, "0"),
        latest(value="0"),
        None,
        {"rate": "100.00", "status": GREEN},
        [],
        id="lower-0-of-0",
    ),
    pytest.param(
        single(LOWER, "0"),
        latest(value="2"),
        None,
        {"rate": "0.00", "status": RED},
        [],
        id="lower-2-of-0",
    ),
    pytest.param(
        single(LOWER, "2"), latest(value="4"), None, {"rate": "50.00"}, [], id="lower-4-of-2"
    ),
    pytest.param(
        single(ORDINAL, "2"), latest(value="2"), None, {"rate": "100.00"}, [], id="ordinal-2-of-2"
    ),
    pytest.param(
        single(ORDINAL, "2"), latest(value="1"), None, {"rate": "50.00"}, [], id="ordinal-1-of-2"
    ),
    pytest.param(
        single(RATING, "1"),
        latest(value="1"),
        None,
        {"rate": "100.00", "status": GREEN},
        [],
        id="rating-met",
    ),
    pytest.param(
        single(RATING, "1"),
        latest(value="0"),
        None,
        {"rate": "0.00", "status": RED},
        [],
        id="rating-not-met",
    ),
]


@pytest.mark.parametrize(("spec", "quarters", "previous", "expected", "published"), REAL)
def test_real_examples(spec, quarters, previous, expected, published):
    through = max(quarters)
    outcome = evaluate(spec, quarters, through_quarter=through, previous=previous)
    assert outcome.reason is None
    raw = achievement.raw_rate(spec, quarters, through_quarter=through, previous=previous)
    assert raw == outcome.raw_rate is not None
    for name, value in expected.items():
        if name == "part_rates":
            assert tuple(str(p.rate) for p in outcome.parts) == value
        elif name == "status":
            assert outcome.status is value
        elif value is None:
            assert getattr(outcome, name) is None
        elif name.startswith("raw_"):
            assert getattr(outcome, name) == D(value), name
        else:
            assert str(getattr(outcome, name)) == value, name
    for basis, text, mismatch in published:
        if basis.startswith("part:"):
            raw = part(outcome, basis.removeprefix("part:")).raw_rate
        else:
            raw = getattr(outcome, f"raw_{basis}")
        assert is_mismatch(raw, D(text)) is mismatch


# --- every reason code -------------------------------------------------------------------

WEIGHTS = {"a": "1", "b": "1"}
REASONS = [
    pytest.param(
        single(COUNT, "10", aggregation=SUM),
        by_quarter({"value": 1}, None, {"value": 1}),
        None,
        4,
        Reason("missing_quarters", "value", quarters=(2, 4)),
        id="missing_quarters-sum",
    ),
    pytest.param(
        single(COUNT, "10", aggregation=SUM),
        by_quarter({"value": 1}, {"value": None}),
        None,
        2,
        Reason("missing_quarters", "value", quarters=(2,)),
        id="missing_quarters-sum-none-figure",
    ),
    pytest.param(
        single(COUNT, "10"),
        by_quarter({"value": 1}, {"value": 2}),
        None,
        3,
        Reason("missing_quarters", "value", quarters=(3,)),
        id="missing_quarters-latest",
    ),
    pytest.param(
        single(COUNT, "10", aggregation=AVERAGE),
        by_quarter({"value": 1}, {"other": 2}, None, {"value": 4}),
        None,
        4,
        Reason("missing_quarters", "value", quarters=(2, 3)),
        id="missing_quarters-average",
    ),
    pytest.param(single(COUNT, "10"), {}, None, 4, Reason("no_data"), id="no_data-empty"),
    pytest.param(
        single(COUNT, "10", aggregation=SUM),
        by_quarter({"value": None}, {}),
        None,
        4,
        Reason("no_data"),
        id="no_data-all-none",
    ),
    pytest.param(
        single(COUNT, "10"),
        latest(3, value="5"),
        None,
        2,
        Reason("no_data"),
        id="no_data-only-later-quarters",
    ),
    pytest.param(
        per_part(MULTI, {"a": "1", "b": "1"}),
        latest(c="5"),
        None,
        4,
        Reason("no_data"),
        id="no_data-multi",
    ),
    pytest.param(
        single(RATIO, "80", inputs=("num", "den")),
        latest(num="3", den="0"),
        None,
        4,
        Reason("zero_denominator", "den"),
        id="zero_denominator",
    ),
    pytest.param(
        single(GROWTH, "5"),
        latest(value="10"),
        None,
        4,
        Reason("missing_previous", "value"),
        id="missing_previous-growth",
    ),
    pytest.param(
        single(GROWTH, "5"),
        latest(value="10"),
        {"value": None},
        4,
        Reason("missing_previous", "value"),
        id="missing_previous-growth-none",
    ),
    pytest.param(
        single(FORMULA, "5", inputs=("a",), formula="a - prev(a)"),
        latest(a="10"),
        None,
        4,
        Reason("missing_previous", "a"),
        id="missing_previous-formula",
    ),
    pytest.param(
        single(GROWTH, "5", baseline=D("0")),
        latest(value="10"),
        None,
        4,
        Reason("zero_previous", "value"),
        id="zero_previous-baseline",
    ),
    pytest.param(
        single(GROWTH, "5", baseline=D("7")),
        latest(value="10"),
        {"value": D("0")},
        4,
        Reason("zero_previous", "value"),
        id="zero_previous-previous-wins",
    ),
    pytest.param(
        single(COUNT, "10"),
        latest(value="-1"),
        None,
        4,
        Reason("invalid_value", "value"),
        id="invalid_value-count-negative",
    ),
    pytest.param(
        single(COUNT, "10", aggregation=SUM),
        by_quarter({"value": 5}, {"value": -1}),
        None,
        2,
        Reason("invalid_value", "value"),
        id="invalid_value-negative-quarter-positive-total",
    ),
    pytest.param(
        single(LOWER, "10"),
        latest(value="-1"),
        None,
        4,
        Reason("invalid_value", "value"),
        id="invalid_value-lower",
    ),
    pytest.param(
        single(RATIO, "10", inputs=("num", "den")),
        latest(num="1", den="-4"),
        None,
        4,
        Reason("invalid_value", "den"),
        id="invalid_value-ratio",
    ),
    pytest.param(
        single(ORDINAL, "2"),
        latest(value="1.5"),
        None,
        4,
        Reason("invalid_value", "value"),
        id="invalid_value-ordinal-fraction",
    ),
    pytest.param(
        single(ORDINAL, "2"),
        latest(value="-1"),
        None,
        4,
        Reason("invalid_value", "value"),
        id="invalid_value-ordinal-negative",
    ),
    pytest.param(
        single(RATING, "1"),
        latest(value="2"),
        None,
        4,
        Reason("invalid_value", "value"),
        id="invalid_value-rating-2",
    ),
    pytest.param(
        single(RATING, "1"),
        latest(value="0.5"),
        None,
        4,
        Reason("invalid_value", "value"),
        id="invalid_value-rating-half",
    ),
    pytest.param(
        per_part(MULTI, {"a": "1", "b": "1"}),
        latest(a="1", b="-1"),
        None,
        4,
        Reason("invalid_value", "b"),
        id="invalid_value-multi",
    ),
    pytest.param(
        per_part(WEIGHTED, {"a": "1", "b": "1"}, weights=WEIGHTS),
        latest(a="-1", b="1"),
        None,
        4,
        Reason("invalid_value", "a"),
        id="invalid_value-weighted",
    ),
    pytest.param(
        per_part(WEIGHTED, {"a": "1", "b": "1"}, weights={"a": "2", "b": "-1"}),
        latest(a="1", b="1"),
        None,
        4,
        Reason("invalid_value", "b", detail="weight"),
        id="invalid_value-negative-weight",
    ),
    pytest.param(
        single(COUNT, "10"),
        latest(value="NaN"),
        None,
        4,
        Reason("invalid_value", "value"),
        id="invalid_value-nan",
    ),
    pytest.param(
        single(FORMULA, "10", inputs=("a",), formula="a +"),
        latest(a="1"),
        None,
        4,
        Reason("formula_invalid", detail="unexpected_end"),
        id="formula_invalid-syntax",
    ),
    pytest.param(
        single(FORMULA, "10", inputs=("a",), formula="a + b"),
        latest(a="1", b="2"),
        None,
        4,
        Reason("formula_invalid", detail="unknown_name"),
        id="formula_invalid-unknown-name",
    ),
    pytest.param(
        single(FORMULA, "10", inputs=("a",)),
        latest(a="1"),
        None,
        4,
        Reason("formula_invalid", detail="empty"),
        id="formula_invalid-no-formula",
    ),
    pytest.param(
        single(FORMULA, "10", inputs=("a", "b"), formula="a / b"),
        latest(a="1", b="0"),
        None,
        4,
        Reason("division_by_zero"),
        id="division_by_zero",
    ),
    pytest.param(
        per_part(WEIGHTED, {"a": "1", "b": "1"}, weights={"a": "1"}),
        latest(a="1", b="1"),
        None,
        4,
        Reason("missing_weight", "b"),
        id="missing_weight",
    ),
    pytest.param(
        per_part(WEIGHTED, {"a": "1", "b": "1"}, weights={"a": "0", "b": "0"}),
        latest(a="1", b="1"),
        None,
        4,
        Reason("zero_weight"),
        id="zero_weight",
    ),
    pytest.param(
        single(COUNT, None),
        latest(value="1"),
        None,
        4,
        Reason("no_target", "value"),
        id="no_target",
    ),
    pytest.param(
        single(RATING, None),
        latest(value="1"),
        None,
        4,
        Reason("no_target", "value"),
        id="no_target-rating",
    ),
    pytest.param(
        Spec(COUNT, LATEST, ("value",), ()),
        latest(value="1"),
        None,
        4,
        Reason("no_target"),
        id="no_target-no-part",
    ),
    pytest.param(
        per_part(MULTI, {"a": "1", "b": None}),
        latest(a="1", b="1"),
        None,
        4,
        Reason("no_target", "b"),
        id="no_target-multi-part",
    ),
    pytest.param(
        Spec(WEIGHTED, LATEST, ("a",), ()),
        latest(a="1"),
        None,
        4,
        Reason("no_target"),
        id="no_target-weighted-no-parts",
    ),
    pytest.param(
        single(COUNT, "0"),
        latest(value="1"),
        None,
        4,
        Reason("zero_target", "value"),
        id="zero_target",
    ),
    pytest.param(
        single(RATIO, "0", inputs=("n", "d")),
        latest(n="1", d="2"),
        None,
        4,
        Reason("zero_target", "value"),
        id="zero_target-ratio",
    ),
    pytest.param(
        single(GROWTH, "0.00", baseline=D("5")),
        latest(value="10"),
        None,
        4,
        Reason("zero_target", "value"),
        id="zero_target-growth",
    ),
    pytest.param(
        single(ORDINAL, "0"),
        latest(value="1"),
        None,
        4,
        Reason("zero_target", "value"),
        id="zero_target-ordinal",
    ),
    pytest.param(
        single(FORMULA, "0", inputs=("a",), formula="a * 2"),
        latest(a="1"),
        None,
        4,
        Reason("zero_target", "value"),
        id="zero_target-formula",
    ),
    pytest.param(
        per_part(MULTI, {"a": "1", "b": "0"}),
        latest(a="1", b="1"),
        None,
        4,
        Reason("zero_target", "b"),
        id="zero_target-multi-part",
    ),
    pytest.param(
        per_part(WEIGHTED, {"a": "0", "b": "1"}, weights=WEIGHTS),
        latest(a="1", b="1"),
        None,
        4,
        Reason("zero_target", "a"),
        id="zero_target-weighted-part",
    ),
    pytest.param(
        single(RATIO, "80", inputs=("num",)),
        latest(num="1"),
        None,
        4,
        Reason("invalid_spec", detail="inputs"),
        id="invalid_spec-ratio-one-input",
    ),
    pytest.param(
        Spec(COUNT, LATEST, (), (Part("value", "v", D(1)),)),
        latest(value="1"),
        None,
        4,
        Reason("invalid_spec", detail="inputs"),
        id="invalid_spec-no-input",
    ),
    pytest.param(
        Spec(COUNT, LATEST, ("value",), (Part("a", "a", D(1)), Part("b", "b", D(1)))),
        latest(value="1"),
        None,
        4,
        Reason("invalid_spec", detail="parts"),
        id="invalid_spec-two-parts",
    ),
]

ALL_REASON_CODES = {
    "missing_quarters",
    "no_data",
    "zero_denominator",
    "missing_previous",
    "zero_previous",
    "invalid_value",
    "formula_invalid",
    "division_by_zero",
    "missing_value",
    "missing_weight",
    "zero_weight",
    "no_target",
    "zero_target",
    "invalid_spec",
}


@pytest.mark.parametrize(("spec", "quarters", "previous", "through", "reason"), REASONS)
def test_reasons(spec, quarters, previous, through, reason):
    outcome = evaluate(spec, quarters, through_quarter=through, previous=previous)
    assert outcome.reason == reason
    assert achievement.raw_rate(spec, quarters, through_quarter=through, previous=previous) is None
    assert outcome.rate is None and outcome.raw_rate is None
    assert outcome.status is WHITE


def test_every_reason_code_is_produced():
    produced = {param.values[-1].code for param in REASONS}
    # missing_value cannot come out of evaluate(): an input that cannot be aggregated reports
    # its aggregation reason instead; formula_reason() below produces it.
    assert produced | {"missing_value"} == ALL_REASON_CODES


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (FormulaError("unexpected_end", 3), Reason("formula_invalid", detail="unexpected_end")),
        (FormulaEvaluationError("missing_value", "a"), Reason("missing_value", "a")),
        (FormulaEvaluationError("missing_previous", "b"), Reason("missing_previous", "b")),
        (FormulaEvaluationError("division_by_zero"), Reason("division_by_zero")),
    ],
)
def test_formula_reason(error, reason):
    assert formula_reason(error) == reason


def test_formula_input_that_cannot_be_aggregated_reports_its_quarters():
    spec = single(FORMULA, "10", inputs=("a", "b"), formula="a + b", aggregation=SUM)
    outcome = evaluate(spec, by_quarter({"a": 1, "b": 1}, {"a": 1}), through_quarter=2)
    assert outcome.reason == Reason("missing_quarters", "b", quarters=(2,))
    assert outcome.inputs == {"a": D(2), "b": None}


# --- aggregation -------------------------------------------------------------------------

FOUR = by_quarter({"value": 1}, {"value": 2}, {"value": 3}, {"value": 4})


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        (SUM, ["1", "3", "6", "10"]),
        (LATEST, ["1", "2", "3", "4"]),
        (AVERAGE, ["1", "1.5", "2", "2.5"]),
    ],
)
@pytest.mark.parametrize("through", [1, 2, 3, 4])
def test_aggregate(aggregation, expected, through):
    assert aggregate(aggregation, FOUR, "value", through) == D(expected[through - 1])


@pytest.mark.parametrize(
    ("aggregation", "rows", "through", "missing"),
    [
        (SUM, [{"value": 1}, None, None, {"value": 1}], 4, (2, 3)),
        (SUM, [None, {"value": 1}], 2, (1,)),
        (SUM, [None, None, None, None], 3, (1, 2, 3)),
        (SUM, [{"value": 1}, {"value": None}, {"value": 1}], 3, (2,)),
        (AVERAGE, [{"value": 1}, {"value": 1}, {"other": 1}], 3, (3,)),
        (AVERAGE, [None, {"value": 1}], 2, (1,)),
        (LATEST, [{"value": 1}, {"value": 1}, {"value": 1}], 4, (4,)),
        (LATEST, [{"value": 1}, {"value": None}], 2, (2,)),
        (LATEST, [None, None, {"value": 1}], 1, (1,)),
    ],
)
def test_aggregate_missing_quarters(aggregation, rows, through, missing):
    with pytest.raises(CannotCompute) as info:
        aggregate(aggregation, by_quarter(*rows), "value", through)
    assert info.value.reason == Reason("missing_quarters", "value", quarters=missing)


def test_aggregate_ignores_later_quarters():
    quarters = by_quarter({"value": 1}, {"value": 2}, None, {"value": 4})
    assert aggregate(SUM, quarters, "value", 2) == 3
    assert aggregate(LATEST, quarters, "value", 2) == 2


def test_aggregate_accepts_plain_strings_and_ints():
    assert aggregate("sum", {1: {"value": 2}, 2: {"value": D("0.5")}}, "value", 2) == D("2.5")


@pytest.mark.parametrize("through", [0, 5, -1, True, "2", None, D(2)])
def test_through_quarter_must_be_1_to_4(through):
    with pytest.raises(ValueError):
        aggregate(SUM, FOUR, "value", through)
    with pytest.raises(ValueError):
        evaluate(single(COUNT, "1"), FOUR, through_quarter=through)


def test_unknown_aggregation_is_an_error():
    with pytest.raises(ValueError):
        aggregate("median", FOUR, "value", 4)


@pytest.mark.parametrize(
    ("through", "rate", "status"),
    [(1, "10.00", RED), (2, "30.00", RED), (3, "60.00", RED), (4, "100.00", GREEN)],
)
def test_through_quarter_on_sums(through, rate, status):
    quarters = by_quarter({"value": 10}, {"value": 20}, {"value": 30}, {"value": 40})
    outcome = evaluate(single(COUNT, "100", aggregation=SUM), quarters, through_quarter=through)
    assert str(outcome.rate) == rate
    assert outcome.status is status
    assert outcome.inputs == {"value": D(sum(range(10, 10 * through + 1, 10)))}


def test_aggregate_inputs_never_raises():
    spec = Spec(FORMULA, SUM, ("a", "b", "c"), (Part("v", "v", D(1)),), formula="a")
    quarters = by_quarter({"a": 1, "b": 1, "c": "NaN"}, {"a": 2})
    assert aggregate_inputs(spec, quarters, 2) == {"a": D(3), "b": None, "c": None}
    assert aggregate_inputs(spec, {}) == {"a": None, "b": None, "c": None}


def test_aggregate_inputs_covers_part_keys_of_per_part_methods():
    spec = Spec(MULTI, LATEST, ("a",), (Part("a", "a", D(1)), Part("b", "b", D(1))))
    assert aggregate_inputs(spec, latest(a=1, b=2)) == {"a": D(1), "b": D(2)}


# --- rounding, status and mismatch -------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "decimals", "rounding", "expected"),
    [
        ("66.666666", 2, HALF_UP, "66.67"),
        ("66.666666", 2, DOWN, "66.66"),
        ("66.666666", 0, HALF_UP, "67"),
        ("66.666666", 0, DOWN, "66"),
        ("66.666666", 1, HALF_UP, "66.7"),
        ("66.666666", 1, DOWN, "66.6"),
        ("66.666666", 4, HALF_UP, "66.6667"),
        ("66.666666", 4, DOWN, "66.6666"),
        ("2.5", 0, HALF_UP, "3"),
        ("3.5", 0, HALF_UP, "4"),
        ("1.005", 2, HALF_UP, "1.01"),
        ("1.005", 2, DOWN, "1.00"),
        ("-1.005", 2, HALF_UP, "-1.01"),
        ("-1.005", 2, DOWN, "-1.00"),
        ("-0.001", 2, DOWN, "0.00"),
        ("-0.004", 2, HALF_UP, "0.00"),
        ("7", 2, HALF_UP, "7.00"),
        ("1E+2", 0, DOWN, "100"),
        (
            "123456789012345678901234567890123456789.987",
            2,
            DOWN,
            "123456789012345678901234567890123456789.98",
        ),
    ],
)
def test_round_decimal(x, decimals, rounding, expected):
    assert str(round_decimal(D(x), decimals, rounding)) == expected


def test_round_decimal_rejects_negative_places():
    with pytest.raises(ValueError):
        round_decimal(D(1), -1, HALF_UP)


@pytest.mark.parametrize(
    ("decimals", "rounding", "expected"),
    [
        (0, HALF_UP, "67"),
        (0, DOWN, "66"),
        (1, HALF_UP, "66.7"),
        (1, DOWN, "66.6"),
        (2, HALF_UP, "66.67"),
        (2, DOWN, "66.66"),
        (4, HALF_UP, "66.6667"),
        (4, DOWN, "66.6666"),
    ],
)
def test_policy_rounding(decimals, rounding, expected):
    policy = Policy(decimals=decimals, rounding=rounding)
    outcome = evaluate(single(COUNT, "3"), latest(value="2"), policy=policy)
    assert str(outcome.rate) == expected
    assert str(outcome.parts[0].rate) == expected
    assert outcome.raw_rate == D("66.66666666666666666666666666666667")
    assert str(outcome.value) == ("2." + "0" * decimals).rstrip(".")


@pytest.mark.parametrize(
    ("rate", "policy", "status"),
    [
        (None, Policy(), WHITE),
        ("100", Policy(), GREEN),
        ("250", Policy(), GREEN),
        ("99.99", Policy(), YELLOW),
        ("80", Policy(), YELLOW),
        ("79.99", Policy(), RED),
        ("0", Policy(), RED),
        ("95", Policy(green=D("95"), yellow=D("60")), GREEN),
        ("94.99", Policy(green=D("95"), yellow=D("60")), YELLOW),
        ("60", Policy(green=D("95"), yellow=D("60")), YELLOW),
        ("59.99", Policy(green=D("95"), yellow=D("60")), RED),
    ],
)
def test_status_for(rate, policy, status):
    assert status_for(_d(rate), policy) is status


@pytest.mark.parametrize(
    ("rounding", "rate", "status"), [(HALF_UP, "100.00", GREEN), (DOWN, "99.99", YELLOW)]
)
def test_status_uses_the_rounded_rate(rounding, rate, status):
    outcome = evaluate(
        single(COUNT, "100000"), latest(value="99996"), policy=Policy(rounding=rounding)
    )
    assert outcome.raw_rate == D("99.996")
    assert str(outcome.rate) == rate
    assert outcome.status is status


@pytest.mark.parametrize(
    ("raw", "published", "expected"),
    [
        (None, "1", None),
        ("1", None, None),
        (None, None, None),
        ("100.5583", "100.55", False),
        ("100.5583", "100.56", False),
        ("100.5583", "100.57", True),
        ("103.125", "103", False),
        ("1161.0625", "1061", True),
        ("80.21", "80.2", False),
        ("80.21", "80.20", True),
        ("99.6", "1E+2", False),
        ("100", "1E+2", False),
        ("100", "100.00", False),
        ("-77.53", "-77.5", False),
        ("7.142857", "10", True),
        ("58.836", "59", False),
        ("58.836", "58", False),
        ("58.836", "57", True),
    ],
)
def test_is_mismatch(raw, published, expected):
    assert is_mismatch(_d(raw), _d(published)) is expected


# --- methods in detail -------------------------------------------------------------------


def test_single_part_is_reported():
    outcome = evaluate(
        Spec(COUNT, LATEST, ("value",), (Part("value", "核卡件數", D(160), "件"),)),
        latest(value=165),
    )
    (only,) = outcome.parts
    assert (only.key, only.label, only.unit, only.target) == ("value", "核卡件數", "件", D(160))
    assert only.value == outcome.value == D("165.00")
    assert only.rate == outcome.rate and only.raw_rate == outcome.raw_rate
    assert only.reason is None


def test_value_is_reported_when_target_is_missing():
    outcome = evaluate(single(COUNT, None), latest(value="5"))
    assert outcome.value == 5 and outcome.raw_value == 5
    assert outcome.rate is None and outcome.status is WHITE
    assert outcome.parts[0].value == 5 and outcome.parts[0].reason == Reason("no_target", "value")


def test_growth_previous_wins_over_baseline_and_none_falls_back():
    spec = single(GROWTH, "10", baseline=D("50"))
    assert evaluate(spec, latest(value=110), previous={"value": D(100)}).raw_value == 10
    assert evaluate(spec, latest(value=110), previous={"value": None}).raw_value == 120
    assert evaluate(spec, latest(value=110), previous={"other": D(1)}).raw_value == 120


def test_negative_growth_is_floored_at_zero():
    outcome = evaluate(single(GROWTH, "5"), latest(value=50), previous={"value": D(100)})
    assert outcome.raw_value == -50 and str(outcome.value) == "-50.00"
    assert outcome.raw_rate == 0 and str(outcome.rate) == "0.00"
    assert outcome.status is RED and outcome.reason is None


def test_negative_target_for_lower_does_not_divide_by_zero():
    assert evaluate(single(LOWER, "-1"), latest(value=0)).rate == 0


def test_ratio_value_and_rate():
    outcome = evaluate(single(RATIO, "50", inputs=("n", "d")), latest(n=1, d=4))
    assert outcome.raw_value == 25 and outcome.raw_rate == 50
    assert outcome.inputs == {"n": D(1), "d": D(4)}


def test_formula_method():
    spec = single(FORMULA, "20", inputs=("a", "b"), formula="(a - prev(a)) ÷ b × 100")
    outcome = evaluate(spec, latest(a=30, b=50), previous={"a": D(20)})
    assert outcome.raw_value == 20 and outcome.raw_rate == 100 and outcome.status is GREEN


def test_formula_allows_negative_figures_and_ignores_unused_inputs():
    spec = single(FORMULA, "10", inputs=("a", "unused"), formula="a * -1", aggregation=SUM)
    outcome = evaluate(spec, by_quarter({"a": -5}, {"a": -5}), through_quarter=2)
    assert outcome.raw_value == 10 and outcome.raw_rate == 100


def test_weighted():
    spec = per_part(WEIGHTED, {"a": "10", "b": "4"}, weights={"a": "3", "b": "1"})
    outcome = evaluate(spec, latest(a=5, b=8))
    assert [p.raw_rate for p in outcome.parts] == [50, 200]
    assert outcome.raw_rate == D("87.5") and outcome.value is None and outcome.raw_value is None


def test_weighted_cap():
    spec = per_part(
        WEIGHTED, {"a": "10", "b": "4"}, weights={"a": "3", "b": "1"}, part_rate_cap=D(100)
    )
    outcome = evaluate(spec, latest(a=5, b=8))
    assert [p.raw_rate for p in outcome.parts] == [50, 100]
    assert outcome.raw_rate == D("62.5")


def test_cap_applies_to_weighted_only():
    spec = per_part(MULTI, {"a": "1", "b": "1"}, part_rate_cap=D(100))
    assert evaluate(spec, latest(a=3, b=2)).raw_rate == 200


def test_failing_part_leaves_other_parts_reported():
    spec = per_part(WEIGHTED, {"a": "10", "b": "4"}, weights=WEIGHTS, aggregation=SUM)
    outcome = evaluate(spec, by_quarter({"a": 1, "b": 1}, {"b": 1}), through_quarter=2)
    assert outcome.reason == Reason("missing_quarters", "a", quarters=(2,))
    assert part(outcome, "a").reason == outcome.reason and part(outcome, "a").value is None
    assert part(outcome, "b").rate == D("50.00") and part(outcome, "b").reason is None


def test_first_failing_part_gives_the_reason():
    spec = per_part(MULTI, {"a": "5", "b": None, "c": "0"})
    outcome = evaluate(spec, latest(a=5, b=1, c=1))
    assert outcome.reason == Reason("no_target", "b")
    assert part(outcome, "c").reason == Reason("zero_target", "c")
    assert part(outcome, "a").rate == 100


def test_no_data_reports_every_part():
    outcome = evaluate(per_part(MULTI, {"a": "1", "b": "1"}), {})
    assert [p.reason for p in outcome.parts] == [Reason("no_data")] * 2


def test_strings_for_enums_are_accepted():
    spec = Spec("count", "sum", ("value",), (Part("value", "v", D(4)),))
    outcome = evaluate(
        spec,
        by_quarter({"value": 1}, {"value": 1}),
        through_quarter=2,
        policy=Policy(rounding="down"),
    )
    assert outcome.rate == 50


def test_result_does_not_depend_on_callers_context():
    spec = single(COUNT, "7044")
    expected = evaluate(spec, latest(value="5650"))
    with localcontext() as context:
        context.prec = 3
        context.rounding = ROUND_CEILING
        assert evaluate(spec, latest(value="5650")) == expected
    assert expected.raw_rate == D("80.21010789324247586598523566155593")


def test_evaluate_many():
    items = [
        ("a", single(COUNT, "10"), latest(value=5), None),
        (("b", 2), single(GROWTH, "10"), latest(value=11), {"value": D(10)}),
    ]
    outcomes = evaluate_many(items, through_quarter=4, policy=Policy(decimals=0))
    assert list(outcomes) == ["a", ("b", 2)]
    assert outcomes["a"].rate == 50 and outcomes[("b", 2)].rate == 100
    assert outcomes["a"] == evaluate(items[0][1], items[0][2], policy=Policy(decimals=0))


def test_engine_modules_are_pure():
    for name in ("achievement.py", "formula.py"):
        source = (Path(achievement.__file__).parent / name).read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+django", source, re.MULTILINE), name
        assert not re.search(r"\bfloat\b|\beval\(|\bexec\(", source), name


# --- properties --------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
positive = st.decimals(
    min_value="0.01", max_value=10**9, places=2, allow_nan=False, allow_infinity=False
)
signed = st.decimals(
    min_value=-(10**9), max_value=10**9, places=4, allow_nan=False, allow_infinity=False
)
PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(value=amounts, target=amounts)
def test_lower_rate_is_between_0_and_100(value, target):
    outcome = evaluate(single(LOWER, target), latest(value=value))
    assert 0 <= outcome.raw_rate <= 100
    assert 0 <= outcome.rate <= 100


@PROPERTY
@given(a=amounts, b=amounts, target=positive)
def test_count_rate_is_monotone_in_value(a, b, target):
    low, high = sorted([a, b])
    spec = single(COUNT, target)
    first, second = evaluate(spec, latest(value=low)), evaluate(spec, latest(value=high))
    assert first.raw_rate <= second.raw_rate
    assert first.rate <= second.rate


@PROPERTY
@given(st.lists(st.tuples(amounts, positive), min_size=1, max_size=6))
def test_multi_rate_is_the_minimum_part_rate(rows):
    keys = [f"p{i}" for i in range(len(rows))]
    spec = per_part(MULTI, {k: target for k, (_, target) in zip(keys, rows, strict=True)})
    outcome = evaluate(spec, latest(**{k: value for k, (value, _) in zip(keys, rows, strict=True)}))
    assert outcome.raw_rate == min(p.raw_rate for p in outcome.parts)
    assert outcome.rate == min(p.rate for p in outcome.parts)


@PROPERTY
@given(
    st.lists(
        st.tuples(amounts, positive, st.decimals(0, 100, places=2, allow_nan=False)),
        min_size=1,
        max_size=6,
    )
)
def test_weighted_rate_is_between_part_rates(rows):
    keys = [f"p{i}" for i in range(len(rows))]
    spec = per_part(
        WEIGHTED,
        {k: target for k, (_, target, _) in zip(keys, rows, strict=True)},
        weights={k: weight for k, (_, _, weight) in zip(keys, rows, strict=True)},
    )
    outcome = evaluate(
        spec, latest(**{k: value for k, (value, _, _) in zip(keys, rows, strict=True)})
    )
    if sum(weight for _, _, weight in rows) == 0:
        assert outcome.reason == Reason("zero_weight")
        return
    rates = [p.raw_rate for p in outcome.parts]
    with localcontext() as context:
        # Σ w·r / Σ w is rounded at 34 digits, so allow its last digit to move.
        context.prec = 60
        slack = max(rates) * D("1E-32")
        assert min(rates) - slack <= outcome.raw_rate <= max(rates) + slack


@PROPERTY
@given(st.lists(signed, min_size=4, max_size=4), st.integers(1, 4))
def test_sum_aggregation_equals_python_sum(figures, through):
    quarters = {q: {"value": figure} for q, figure in enumerate(figures, 1)}
    assert aggregate(SUM, quarters, "value", through) == sum(figures[:through])
    average = aggregate(AVERAGE, quarters, "value", through)
    assert abs(average * through - sum(figures[:through])) < D("1E-20")


@PROPERTY
@given(
    x=st.decimals(min_value=0, max_value=10**12, places=6, allow_nan=False),
    decimals=st.integers(0, 6),
)
def test_round_decimal_bounds(x, decimals):
    step = D(1).scaleb(-decimals)
    down = round_decimal(x, decimals, DOWN)
    half_up = round_decimal(x, decimals, HALF_UP)
    assert down <= x < down + step
    assert down <= half_up <= down + step
    assert abs(half_up - x) <= step / 2
    assert down.as_tuple().exponent == half_up.as_tuple().exponent == -decimals
    for rounding in Rounding:
        assert round_decimal(-x, decimals, rounding) == -round_decimal(x, decimals, rounding)
        assert is_mismatch(x, round_decimal(x, decimals, rounding)) is False


@PROPERTY
@given(
    method=st.sampled_from(list(Method)),
    value=st.integers(0, 1),
    other=positive,
    last=st.one_of(st.none(), amounts),
    baseline=st.one_of(st.none(), positive),
)
def test_only_methods_that_need_last_year_read_it(method, value, other, last, baseline):
    """entry_indicators skips last year's figures for the other methods: they must not matter."""
    if method in (MULTI, WEIGHTED):
        spec = per_part(method, {"value": "1", "b": "2"}, weights={"value": 1, "b": 1})
        quarters = latest(value=value, b=other)
    elif method is RATIO:
        spec = single(method, "50", inputs=("value", "b"))
        quarters = latest(value=value, b=other)
    elif method is FORMULA:
        spec = single(method, "10", formula="value - prev(value)")
        quarters = latest(value=value)
    else:
        spec = single(method, "1", baseline=baseline)
        quarters = latest(value=value)
    alone = evaluate(spec, quarters)
    with_last = evaluate(spec, quarters, previous={"value": last})
    if not achievement.needs_previous(method):
        assert with_last == alone
    elif last is not None and last != 0 and method is FORMULA:
        assert with_last != alone  # prev() is missing without last year


# Mostly present, sometimes missing: every gap is exercised, and most examples compute a rate.
maybe = st.one_of(amounts, amounts, signed, st.none())


@settings(max_examples=400, deadline=None)
@given(
    method=st.sampled_from(list(Method)),
    aggregation=st.sampled_from(list(Aggregation)),
    rows=st.lists(
        st.one_of(*[st.fixed_dictionaries({"value": maybe, "b": maybe})] * 5, st.none()),
        min_size=4,
        max_size=4,
    ),
    through=st.integers(1, 4),
    targets=st.tuples(maybe, maybe),
    weights=st.tuples(maybe, maybe),
    last=st.one_of(st.none(), st.fixed_dictionaries({"value": maybe})),
    baseline=maybe,
)
def test_raw_rate_agrees_with_evaluate(
    method, aggregation, rows, through, targets, weights, last, baseline
):
    """The import's shortfall check takes raw_rate alone: it must agree with evaluate for
    every method, aggregation, gap, sign and missing target, weight or last year."""
    if method in (MULTI, WEIGHTED):
        spec = Spec(
            method,
            aggregation,
            ("value", "b"),
            tuple(
                Part(k, k, t, weight=w)
                for k, t, w in zip(("value", "b"), targets, weights, strict=True)
            ),
            part_rate_cap=D(150) if baseline is None else None,
        )
    else:
        inputs = ("value", "b") if method in (RATIO, FORMULA) else ("value",)
        formula = "value * 2 - prev(value) + b" if method is FORMULA else None
        spec = Spec(
            method,
            aggregation,
            inputs,
            (Part("value", "value", targets[0]),),
            formula=formula,
            baseline=baseline,
        )
    quarters = by_quarter(*rows)
    expected = evaluate(spec, quarters, through_quarter=through, previous=last).raw_rate
    assert achievement.raw_rate(spec, quarters, through_quarter=through, previous=last) == expected
