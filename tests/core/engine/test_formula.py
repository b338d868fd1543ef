"""The formula parser and evaluator: grammar, exact error codes, and Decimal semantics."""

import pickle
from decimal import ROUND_FLOOR, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kpitrack.core.engine.formula import (
    MAX_DEPTH,
    MAX_LENGTH,
    Formula,
    FormulaError,
    FormulaEvaluationError,
    parse,
)

D = Decimal
VALUES = {"a": D("5"), "b": D("2"), "c": D("-3"), "x_1": D("0.5")}
PREVIOUS = {"a": D("4"), "b": D("8")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100", "100"),
        ("0.5", "0.5"),
        ("12.25", "12.25"),
        ("007", "7"),
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("10 - 2 - 3", "5"),
        ("100 / 10 / 2", "5"),
        ("2 * 3 / 4", "1.5"),
        ("1 - (2 - 3)", "2"),
        ("-2 * -3", "6"),
        ("- -2", "2"),
        ("+3", "3"),
        ("1 ++ 2", "3"),
        ("1 - -2", "3"),
        ("-(1 + 2) * 2", "-6"),
        ("a + b * c", "-1"),
        ("x_1 * 4", "2.0"),
        ("a / b * 100", "250"),
        ("(a - prev(a)) / prev(a) * 100", "25"),
        ("prev (b) / 2", "4"),
        ("a*b+c", "7"),
        ("\t a \n+\u3000b ", "7"),
        ("（a + b）× 2 ÷ 7", "2"),
        ("a \u2212 b \u2013 1", "2"),
        ("2 \u00d7 \u2212 3", "-6"),
        ("1 / 3", "0.3333333333333333333333333333333333"),
        ("2 / 3", "0.6666666666666666666666666666666667"),
    ],
)
def test_evaluates(text, expected):
    result = parse(text).evaluate(VALUES, PREVIOUS)
    assert isinstance(result, Decimal)
    assert result == D(expected)


def test_decimal_places_are_kept():
    assert str(parse("1.50 + 1").evaluate({})) == "2.50"


def test_names_and_previous_names():
    formula = parse("a + prev(b) * a - prev(a) / c")
    assert formula.names == frozenset({"a", "c"})
    assert formula.previous_names == frozenset({"a", "b"})
    assert formula.text == "a + prev(b) * a - prev(a) / c"
    assert parse("1").names == frozenset()


def test_formula_is_frozen_and_compares_by_text():
    formula = parse("a + 1")
    assert formula == parse("a + 1")
    assert isinstance(formula, Formula)
    with pytest.raises(AttributeError):
        formula.text = "b"  # type: ignore[misc]


def test_allowed_names():
    assert parse("a + prev(b)", allowed_names=["a", "b"]).names == {"a"}
    assert parse("1 + 2", allowed_names=[]).names == frozenset()
    assert parse("a", allowed_names=iter(["a"])).names == {"a"}


