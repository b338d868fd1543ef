"""The engine at its edges, end to end through `evaluate`: a rate exactly on a light's
threshold, exactly 100 %, on the rounding boundary of the configured places and mode, a zero
target, and the methods whose figures may be negative. Each case sits where a `<` for `<=` or
an off-by-one in the rounding would change the light a user sees."""

from decimal import ROUND_CEILING, Decimal, localcontext

import pytest

from kpitrack.core.engine.achievement import (
    DEFAULT_POLICY,
    Aggregation,
    Method,
    Part,
    Policy,
    Reason,
    Rounding,
    Spec,
    Status,
    aggregate_inputs,
    allows_negative,
    evaluate,
    evaluate_many,
    is_mismatch,
    raw_rate,
    round_decimal,
)

D = Decimal
GREEN, YELLOW, RED, WHITE = Status.GREEN, Status.YELLOW, Status.RED, Status.WHITE
HALF_UP, DOWN = Rounding.HALF_UP, Rounding.DOWN


def _spec(method, target, inputs=("value",), **extra) -> Spec:
    target = None if target is None else D(target)
    return Spec(method, Aggregation.LATEST, inputs, (Part("p", "p", target),), **extra)


def _figures(**values) -> dict:
    return {4: {key: D(value) for key, value in values.items()}}


def _count(value, target="100", policy=DEFAULT_POLICY):
    return evaluate(_spec(Method.COUNT, target), _figures(value=value), policy=policy)


# --- the lights' thresholds ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "rate", "status"),
    [
        ("100", "100.00", GREEN),  # exactly on green
        ("99.99", "99.99", YELLOW),
        ("80", "80.00", YELLOW),  # exactly on yellow
        ("79.99", "79.99", RED),
        ("0", "0.00", RED),  # nothing achieved is red, not unevaluated
    ],
)
def test_a_rate_exactly_on_a_threshold_takes_that_light(value, rate, status):
    outcome = _count(value)
    assert str(outcome.rate) == rate
    assert outcome.status is status
    assert outcome.parts[0].rate == outcome.rate


@pytest.mark.parametrize(
    ("value", "status"),
    [("95", GREEN), ("94.99", YELLOW), ("60", YELLOW), ("59.99", RED)],
)
def test_the_agencys_own_thresholds_are_inclusive(value, status):
    policy = Policy(green=D("95"), yellow=D("60"))
    assert _count(value, policy=policy).status is status


def test_a_ratio_exactly_on_its_target_is_100_percent_and_green():
    outcome = evaluate(_spec(Method.RATIO, "90", inputs=("n", "d")), _figures(n="9", d="10"))
    assert outcome.raw_value == 90 and outcome.raw_rate == 100
    assert str(outcome.rate) == "100.00" and outcome.status is GREEN


def test_a_ratio_whose_numerator_equals_its_denominator_is_100_percent_measured():
    outcome = evaluate(_spec(Method.RATIO, "100", inputs=("n", "d")), _figures(n="7", d="7"))
    assert outcome.raw_value == 100 and str(outcome.rate) == "100.00"
    assert outcome.status is GREEN


def test_a_ratio_with_a_zero_denominator_cannot_be_computed():
    outcome = evaluate(_spec(Method.RATIO, "90", inputs=("n", "d")), _figures(n="0", d="0"))
    assert outcome.rate is None and outcome.status is WHITE
    assert outcome.reason == Reason("zero_denominator", "d")


# --- the rounding boundary -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decimals", "rounding", "value", "rate", "status"),
    [
        # 79.995 rounds up onto yellow, truncates below it.
        (2, HALF_UP, "79.995", "80.00", YELLOW),
        (2, DOWN, "79.995", "79.99", RED),
        (2, HALF_UP, "79.9949", "79.99", RED),
        # 99.95 to one place: onto green half up, not when truncated.
        (1, HALF_UP, "99.95", "100.0", GREEN),
        (1, DOWN, "99.95", "99.9", YELLOW),
        (1, HALF_UP, "99.949", "99.9", YELLOW),
        # Whole percent: 99.5 is green half up, 99 truncated.
        (0, HALF_UP, "99.5", "100", GREEN),
        (0, DOWN, "99.5", "99", YELLOW),
        (0, HALF_UP, "99.4999", "99", YELLOW),
        (0, DOWN, "100", "100", GREEN),
    ],
)
def test_the_light_follows_the_rate_rounded_as_configured(decimals, rounding, value, rate, status):
    outcome = _count(value, policy=Policy(decimals=decimals, rounding=rounding))
    assert str(outcome.rate) == rate
    assert outcome.status is status
    assert outcome.raw_rate == D(value)  # the stored, unrounded rate is not touched


