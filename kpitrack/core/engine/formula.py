"""Safe arithmetic formulas for custom KPI methods, parsed into a small tree, never given to eval.

Grammar (whitespace ignored; full-width parentheses, × ÷ and the Unicode minus signs accepted):

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '/') factor)*
    factor := ('+' | '-') factor | NUMBER | NAME | 'prev' '(' NAME ')' | '(' expr ')'
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import NamedTuple

MAX_LENGTH = 500
MAX_DEPTH = 40

# Built explicitly rather than copied from decimal.DefaultContext, so that neither the caller's
# context nor a changed default can alter a published figure.
DECIMAL_CONTEXT = Context(
    prec=34,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

# Users paste formulas from Word documents typed with a Chinese input method.
_ALIASES = {"（": "(", "）": ")", "×": "*", "÷": "/", "\u2212": "-", "\u2013": "-"}
_SYMBOLS = frozenset("+-*/()")
_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyz_")
_NAME_CHARS = _NAME_START | _DIGITS
PREV = "prev"


class FormulaError(ValueError):
    """The text is not a valid formula; `code`, `position` and `detail` feed the user message."""

    code: str
    position: int
    detail: str

    def __init__(self, code: str, position: int, detail: str = ""):
        # Passing every field to Exception keeps the error picklable.
        super().__init__(code, position, detail)
        self.code = code
        self.position = position
        self.detail = detail

    def __str__(self) -> str:
        suffix = f" ({self.detail!r})" if self.detail else ""
        return f"{self.code} at position {self.position}{suffix}"


class FormulaEvaluationError(ArithmeticError):
    """A valid formula cannot be computed from the figures given."""

    code: str
    name: str

    def __init__(self, code: str, name: str = ""):
        super().__init__(code, name)
        self.code = code
        self.name = name

    def __str__(self) -> str:
        return f"{self.code}: {self.name}" if self.name else self.code


@dataclass(frozen=True, slots=True)
class Number:
    value: Decimal


@dataclass(frozen=True, slots=True)
class Name:
    name: str


@dataclass(frozen=True, slots=True)
class Previous:
    name: str


@dataclass(frozen=True, slots=True)
class Negate:
    operand: "Node"


@dataclass(frozen=True, slots=True)
class Chain:
    """A run of same-precedence operators, kept flat so long sums do not deepen the tree."""

    first: "Node"
    rest: tuple[tuple[str, "Node"], ...]


Node = Number | Name | Previous | Negate | Chain


@dataclass(frozen=True)
class Formula:
    text: str
    names: frozenset[str]
    previous_names: frozenset[str]
    _tree: Node = field(repr=False, compare=False)

    def evaluate(
        self,
        values: Mapping[str, Decimal | None],
        previous: Mapping[str, Decimal | None] | None = None,
    ) -> Decimal:
        """The formula's value; raises FormulaEvaluationError."""
        with localcontext(DECIMAL_CONTEXT):
            return _evaluate(self._tree, values, previous)


class _Token(NamedTuple):
    kind: str  # "number", "name", "end", or the ASCII symbol itself
    text: str  # as typed, so error details show what the user wrote
    position: int


def _tokens(text: str) -> Iterator[_Token]:
    # Lazy, so that the earliest problem in the text is the one reported.
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        symbol = _ALIASES.get(char, char)
        if char.isspace():
            i += 1
        elif symbol in _SYMBOLS:
            yield _Token(symbol, char, i)
            i += 1
        elif char in _DIGITS:
            j = _skip(text, i, _DIGITS)
            if j + 1 < n and text[j] == "." and text[j + 1] in _DIGITS:
                j = _skip(text, j + 1, _DIGITS)
            yield _Token("number", text[i:j], i)
            i = j
        elif char in _NAME_START:
            j = _skip(text, i, _NAME_CHARS)
            yield _Token("name", text[i:j], i)
            i = j
        else:
            raise FormulaError("unexpected_character", i, char)
    yield _Token("end", "", n)


def _skip(text: str, i: int, chars: frozenset[str]) -> int:
    while i < len(text) and text[i] in chars:
        i += 1
    return i


