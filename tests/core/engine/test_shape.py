"""One validation of an indicator's shape: every rule, every problem listed, never an exception."""

from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from kpitrack.core.engine.achievement import Method
from kpitrack.core.engine.shape import ShapeProblem, indicator_shape_problems
from performance.reasons import shape_problem_message

D = Decimal
VALUE_PART = ("value", D(160), None)


def shape(
    method="count",
    inputs=("value",),
    parts=(VALUE_PART,),
    aggregation="latest",
    formula=None,
    baseline=None,
):
    return indicator_shape_problems(
        method=method,
        aggregation=aggregation,
        inputs=inputs,
        parts=parts,
        formula=formula,
        baseline=baseline,
    )


def codes(problems):
    return [(p.code, p.field) for p in problems]


SOUND = {
    "count": {},
    "lower": {"parts": (("value", D(0), None),)},
    "ratio": {"inputs": ("numerator", "denominator"), "parts": (("rate", D(95), None),)},
    "growth": {"parts": (("value", D(5), None),), "baseline": D(89)},
    "weighted": {
        "inputs": ("a", "b"),
        "parts": (("a", D(12), D(25)), ("b", D(20), D(75))),
    },
    "multi": {
        "inputs": ("a", "b", "c"),
        "parts": (("a", D(12), None), ("b", D(20), None), ("c", D(500), None)),
    },
    "ordinal": {"parts": (("value", D(2), None),)},
    "rating": {"parts": (("value", D(1), None),)},
    "formula": {"inputs": ("a", "b"), "formula": "(a - b) / b * 100"},
}


@pytest.mark.parametrize("method", list(Method))
def test_a_sound_indicator_of_each_method_has_no_problem(method):
    assert shape(method, **SOUND[method.value]) == []


def test_it_names_an_unknown_method_and_aggregation():
    problems = shape(method="sideways", aggregation="median")
    assert codes(problems) == [("unknown_method", "method"), ("unknown_aggregation", "aggregation")]
    assert problems[0].params == {"value": "sideways"}


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("Value", "invalid_key"),
        ("1st", "invalid_key"),
        ("a-b", "invalid_key"),
        ("數值", "invalid_key"),
        (7, "invalid_key"),
        (None, "missing_key"),
        ("", "missing_key"),
        ("x" * 41, "key_too_long"),
        ("prev", "reserved_key"),
    ],
)
def test_it_refuses_a_bad_key_in_inputs_and_in_parts(key, code):
    problems = shape("multi", inputs=(key,), parts=((key, D(1), None),))
    assert (code, "inputs[0].key") in codes(problems)
    assert (code, "parts[0].key") in codes(problems)


def test_a_key_of_forty_characters_is_allowed():
    key = "k" * 40
    assert shape(inputs=(key,), parts=((key, D(1), None),)) == []


def test_it_names_each_repeated_key_after_its_first_use():
    problems = shape(
        "multi",
        inputs=("a", "b", "a", "a"),
        parts=(("a", D(1), None), ("b", D(1), None), ("b", D(2), None)),
    )
    assert codes(problems) == [
        ("duplicate_key", "inputs[2].key"),
        ("duplicate_key", "inputs[3].key"),
        ("duplicate_key", "parts[2].key"),
    ]


def test_an_input_and_a_part_may_share_a_key():
    assert shape(inputs=("value",), parts=(("value", D(1), None),)) == []


@pytest.mark.parametrize("method", list(Method))
def test_every_method_needs_a_target_part(method):
    assert ("no_parts", "parts") in codes(shape(method, inputs=("value",), parts=()))


@pytest.mark.parametrize(
    "method", ["count", "lower", "ratio", "growth", "ordinal", "rating", "formula"]
)
def test_single_part_methods_refuse_a_second_part(method):
    spec = dict(SOUND[method])
    first = spec.get("parts", (("value", D(1), None),))[0]
    spec["parts"] = (first, ("second", D(1), None))
    problems = shape(method, **spec)
    assert codes(problems) == [("too_many_parts", "parts")]
    assert problems[0].params == {"method": method, "count": 2}


@pytest.mark.parametrize(
    ("method", "expected"),
    [("count", 1), ("lower", 1), ("growth", 1), ("ordinal", 1), ("rating", 1), ("ratio", 2)],
)
@pytest.mark.parametrize("count", [0, 1, 2, 3])
def test_methods_that_measure_a_fixed_number_of_inputs(method, expected, count):
    inputs = tuple(f"i{n}" for n in range(count))
    target = D(1)
    problems = shape(method, inputs=inputs, parts=(("value", target, None),))
    if count == expected:
        assert problems == []
    else:
        assert codes(problems) == [("wrong_input_count", "inputs")]
        assert problems[0].params == {"method": method, "expected": expected, "count": count}


def test_a_formula_needs_an_input():
    problems = shape("formula", inputs=(), formula="1 + 1")
    assert codes(problems) == [("no_inputs", "inputs")]