@pytest.mark.parametrize(
    ("x", "decimals", "rounding", "expected"),
    [
        ("0.005", 2, HALF_UP, "0.01"),
        ("0.0049999", 2, HALF_UP, "0.00"),
        ("0.0099999", 2, DOWN, "0.00"),
        ("0.5", 0, HALF_UP, "1"),
        ("0.4999", 0, HALF_UP, "0"),
        ("12.34", 2, HALF_UP, "12.34"),
        ("12.34", 2, DOWN, "12.34"),
    ],
)
def test_rounding_exactly_at_and_just_below_half(x, decimals, rounding, expected):
    assert str(round_decimal(D(x), decimals, rounding)) == expected


# --- zero targets and lower-is-better --------------------------------------------------------


@pytest.mark.parametrize("method", [Method.COUNT, Method.GROWTH])
def test_a_zero_target_cannot_give_a_rate(method):
    outcome = evaluate(_spec(method, "0", baseline=D("10")), _figures(value="12"))
    assert outcome.rate is None and outcome.status is WHITE
    assert outcome.reason == Reason("zero_target", "p")
    assert outcome.raw_value is not None  # what was measured is still shown


@pytest.mark.parametrize(
    ("target", "value", "rate"),
    [
        ("0", "0", "100.00"),  # exactly on a zero ceiling is achieved
        ("0", "1", "0.00"),  # anything above it is not even partly achieved
        ("5", "5", "100.00"),  # exactly on the ceiling
        ("5", "4", "100.00"),
        ("5", "10", "50.00"),  # above it: target / value
        ("-1", "0", "0.00"),  # a negative ceiling: even zero is above it
    ],
)
def test_lower_is_better_at_its_ceiling(target, value, rate):
    outcome = evaluate(_spec(Method.LOWER, target), _figures(value=value))
    assert str(outcome.rate) == rate


def test_no_target_gives_the_value_without_a_light():
    outcome = _count("5", target=None)
    assert outcome.value == D("5.00") and outcome.rate is None
    assert outcome.status is WHITE and outcome.reason == Reason("no_target", "p")


# --- methods whose figures may be negative ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "allowed"),
    [
        (Method.GROWTH, True),
        (Method.FORMULA, True),
        (Method.COUNT, False),
        (Method.LOWER, False),
        (Method.RATIO, False),
        (Method.ORDINAL, False),
        (Method.RATING, False),
        (Method.MULTI, False),
        (Method.WEIGHTED, False),
    ],
)
def test_which_methods_allow_a_negative_figure(method, allowed):
    assert allows_negative(method) is allowed
    assert allows_negative(method.value) is allowed


def test_a_negative_count_is_an_invalid_figure_not_a_rate():
    outcome = _count("-1")
    assert outcome.rate is None and outcome.reason == Reason("invalid_value", "value")
    assert outcome.status is WHITE


def test_a_zero_count_is_a_figure():
    outcome = _count("0")
    assert outcome.reason is None and outcome.raw_rate == 0


@pytest.mark.parametrize(
    ("value", "last", "target", "rate"),
    [
        ("110", "100", "10", "100.00"),  # exactly the target growth
        ("105", "100", "10", "50.00"),
        ("100", "100", "10", "0.00"),  # no growth
        ("90", "100", "10", "0.00"),  # a fall is floored at nothing achieved
        ("-50", "-100", "50", "0.00"),  # from a negative base the sign of the base rules
        ("-5", "10", "-150", "100.00"),  # a planned fall, met exactly
    ],
)
def test_growth_with_negative_figures(value, last, target, rate):
    spec = _spec(Method.GROWTH, target)
    outcome = evaluate(spec, _figures(value=value), previous={"value": D(last)})
    assert str(outcome.rate) == rate
    assert raw_rate(spec, _figures(value=value), previous={"value": D(last)}) == (outcome.raw_rate)