ERRORS = [
    ("", "empty", 0, ""),
    ("   ", "empty", 0, ""),
    ("\u3000\n", "empty", 0, ""),
    ("1" * (MAX_LENGTH + 1), "too_long", MAX_LENGTH, ""),
    (" " * (MAX_LENGTH + 1), "too_long", MAX_LENGTH, ""),
    ("(" * 41 + "1" + ")" * 41, "too_deep", 40, "("),
    ("-" * 41 + "1", "too_deep", 40, "-"),
    ("+-" * 21 + "1", "too_deep", 40, "+"),
    ("（" * 41 + "1" + "）" * 41, "too_deep", 40, "（"),
    ("(" * 40 + "prev(a)" + ")" * 40, "too_deep", 44, "("),
    ("(" * MAX_LENGTH, "too_deep", 40, "("),
    ("-" * 499 + "1", "too_deep", 40, "-"),
    ("1 + @", "unexpected_character", 4, "@"),
    ("A + 1", "unexpected_character", 0, "A"),
    ("aB", "unexpected_character", 1, "B"),
    ("1.2.3", "unexpected_character", 3, "."),
    (".5", "unexpected_character", 0, "."),
    ("5.", "unexpected_character", 1, "."),
    ("1,000", "unexpected_character", 1, ","),
    ("１", "unexpected_character", 0, "１"),
    ("1 ＋ 2", "unexpected_character", 2, "＋"),
    ("a % b", "unexpected_character", 2, "%"),
    ("2 ** 3", "unexpected_token", 3, "*"),
    ("1 2", "unexpected_token", 2, "2"),
    ("1 2 @", "unexpected_token", 2, "2"),
    ("a b", "unexpected_token", 2, "b"),
    ("1e5", "unexpected_token", 1, "e5"),
    ("2a", "unexpected_token", 1, "a"),
    ("()", "unexpected_token", 1, ")"),
    ("1 + )", "unexpected_token", 4, ")"),
    ("1 * / 2", "unexpected_token", 4, "/"),
    ("1 × ÷ 2", "unexpected_token", 4, "÷"),
    ("(1 2)", "unexpected_token", 3, "2"),
    ("a (b)", "unexpected_token", 2, "("),
    ("1 +", "unexpected_end", 3, ""),
    ("1 +   ", "unexpected_end", 6, ""),
    ("(", "unexpected_end", 1, ""),
    ("-", "unexpected_end", 1, ""),
    ("(1", "unbalanced_parentheses", 0, "("),
    ("（1", "unbalanced_parentheses", 0, "（"),
    ("((1)", "unbalanced_parentheses", 0, "("),
    ("1)", "unbalanced_parentheses", 1, ")"),
    ("(1))", "unbalanced_parentheses", 3, ")"),
    ("1）", "unbalanced_parentheses", 1, "）"),
    ("prev", "reserved_name", 0, "prev"),
    ("prev + 1", "reserved_name", 0, "prev"),
    ("1 + prev", "reserved_name", 4, "prev"),
    ("prev(prev)", "reserved_name", 5, "prev"),
    ("prev(prev(a))", "reserved_name", 5, "prev"),
    ("prev(1)", "unexpected_token", 5, "1"),
    ("prev()", "unexpected_token", 5, ")"),
    ("prev(a b)", "unexpected_token", 7, "b"),
    ("prev(", "unexpected_end", 5, ""),
    ("prev(a", "unbalanced_parentheses", 4, "("),
    ("prev（a", "unbalanced_parentheses", 4, "（"),
]


@pytest.mark.parametrize(("text", "code", "position", "detail"), ERRORS)
def test_parse_errors(text, code, position, detail):
    with pytest.raises(FormulaError) as info:
        parse(text)
    assert (info.value.code, info.value.position, info.value.detail) == (code, position, detail)


@pytest.mark.parametrize(
    ("text", "position", "detail"),
    [("a + c", 4, "c"), ("prev(c)", 5, "c"), ("c + d", 0, "c"), ("a + prev(d) + c", 9, "d")],
)
def test_unknown_name(text, position, detail):
    with pytest.raises(FormulaError) as info:
        parse(text, allowed_names=("a", "b"))
    assert (info.value.code, info.value.position, info.value.detail) == (
        "unknown_name",
        position,
        detail,
    )


def test_every_error_code_is_covered():
    codes = {code for _, code, _, _ in ERRORS} | {"unknown_name"}
    assert codes == {
        "empty",
        "too_long",
        "too_deep",
        "unexpected_character",
        "unexpected_token",
        "unexpected_end",
        "unbalanced_parentheses",
        "unknown_name",
        "reserved_name",
    }


def test_limits_are_inclusive():
    assert parse("1" * MAX_LENGTH).evaluate({}) == D("1" * MAX_LENGTH)
    assert parse("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH).evaluate({}) == 1
    assert parse("-" * MAX_DEPTH + "1").evaluate({}) == 1
    assert parse("(" * (MAX_DEPTH - 1) + "prev(a)" + ")" * (MAX_DEPTH - 1)).previous_names == {"a"}


def test_long_flat_formula_does_not_recurse_deeply():
    text = "+".join(["1"] * 250)
    assert len(text) <= MAX_LENGTH
    assert parse(text).evaluate({}) == 250
    assert parse("*".join(["2"] * 100)).evaluate({}) == 2**100


def test_errors_are_value_errors_and_picklable():
    with pytest.raises(ValueError):
        parse("1 +")
    error = FormulaError("unexpected_token", 3, "x")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.position, copy.detail) == ("unexpected_token", 3, "x")
    assert "unexpected_token" in str(error)
    failure = pickle.loads(pickle.dumps(FormulaEvaluationError("missing_value", "a")))
    assert isinstance(failure, ArithmeticError)
    assert (failure.code, failure.name) == ("missing_value", "a")
    assert str(FormulaEvaluationError("division_by_zero")) == "division_by_zero"