class _Parser:
    def __init__(self, text: str, allowed: frozenset[str] | None):
        self.tokens = _tokens(text)
        self.token = next(self.tokens)
        self.allowed = allowed
        self.depth = 0
        self.names: set[str] = set()
        self.previous_names: set[str] = set()

    def advance(self) -> _Token:
        token = self.token
        self.token = next(self.tokens)
        return token

    def enter(self, token: _Token) -> None:
        # Bounding depth here also bounds the recursion of both parser and evaluator.
        if self.depth >= MAX_DEPTH:
            raise FormulaError("too_deep", token.position, token.text)
        self.depth += 1

    def formula(self) -> Node:
        tree = self.expr()
        if self.token.kind == ")":
            raise FormulaError("unbalanced_parentheses", self.token.position, self.token.text)
        if self.token.kind != "end":
            raise FormulaError("unexpected_token", self.token.position, self.token.text)
        return tree

    def expr(self) -> Node:
        return self.chain(self.term, "+-")

    def term(self) -> Node:
        return self.chain(self.factor, "*/")

    def chain(self, operand: Callable[[], Node], operators: str) -> Node:
        first = operand()
        rest = []
        while self.token.kind in operators:
            rest.append((self.advance().kind, operand()))
        return Chain(first, tuple(rest)) if rest else first

    def factor(self) -> Node:
        token = self.token
        if token.kind in ("+", "-"):
            self.enter(token)
            self.advance()
            operand = self.factor()
            self.depth -= 1
            return Negate(operand) if token.kind == "-" else operand
        if token.kind == "number":
            self.advance()
            return Number(Decimal(token.text))
        if token.kind == "name":
            if token.text == PREV:
                return self.previous()
            self.name(token)
            self.names.add(token.text)
            return Name(token.text)
        if token.kind == "(":
            self.enter(token)
            self.advance()
            inner = self.expr()
            self.close(token)
            return inner
        raise self.unexpected(token)

    def previous(self) -> Node:
        keyword = self.advance()
        opening = self.token
        if opening.kind != "(":
            raise FormulaError("reserved_name", keyword.position, keyword.text)
        self.enter(opening)
        self.advance()
        token = self.token
        if token.kind != "name":
            raise self.unexpected(token)
        self.name(token)
        self.close(opening)
        self.previous_names.add(token.text)
        return Previous(token.text)

    def name(self, token: _Token) -> None:
        if token.text == PREV:
            raise FormulaError("reserved_name", token.position, token.text)
        if self.allowed is not None and token.text not in self.allowed:
            raise FormulaError("unknown_name", token.position, token.text)
        self.advance()

    def close(self, opening: _Token) -> None:
        if self.token.kind == ")":
            self.advance()
            self.depth -= 1
        elif self.token.kind == "end":
            raise FormulaError("unbalanced_parentheses", opening.position, opening.text)
        else:
            raise self.unexpected(self.token)

    @staticmethod
    def unexpected(token: _Token) -> FormulaError:
        if token.kind == "end":
            return FormulaError("unexpected_end", token.position)
        return FormulaError("unexpected_token", token.position, token.text)


def parse(text: str, allowed_names: Iterable[str] | None = None) -> Formula:
    """Parse `text`; raises FormulaError. With `allowed_names`, any other name is an error."""
    if len(text) > MAX_LENGTH:
        raise FormulaError("too_long", MAX_LENGTH)
    if not text.strip():
        raise FormulaError("empty", 0)
    allowed = None if allowed_names is None else frozenset(allowed_names)
    parser = _Parser(text, allowed)
    tree = parser.formula()
    return Formula(text, frozenset(parser.names), frozenset(parser.previous_names), tree)


def _evaluate(
    node: Node,
    values: Mapping[str, Decimal | None],
    previous: Mapping[str, Decimal | None] | None,
) -> Decimal:
    match node:
        case Number(value):
            return value
        case Name(name):
            return _lookup(values, name, "missing_value")
        case Previous(name):
            return _lookup(previous or {}, name, "missing_previous")
        case Negate(operand):
            return -_evaluate(operand, values, previous)
        case Chain(first, rest):
            result = _evaluate(first, values, previous)
            for operator, operand in rest:
                value = _evaluate(operand, values, previous)
                if operator == "+":
                    result += value
                elif operator == "-":
                    result -= value
                elif operator == "*":
                    result *= value
                elif value == 0:
                    raise FormulaEvaluationError("division_by_zero")
                else:
                    result /= value
            return result
    raise TypeError(f"not a formula node: {node!r}")


def _lookup(values: Mapping[str, Decimal | None], name: str, code: str) -> Decimal:
    value = values.get(name)
    if value is None:
        raise FormulaEvaluationError(code, name)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if not isinstance(value, Decimal):
        raise TypeError(f"{name}: expected Decimal, got {type(value).__name__}")
    return value