def test_a_formula_below_zero_is_floored_at_nothing_achieved():
    spec = _spec(Method.FORMULA, "10", inputs=("a", "b"), formula="a - b")
    outcome = evaluate(spec, _figures(a="-3", b="2"))
    assert outcome.raw_value == -5 and outcome.raw_rate == 0
    assert str(outcome.rate) == "0.00" and outcome.status is RED


# --- what the mutation run found untested (docs/testing.md, "Mutation testing") ----------------


@pytest.mark.parametrize(
    ("method", "target", "value", "rate"),
    [
        (Method.COUNT, "1000", "5", "0.50"),  # a rate under 1 % is not nothing
        (Method.COUNT, "1000", "10", "1.00"),
        (Method.LOWER, "1", "2", "50.00"),  # a ceiling of 1 is still a ceiling
        (Method.LOWER, "0.5", "1", "50.00"),
    ],
)
def test_small_rates_and_small_ceilings_are_kept(method, target, value, rate):
    assert str(evaluate(_spec(method, target), _figures(value=value)).rate) == rate


def test_a_latest_figure_missing_names_its_quarter_even_when_earlier_ones_exist():
    spec = Spec(Method.COUNT, Aggregation.LATEST, ("value",), (Part("p", "p", D(10)),))
    outcome = evaluate(spec, {1: {"value": D(5)}}, through_quarter=2)
    assert outcome.reason == Reason("missing_quarters", "value", quarters=(2,))
    nothing = evaluate(spec, {}, through_quarter=2)
    assert nothing.reason == Reason("no_data")


def test_ratio_and_growth_do_not_depend_on_the_callers_decimal_context():
    ratio = _spec(Method.RATIO, "90", inputs=("n", "d"))
    growth = _spec(Method.GROWTH, "10")
    expected = (
        evaluate(ratio, _figures(n="2", d="3")),
        evaluate(growth, _figures(value="100"), previous={"value": D("3")}),
    )
    with localcontext() as context:
        context.prec = 3
        context.rounding = ROUND_CEILING
        assert (
            evaluate(ratio, _figures(n="2", d="3")),
            evaluate(growth, _figures(value="100"), previous={"value": D("3")}),
        ) == expected


def test_every_input_of_a_per_part_spec_is_aggregated_with_its_parts():
    spec = Spec(
        Method.MULTI,
        Aggregation.SUM,
        ("a", "note"),
        (Part("a", "a", D(10)), Part("b", "b", D(10))),
    )
    figures = {1: {"a": D(1), "b": D(2), "note": D(3)}}
    assert aggregate_inputs(spec, figures, 1) == {"a": D(1), "note": D(3), "b": D(2)}


def test_evaluate_many_passes_the_quarter_and_the_policy_on():
    spec = Spec(Method.COUNT, Aggregation.SUM, ("value",), (Part("p", "p", D(3)),))
    figures = {1: {"value": D(1)}, 2: {"value": D(1)}, 3: {"value": D(1)}}
    policy = Policy(decimals=0, rounding=DOWN)
    many = evaluate_many([("x", spec, figures, None)], through_quarter=2, policy=policy)
    assert many["x"] == evaluate(spec, figures, through_quarter=2, policy=policy)
    assert str(many["x"].rate) == "66"
    # Through the whole year unless told otherwise: the fourth quarter is missing.
    assert evaluate_many([("x", spec, figures, None)])["x"].reason == Reason(
        "missing_quarters", "value", quarters=(4,)
    )


def test_a_published_figure_that_is_not_finite_never_matches():
    assert is_mismatch(D("100"), D("NaN")) is True


@pytest.mark.parametrize("figure", [True, 1.5, "1"])
def test_a_figure_of_another_type_is_a_programming_error(figure):
    with pytest.raises(TypeError, match=r"^value: expected Decimal, got "):
        evaluate(_spec(Method.COUNT, "10"), {4: {"value": figure}})


def test_bad_arguments_say_what_was_wrong():
    with pytest.raises(ValueError, match=r"^through_quarter must be 1-4, not 5$"):
        evaluate(_spec(Method.COUNT, "10"), _figures(value="1"), through_quarter=5)
    with pytest.raises(ValueError, match=r"^decimals must not be negative$"):
        round_decimal(D(1), -1, HALF_UP)
    with pytest.raises(ValueError, match=r"^unknown rounding 'up'$"):
        round_decimal(D(1), 2, "up")