@pytest.mark.parametrize("method", ["weighted", "multi"])
def test_per_part_methods_pair_each_input_with_the_part_of_the_same_key(method):
    problems = shape(
        method,
        inputs=("a", "b"),
        parts=(("a", D(1), D(50)), ("c", D(1), D(50))),
    )
    assert codes(problems) == [
        ("input_without_part", "inputs[1].key"),
        ("part_without_input", "parts[1].key"),
    ]
    assert [p.params for p in problems] == [
        {"key": "b", "method": method},
        {"key": "c", "method": method},
    ]


def test_weighted_parts_each_need_a_weight():
    problems = shape("weighted", inputs=("a", "b"), parts=(("a", D(1), None), ("b", D(1), D(1))))
    assert codes(problems) == [("missing_weight", "parts[0].weight")]
    assert problems[0].params == {"key": "a"}


def test_weights_cannot_be_negative_or_add_up_to_zero():
    negative = shape("weighted", inputs=("a",), parts=(("a", D(1), D(-1)),))
    assert codes(negative) == [("negative_weight", "parts[0].weight")]
    zero = shape("weighted", inputs=("a", "b"), parts=(("a", D(1), D(0)), ("b", D(1), D(0))))
    assert codes(zero) == [("zero_weights", "parts")]
    assert codes(shape(parts=(("value", D(1), D(-3)),))) == [("negative_weight", "parts[0].weight")]


@pytest.mark.parametrize(
    ("target", "ok"), [(D(1), True), (D("1.0"), True), (None, True), (D(2), False), (D(0), False)]
)
def test_a_rating_target_is_one(target, ok):
    problems = shape("rating", parts=(("value", target, None),))
    assert problems == ([] if ok else [ShapeProblem("rating_target", "parts[0].target")])


@pytest.mark.parametrize(
    ("target", "ok"),
    [(D(2), True), (D(0), True), (D("2.00"), True), (D("1.5"), False), (D(-1), False)],
)
def test_an_ordinal_target_is_a_whole_number_from_zero(target, ok):
    problems = shape("ordinal", parts=(("value", target, None),))
    assert problems == ([] if ok else [ShapeProblem("ordinal_target", "parts[0].target")])


@pytest.mark.parametrize(
    ("formula", "code", "error"),
    [
        (None, "formula_required", None),
        ("   ", "formula_required", None),
        ("a + c", "formula_invalid", "unknown_name"),
        ("(a + b", "formula_invalid", "unbalanced_parentheses"),
        ("a $ b", "formula_invalid", "unexpected_character"),
        ("prev + a", "formula_invalid", "reserved_name"),
    ],
)
def test_a_formula_parses_against_the_declared_inputs(formula, code, error):
    problems = shape("formula", inputs=("a", "b"), formula=formula)
    assert codes(problems) == [(code, "formula")]
    if error:
        assert problems[0].params["error"] == error


def test_a_formula_may_read_last_years_figure_of_an_input():
    assert shape("formula", inputs=("a",), formula="(a - prev(a)) / prev(a) * 100") == []


def test_only_the_formula_method_takes_a_formula():
    problems = shape("count", formula="value * 2")
    assert codes(problems) == [("formula_unused", "formula")]
    assert shape("count", formula="  ") == []


def test_only_growth_takes_a_baseline_and_not_zero():
    assert codes(shape("count", baseline=D(5))) == [("baseline_unused", "baseline")]
    assert codes(shape("growth", baseline=D(0))) == [("baseline_zero", "baseline")]


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), "12", 1.5, True])
def test_a_number_that_is_not_a_finite_decimal_is_named(bad):
    problems = shape("growth", parts=(("value", bad, bad),), baseline=bad)
    assert codes(problems) == [
        ("not_a_number", "baseline"),
        ("not_a_number", "parts[0].target"),
        ("not_a_number", "parts[0].weight"),
    ]


def test_it_lists_every_problem_at_once():
    problems = shape(
        "ratio",
        aggregation="median",
        inputs=("Num", "num", "num"),
        parts=(("rate", D(1), None), ("other", D(2), None)),
        formula="x",
        baseline=D(3),
    )
    assert codes(problems) == [
        ("unknown_aggregation", "aggregation"),
        ("invalid_key", "inputs[0].key"),
        ("duplicate_key", "inputs[2].key"),
        ("too_many_parts", "parts"),
        ("wrong_input_count", "inputs"),
        ("formula_unused", "formula"),
        ("baseline_unused", "baseline"),
    ]


anything = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.floats(),
)


@given(
    method=st.one_of(st.sampled_from(list(Method)), anything),
    aggregation=st.one_of(st.sampled_from(["latest", "sum", "average"]), anything),
    inputs=st.lists(anything, max_size=4),
    parts=st.lists(st.tuples(anything, anything, anything), max_size=4),
    formula=st.one_of(st.none(), st.text(max_size=30)),
    baseline=anything,
)
def test_it_never_raises_and_every_problem_has_a_message(
    method, aggregation, inputs, parts, formula, baseline
):
    problems = indicator_shape_problems(
        method=method,
        aggregation=aggregation,
        inputs=inputs,
        parts=parts,
        formula=formula,
        baseline=baseline,
    )
    for problem in problems:
        assert problem.field.split("[")[0].split(".")[0] in {
            "method",
            "aggregation",
            "inputs",
            "parts",
            "formula",
            "baseline",
        }
        with translation.override("zh-hant"):
            assert "（" + problem.code + "）" not in shape_problem_message(problem)