@pytest.mark.parametrize(
    ("text", "values", "previous", "code", "name"),
    [
        ("1 / 0", {}, None, "division_by_zero", ""),
        ("a / (b - b)", VALUES, None, "division_by_zero", ""),
        ("1 / 0.00", {}, None, "division_by_zero", ""),
        ("0 / 0", {}, None, "division_by_zero", ""),
        ("a + 1", {}, None, "missing_value", "a"),
        ("a + 1", {"a": None}, None, "missing_value", "a"),
        ("b / a", {"a": D(0)}, None, "missing_value", "b"),
        ("prev(a)", VALUES, None, "missing_previous", "a"),
        ("prev(a)", VALUES, {}, "missing_previous", "a"),
        ("prev(a)", VALUES, {"a": None}, "missing_previous", "a"),
        ("a - prev(b)", VALUES, {"a": D(1)}, "missing_previous", "b"),
    ],
)
def test_evaluation_errors(text, values, previous, code, name):
    with pytest.raises(FormulaEvaluationError) as info:
        parse(text).evaluate(values, previous)
    assert (info.value.code, info.value.name) == (code, name)


def test_integer_values_are_accepted_and_other_types_refused():
    assert parse("a * 2").evaluate({"a": 3}) == 6
    with pytest.raises(TypeError):
        parse("a").evaluate({"a": "3"})


def test_result_does_not_depend_on_callers_context():
    formula = parse("2 / 3 * 100 + 1.005")
    expected = formula.evaluate({})
    with localcontext() as context:
        context.prec = 5
        context.rounding = ROUND_FLOOR
        assert formula.evaluate({}) == expected
    assert expected == D("67.67166666666666666666666666666667")


# --- properties ---------------------------------------------------------------------------

FORMULA_ALPHABET = st.sampled_from(list("0123456789.+-*/() \tabcprev_x（）×÷−–@A,"))


@settings(max_examples=400, deadline=None)
@given(st.text(FORMULA_ALPHABET, max_size=60) | st.text(max_size=40))
def test_parse_raises_only_formula_error(text):
    try:
        formula = parse(text)
    except FormulaError as error:
        assert error.code in {
            "empty",
            "too_long",
            "too_deep",
            "unexpected_character",
            "unexpected_token",
            "unexpected_end",
            "unbalanced_parentheses",
            "reserved_name",
        }
        assert 0 <= error.position <= len(text)
        return
    assert formula.text == text


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["(", "-", "+", "（", "1", ")", "prev(", "a"]), max_size=400))
def test_deep_or_long_text_never_recurses_out(pieces):
    text = "".join(pieces)
    try:
        parse(text)
    except FormulaError:
        pass


def _round34(q: Fraction) -> Fraction:
    """q correctly rounded (half-even) to 34 significant digits, as Decimal arithmetic does."""
    if q == 0:
        return q
    magnitude = abs(q)
    exponent = len(str(magnitude.numerator)) - len(str(magnitude.denominator))
    while Fraction(10) ** exponent > magnitude:
        exponent -= 1
    while Fraction(10) ** (exponent + 1) <= magnitude:
        exponent += 1
    scale = Fraction(10) ** (exponent - 33)
    rounded = round(magnitude / scale) * scale  # round() on a Fraction is half-even
    return rounded if q > 0 else -rounded


class _DivisionByZero(Exception):
    pass


NAMES = {"a", "b", "c"}


def _reference(tree, values, previous) -> Fraction:
    kind = tree[0]
    if kind == "num":
        return Fraction(tree[1])
    if kind == "name":
        return Fraction(values[tree[1]])
    if kind == "prev":
        return Fraction(previous[tree[1]])
    if kind == "neg":
        return _round34(-_reference(tree[1], values, previous))
    if kind == "pos":
        return _reference(tree[1], values, previous)
    _, operator, left, right = tree
    x = _reference(left, values, previous)
    y = _reference(right, values, previous)
    if operator == "+":
        return _round34(x + y)
    if operator == "-":
        return _round34(x - y)
    if operator == "*":
        return _round34(x * y)
    if y == 0:
        raise _DivisionByZero
    return _round34(x / y)


def _depth(tree) -> int:
    if tree[0] in ("num", "name"):
        return 0
    if tree[0] == "prev":
        return 1
    if tree[0] in ("neg", "pos"):
        return 1 + _depth(tree[1])
    return 1 + max(_depth(tree[2]), _depth(tree[3]))


PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
ALIASES = {"*": "×", "/": "÷", "-": "−", "(": "（", ")": "）"}


def _render(tree, minimal: bool, fancy: bool) -> str:
    """Text for `tree`: fully parenthesised, or with only the parentheses precedence needs."""

    def sym(char: str) -> str:
        return ALIASES.get(char, char) if fancy else char

    def group(text: str) -> str:
        return sym("(") + text + sym(")")

    kind = tree[0]
    if kind == "num":
        return f"{tree[1]:f}"
    if kind == "name":
        return tree[1]
    if kind == "prev":
        return f"prev{sym('(')}{tree[1]}{sym(')')}"
    if kind in ("neg", "pos"):
        inner = _render(tree[1], minimal, fancy)
        if tree[1][0] == "bin":
            inner = group(inner)
        return (sym("-") if kind == "neg" else "+") + inner
    _, operator, left, right = tree
    left_text = _render(left, minimal, fancy)
    right_text = _render(right, minimal, fancy)
    if minimal:
        # Left operands of equal precedence need none (left-associative); right ones always do,
        # since re-association changes Decimal rounding.
        if left[0] == "bin" and PRECEDENCE[left[1]] < PRECEDENCE[operator]:
            left_text = group(left_text)
        if right[0] == "bin" and PRECEDENCE[right[1]] <= PRECEDENCE[operator]:
            right_text = group(right_text)
        text = f"{left_text} {sym(operator)} {right_text}"
    else:
        text = group(f"{left_text}{sym(operator)}{right_text}")
    return text


numbers = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False)
leaves = (
    numbers.map(lambda d: ("num", d))
    | st.sampled_from(sorted(NAMES)).map(lambda n: ("name", n))
    | st.sampled_from(["a", "b"]).map(lambda n: ("prev", n))
    | st.sampled_from(["0", "1", "3", "7"]).map(lambda s: ("num", Decimal(s)))
)
trees = st.recursive(
    leaves,
    lambda children: (
        st.tuples(st.just("bin"), st.sampled_from("+-*/"), children, children)
        | st.tuples(st.sampled_from(["neg", "pos"]), children)
    ),
    max_leaves=12,
)
figures = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tree=trees,
    values=st.fixed_dictionaries({name: figures for name in sorted(NAMES)}),
    previous=st.fixed_dictionaries({"a": figures, "b": figures}),
    minimal=st.booleans(),
    fancy=st.booleans(),
)
def test_evaluation_matches_fraction_reference(tree, values, previous, minimal, fancy):
    # Rendering adds at most one pair of parentheses per node on top of the tree's own depth.
    assume(2 * _depth(tree) <= MAX_DEPTH)
    text = _render(tree, minimal, fancy)
    assume(len(text) <= MAX_LENGTH)
    formula = parse(text, allowed_names=NAMES)
    try:
        expected = _reference(tree, values, previous)
    except _DivisionByZero:
        with pytest.raises(FormulaEvaluationError) as info:
            formula.evaluate(values, previous)
        assert info.value.code == "division_by_zero"
        return
    result = formula.evaluate(values, previous)
    assert isinstance(result, Decimal)
    assert Fraction(result) == expected


def test_errors_read_as_their_code_position_and_detail():
    assert str(FormulaError("unexpected_token", 3, "x")) == "unexpected_token at position 3 ('x')"
    assert str(FormulaError("empty", 0)) == "empty at position 0"
    assert str(FormulaEvaluationError("missing_value", "a")) == "missing_value: a"
    with pytest.raises(TypeError, match=r"^a: expected Decimal, got str$"):
        parse("a").evaluate({"a": "3"})


def test_depth_counts_nesting_not_length():
    """Parentheses and signs one after another are not nested: only nesting counts to the
    limit, so a long formula of short groups parses."""
    assert parse("+".join(["(1)"] * 50)).evaluate({}) == 50
    assert parse("+".join(["prev(a)"] * 50)).evaluate({}, {"a": D(1)}) == 50
    assert parse("+".join(["-1"] * 50)).evaluate({}) == -50


def test_a_point_needs_a_digit_after_it():
    with pytest.raises(FormulaError) as info:
        parse("1.+2")
    assert (info.value.code, info.value.position, info.value.detail) == (
        "unexpected_character",
        1,
        ".",
    )


@pytest.mark.parametrize("step", ["(1)", "-1"])
def test_closing_a_group_gives_back_exactly_one_level(step):
    """After a group at depth 39 closes, the next group may go one level deeper only."""
    deepest = "(((1)))" if step == "(1)" else "---1"
    with pytest.raises(FormulaError) as info:
        parse("(" * 38 + step + "+" + deepest + ")" * 38)
    assert info.value.code == "too_deep"
    shallower = "((1))" if step == "(1)" else "--1"
    total = 2 if step == "(1)" else 0  # -1 + --1
    assert parse("(" * 38 + step + "+" + shallower + ")" * 38).evaluate({}) == total