ONE_OF_EACH = [
    shape(method="x")[0],
    shape(aggregation="x")[0],
    *shape("multi", inputs=(None, "Bad", "k" * 41, "prev", "a", "a"), parts=()),
    shape(parts=(("value", D("NaN"), None),))[0],
    *shape("multi", inputs=("a",), parts=(("b", D(1), None),)),
    shape(parts=(("a", None, None), ("b", None, None)))[0],
    shape(inputs=())[0],
    shape("formula", inputs=(), formula="1")[0],
    shape("rating", parts=(("value", D(2), None),))[0],
    shape("ordinal", parts=(("value", D("0.5"), None),))[0],
    shape(parts=(("value", D(1), D(-1)),))[0],
    shape("weighted", inputs=("a",), parts=(("a", D(1), None),))[0],
    shape("weighted", inputs=("a",), parts=(("a", D(1), D(0)),))[0],
    shape(formula="1")[0],
    shape("formula", inputs=("a",))[0],
    shape("formula", inputs=("a",), formula="b")[0],
    shape(baseline=D(1))[0],
    shape("growth", baseline=D(0))[0],
]


def test_the_examples_cover_every_problem_code():
    assert {p.code for p in ONE_OF_EACH} == {
        "unknown_method",
        "unknown_aggregation",
        "missing_key",
        "invalid_key",
        "key_too_long",
        "reserved_key",
        "duplicate_key",
        "not_a_number",
        "no_parts",
        "input_without_part",
        "part_without_input",
        "too_many_parts",
        "wrong_input_count",
        "no_inputs",
        "rating_target",
        "ordinal_target",
        "negative_weight",
        "missing_weight",
        "zero_weights",
        "formula_unused",
        "formula_required",
        "formula_invalid",
        "baseline_unused",
        "baseline_zero",
    }


@pytest.mark.parametrize("problem", ONE_OF_EACH, ids=lambda p: p.code)
def test_every_problem_has_its_own_sentence_in_chinese_and_english(problem):
    with translation.override("zh-hant"):
        chinese = shape_problem_message(problem)
    with translation.override("en"):
        english = shape_problem_message(problem)
    assert problem.code not in chinese
    assert "%(" not in chinese and "%(" not in english
    assert any("\u4e00" <= c <= "\u9fff" for c in chinese)
    assert not any("\u4e00" <= c <= "\u9fff" for c in english)


def test_each_problem_carries_what_its_message_names():
    """The parameters are what the user's sentence shows (`shape_problem_message`)."""
    assert shape(aggregation="median") == [
        ShapeProblem("unknown_aggregation", "aggregation", {"value": "median"})
    ]
    assert shape("multi", inputs=("Bad", "k" * 41, "prev"), parts=()) == [
        ShapeProblem("invalid_key", "inputs[0].key", {"key": "Bad"}),
        ShapeProblem("key_too_long", "inputs[1].key", {"key": "k" * 41, "max": 40}),
        ShapeProblem("reserved_key", "inputs[2].key", {"key": "prev"}),
        ShapeProblem("no_parts", "parts"),
        ShapeProblem("input_without_part", "inputs[0].key", {"key": "Bad", "method": "multi"}),
        ShapeProblem("input_without_part", "inputs[1].key", {"key": "k" * 41, "method": "multi"}),
        ShapeProblem("input_without_part", "inputs[2].key", {"key": "prev", "method": "multi"}),
    ]
    assert shape(parts=(("value", "abc", None),)) == [
        ShapeProblem("not_a_number", "parts[0].target", {"value": "abc"})
    ]
    assert shape("formula", inputs=(), formula="1") == [
        ShapeProblem("no_inputs", "inputs", {"method": "formula"})
    ]
    assert shape(formula="1") == [ShapeProblem("formula_unused", "formula", {"method": "count"})]
    assert shape("formula", inputs=("a",), formula="a + b") == [
        ShapeProblem(
            "formula_invalid", "formula", {"error": "unknown_name", "position": 4, "detail": "b"}
        )
    ]
    for problem in shape("formula", inputs=("a",), formula="a + b"):
        assert "「b」" in shape_problem_message(problem)


def test_the_ordinal_rule_on_targets_is_the_ordinals_alone():
    assert shape("count", parts=(("value", D("12.5"), None),)) == []
    assert codes(shape("ordinal", parts=(("value", D("NaN"), None),))) == [
        ("not_a_number", "parts[0].target")
    ]


def test_a_baseline_that_is_not_a_number_is_named_once():
    assert codes(shape("count", baseline="12")) == [("not_a_number", "baseline")]


def test_a_missing_method_and_a_duplicate_key_are_named():
    assert shape(method=None) == [ShapeProblem("unknown_method", "method", {"value": ""})]
    assert shape("multi", inputs=("a", "a"), parts=(("a", D(1), None),)) == [
        ShapeProblem("duplicate_key", "inputs[1].key", {"key": "a"})
    ]
