"""The achievement engine: quarterly figures in, achievement rate, status and reasons out.

Pure Python on Decimal, so that the same figures always give the same published numbers whatever
the caller's decimal context. Nothing here raises for missing or odd data: a figure that cannot
be computed comes back as None with a Reason, which the Django side words for the user.
"""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from kpitrack.core.engine.calendar import is_valid_quarter
from kpitrack.core.engine.formula import (
    DECIMAL_CONTEXT,
    Formula,
    FormulaError,
    FormulaEvaluationError,
    parse,
)

HUNDRED = Decimal(100)
ZERO = Decimal(0)


class Method(StrEnum):
    COUNT = "count"
    LOWER = "lower"
    RATIO = "ratio"
    GROWTH = "growth"
    WEIGHTED = "weighted"
    MULTI = "multi"
    ORDINAL = "ordinal"
    RATING = "rating"
    FORMULA = "formula"


class Aggregation(StrEnum):
    SUM = "sum"
    LATEST = "latest"
    AVERAGE = "average"


class Rounding(StrEnum):
    HALF_UP = "half_up"  # 四捨五入
    DOWN = "down"  # 無條件捨去


class Status(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    WHITE = "white"  # not evaluated


@dataclass(frozen=True)
class Reason:
    """Why something cannot be computed; translated to zh-Hant/en by the Django side."""

    code: str
    key: str = ""
    quarters: tuple[int, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class Part:
    key: str
    label: str
    target: Decimal | None
    unit: str = ""
    weight: Decimal | None = None


@dataclass(frozen=True)
class Spec:
    method: Method
    aggregation: Aggregation
    inputs: tuple[str, ...]
    parts: tuple[Part, ...]
    formula: str | None = None
    baseline: Decimal | None = None
    part_rate_cap: Decimal | None = None


@dataclass(frozen=True)
class Policy:
    decimals: int = 2
    rounding: Rounding = Rounding.HALF_UP
    green: Decimal = Decimal("100")
    yellow: Decimal = Decimal("80")


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class PartOutcome:
    key: str
    label: str
    unit: str
    target: Decimal | None
    value: Decimal | None
    rate: Decimal | None
    raw_rate: Decimal | None
    reason: Reason | None


@dataclass(frozen=True)
class Outcome:
    value: Decimal | None
    rate: Decimal | None
    raw_value: Decimal | None
    raw_rate: Decimal | None
    status: Status
    reason: Reason | None
    parts: tuple[PartOutcome, ...]
    inputs: Mapping[str, Decimal | None]


Quarters = Mapping[int, Mapping[str, Decimal | None]]


class CannotCompute(Exception):
    reason: Reason

    def __init__(self, reason: Reason):
        super().__init__(reason)
        self.reason = reason


# Methods whose figures are counts, amounts or codes, where a negative entry is a typing error.
_NON_NEGATIVE = frozenset(
    {
        Method.COUNT,
        Method.LOWER,
        Method.RATIO,
        Method.ORDINAL,
        Method.RATING,
        Method.MULTI,
        Method.WEIGHTED,
    }
)
_PER_PART = frozenset({Method.MULTI, Method.WEIGHTED})


def allows_negative(method: Method) -> bool:
    """Whether a figure of `method` may be below zero (a growth or a formula's input may)."""
    return Method(method) not in _NON_NEGATIVE


def needs_previous(method: Method | str) -> bool:
    """Whether last year's figures can change this method's outcome: growth compares with them,
    a formula may use prev(); nothing else reads them."""
    return _member(Method, method) in (Method.GROWTH, Method.FORMULA)


_INPUTS_NEEDED = {Method.RATIO: 2, Method.FORMULA: 0, Method.MULTI: 0, Method.WEIGHTED: 0}


def round_decimal(x: Decimal, decimals: int, rounding: Rounding) -> Decimal:
    """`x` to `decimals` places: HALF_UP is 四捨五入, DOWN truncates toward zero."""
    if decimals < 0:
        raise ValueError("decimals must not be negative")
    # A StrEnum member equals its value, so plain strings compare too; anything else is refused.
    if rounding == Rounding.HALF_UP:
        mode = ROUND_HALF_UP
    elif rounding == Rounding.DOWN:
        mode = ROUND_DOWN
    else:
        raise ValueError(f"unknown rounding {rounding!r}")
    # quantize fails when the result needs more digits than the precision allows.
    result = x.quantize(
        _quantum(decimals), rounding=mode, context=_context(x.adjusted() + decimals + 2)
    )
    # "-0.00" would be shown to users as a negative zero.
    return result.copy_abs() if result.is_zero() else result


@lru_cache(maxsize=64)
def _quantum(decimals: int) -> Decimal:
    return Decimal((0, (1,), -decimals))


def _context(digits: int):
    # Rounding runs for every figure of a large import: the shared context serves unless a
    # number is long enough to need a wider one.
    if digits <= DECIMAL_CONTEXT.prec:
        return DECIMAL_CONTEXT
    context = DECIMAL_CONTEXT.copy()
    context.prec = digits
    return context


def status_for(rate: Decimal | None, policy: Policy) -> Status:
    if rate is None:
        return Status.WHITE
    if rate >= policy.green:
        return Status.GREEN
    if rate >= policy.yellow:
        return Status.YELLOW
    return Status.RED


def is_mismatch(raw: Decimal | None, published: Decimal | None) -> bool | None:
    """Whether a printed figure disagrees with ours at the printed precision (None: unknown).

    The source documents round either way, so agreeing with one of the two is enough.
    """
    if raw is None or published is None:
        return None
    exponent = published.as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    return not any(round_decimal(raw, decimals, rounding) == published for rounding in Rounding)


def _member(kind, value):
    # A member passes as it is, without the enum's lookup: this runs for every row of a large
    # import. Anything else is converted, or refused as the enum refuses it.
    return value if type(value) is kind else kind(value)


def _check_quarter(through_quarter: int) -> int:
    if not is_valid_quarter(through_quarter):
        raise ValueError(f"through_quarter must be 1-4, not {through_quarter!r}")
    return through_quarter


def _used_quarters(aggregation: Aggregation, through_quarter: int) -> tuple[int, ...]:
    if aggregation is Aggregation.LATEST:
        return (through_quarter,)
    return tuple(range(1, through_quarter + 1))


def _figures(
    aggregation: Aggregation, quarters: Quarters, key: str, through_quarter: int
) -> list[Decimal]:
    used = _used_quarters(aggregation, through_quarter)
    return _numbers(key, used, [quarters.get(quarter) for quarter in used])


def _numbers(
    key: str, used: tuple[int, ...], rows: list[Mapping[str, Decimal | None] | None]
) -> list[Decimal]:
    """`key`'s figure in each of the `used` quarters (`rows`, None for a quarter not there);
    raises CannotCompute."""
    figures = [None if row is None else row.get(key) for row in rows]
    if None in figures:
        missing = tuple(q for q, figure in zip(used, figures, strict=True) if figure is None)
        raise CannotCompute(Reason("missing_quarters", key, quarters=missing))
    numbers = []
    for figure in figures:
        if isinstance(figure, int) and not isinstance(figure, bool):
            figure = Decimal(figure)
        if not isinstance(figure, Decimal):
            raise TypeError(f"{key}: expected Decimal, got {type(figure).__name__}")
        if not figure.is_finite():
            raise CannotCompute(Reason("invalid_value", key))
        numbers.append(figure)
    return numbers


def aggregate(
    aggregation: Aggregation, quarters: Quarters, key: str, through_quarter: int
) -> Decimal:
    """The figure for `key` through `through_quarter`; raises CannotCompute."""
    aggregation = Aggregation(aggregation)
    numbers = _figures(aggregation, quarters, key, _check_quarter(through_quarter))
    return _combine(aggregation, numbers)


def _combine(aggregation: Aggregation, numbers: list[Decimal]) -> Decimal:
    if aggregation is Aggregation.LATEST:
        return numbers[0]
    with localcontext(DECIMAL_CONTEXT):
        total = sum(numbers, ZERO)
        return total if aggregation is Aggregation.SUM else total / len(numbers)


class _Inputs:
    """An indicator's aggregated figures, and the reason each unusable one cannot be used."""

    def __init__(self, spec: Spec, method: Method, quarters: Quarters, through_quarter: int):
        _check_quarter(through_quarter)
        aggregation = _member(Aggregation, spec.aggregation)
        keys = tuple(spec.inputs)
        if method in _PER_PART:
            keys += tuple(part.key for part in spec.parts)
        self.keys = tuple(dict.fromkeys(keys))
        self.values: dict[str, Decimal | None] = {}
        self.reasons: dict[str, Reason] = {}
        # Looked up once for all keys: this runs for every row of a large import.
        used = _used_quarters(aggregation, through_quarter)
        rows = [quarters.get(quarter) for quarter in used]
        non_negative = method in _NON_NEGATIVE
        computed = False
        for key in self.keys:
            try:
                numbers = _numbers(key, used, rows)
            except CannotCompute as exc:
                self.values[key] = None
                self.reasons[key] = exc.reason
                continue
            computed = True
            self.values[key] = _combine(aggregation, numbers)
            if non_negative and min(numbers) < 0:
                self.reasons[key] = Reason("invalid_value", key)
        if computed:
            self.empty = False
            return
        if aggregation is Aggregation.LATEST:
            rows = [quarters.get(quarter) for quarter in range(1, through_quarter + 1)]
        self.empty = bool(self.keys) and not any(
            row.get(key) is not None for row in rows if row is not None for key in self.keys
        )

    def need(self, key: str) -> Decimal:
        reason = self.reasons.get(key)
        if reason is not None:
            raise CannotCompute(reason)
        return self.values[key]


def aggregate_inputs(
    spec: Spec, quarters: Quarters, through_quarter: int = 4
) -> dict[str, Decimal | None]:
    """Every input of `spec` aggregated through the quarter, None where not computable."""
    return _Inputs(spec, Method(spec.method), quarters, through_quarter).values


def formula_reason(error: FormulaError | FormulaEvaluationError) -> Reason:
    """The Reason reported for a formula that cannot be parsed or computed."""
    if isinstance(error, FormulaError):
        return Reason("formula_invalid", detail=error.code)
    return Reason(error.code, key=error.name)


@lru_cache(maxsize=512)
def _compile(text: str, names: tuple[str, ...]) -> Formula:
    return parse(text, allowed_names=names)


def _shape_problem(spec: Spec, method: Method) -> Reason | None:
    # Specs come from editable records; a malformed one must not break a whole year's report.
    if len(spec.inputs) < _INPUTS_NEEDED.get(method, 1):
        return Reason("invalid_spec", detail="inputs")
    if method not in _PER_PART and len(spec.parts) > 1:
        return Reason("invalid_spec", detail="parts")
    return None


def _measure(
    method: Method, spec: Spec, data: _Inputs, previous: Mapping[str, Decimal | None] | None
) -> Decimal:
    """The measured value of a single-part method; raises CannotCompute."""
    if method is Method.FORMULA:
        return _formula_value(spec, data, previous)
    key = spec.inputs[0]
    value = data.need(key)
    if method is Method.COUNT or method is Method.LOWER:
        return value
    with localcontext(DECIMAL_CONTEXT):
        if method is Method.ORDINAL and value != value.to_integral_value():
            raise CannotCompute(Reason("invalid_value", key))
        if method is Method.RATING and value not in (0, 1):
            raise CannotCompute(Reason("invalid_value", key))
        if method is Method.RATIO:
            denominator = data.need(spec.inputs[1])
            if denominator == 0:
                raise CannotCompute(Reason("zero_denominator", spec.inputs[1]))
            return value / denominator * HUNDRED
        if method is Method.GROWTH:
            last = None if previous is None else previous.get(key)
            if last is None:
                last = spec.baseline
            if last is None:
                raise CannotCompute(Reason("missing_previous", key))
            if last == 0:
                raise CannotCompute(Reason("zero_previous", key))
            return (value - last) / last * HUNDRED
        return value


def _formula_value(
    spec: Spec, data: _Inputs, previous: Mapping[str, Decimal | None] | None
) -> Decimal:
    try:
        formula = _compile(spec.formula or "", tuple(spec.inputs))
    except FormulaError as exc:
        raise CannotCompute(formula_reason(exc)) from exc
    # An input that cannot be aggregated is reported with its own reason (e.g. which quarters
    # are missing), which says more than the formula's "missing_value".
    for key in spec.inputs:
        if key in formula.names:
            data.need(key)
    try:
        return formula.evaluate(data.values, previous)
    except FormulaEvaluationError as exc:
        raise CannotCompute(formula_reason(exc)) from exc


def _rate(method: Method, value: Decimal, part: Part | None) -> Decimal:
    """A part's achievement rate in percent, floored at 0; raises CannotCompute."""
    if part is None or part.target is None:
        raise CannotCompute(Reason("no_target", "" if part is None else part.key))
    target = part.target
    with localcontext(DECIMAL_CONTEXT):
        if method is Method.LOWER:
            if value <= target:
                rate = HUNDRED
            elif target <= 0:
                # Nothing above a zero (or negative) ceiling counts as partly achieved.
                rate = ZERO
            else:
                rate = target / value * HUNDRED
        elif method is Method.RATING:
            rate = HUNDRED if value == 1 else ZERO
        elif target == 0:
            raise CannotCompute(Reason("zero_target", part.key))
        else:
            rate = value / target * HUNDRED
    # A shortfall (e.g. negative growth) cannot be worse than achieving nothing.
    return rate if rate > 0 else ZERO


def _round(x: Decimal | None, policy: Policy) -> Decimal | None:
    return None if x is None else round_decimal(x, policy.decimals, policy.rounding)


def _part_outcome(
    part: Part,
    value: Decimal | None,
    raw_rate: Decimal | None,
    reason: Reason | None,
    policy: Policy,
) -> PartOutcome:
    return PartOutcome(
        key=part.key,
        label=part.label,
        unit=part.unit,
        target=part.target,
        value=_round(value, policy),
        rate=_round(raw_rate, policy),
        raw_rate=raw_rate,
        reason=reason if raw_rate is None else None,
    )


def _outcome(
    raw_value: Decimal | None,
    raw_rate: Decimal | None,
    reason: Reason | None,
    parts: tuple[PartOutcome, ...],
    data: _Inputs,
    policy: Policy,
) -> Outcome:
    rate = _round(raw_rate, policy)
    return Outcome(
        value=_round(raw_value, policy),
        rate=rate,
        raw_value=raw_value,
        raw_rate=raw_rate,
        status=status_for(rate, policy),
        reason=reason if rate is None else None,
        parts=parts,
        inputs=dict(data.values),
    )


class _Raw(NamedTuple):
    """An indicator's unrounded outcome: what `evaluate` rounds and words, and all that
    `raw_rate` needs. `parts` holds (part, value, raw rate, reason) for each target part."""

    data: _Inputs
    value: Decimal | None
    rate: Decimal | None
    reason: Reason | None
    parts: tuple[tuple[Part, Decimal | None, Decimal | None, Reason | None], ...]


def _compute_single(
    method: Method, spec: Spec, data: _Inputs, previous: Mapping[str, Decimal | None] | None
) -> _Raw:
    part = spec.parts[0] if spec.parts else None
    raw_value = raw_rate = reason = None
    try:
        raw_value = _measure(method, spec, data, previous)
        raw_rate = _rate(method, raw_value, part)
    except CannotCompute as exc:
        reason = exc.reason
    parts = () if part is None else ((part, raw_value, raw_rate, reason),)
    return _Raw(data, raw_value, raw_rate, reason, parts)


def _compute_parts(method: Method, spec: Spec, data: _Inputs) -> _Raw:
    weighted = method is Method.WEIGHTED
    cap = spec.part_rate_cap if weighted else None
    parts, rates = [], []
    reason = None if spec.parts else Reason("no_target")
    for part in spec.parts:
        value = raw_rate = part_reason = None
        try:
            value = data.need(part.key)
            raw_rate = _rate(Method.COUNT, value, part)
            if cap is not None:
                raw_rate = min(raw_rate, cap)
        except CannotCompute as exc:
            part_reason = exc.reason
        parts.append((part, value, raw_rate, part_reason))
        rates.append(raw_rate)
        if reason is None and part_reason is not None:
            reason = part_reason
        elif reason is None and weighted and part.weight is None:
            reason = Reason("missing_weight", part.key)
        elif reason is None and weighted and part.weight < 0:
            reason = Reason("invalid_value", part.key, detail="weight")
    raw_rate = None
    if reason is None:
        with localcontext(DECIMAL_CONTEXT):
            if not weighted:
                raw_rate = min(rates)
            elif (total := sum((part.weight for part in spec.parts), ZERO)) == 0:
                reason = Reason("zero_weight")
            else:
                weighted_sum = sum(
                    (p.weight * r for p, r in zip(spec.parts, rates, strict=True)), ZERO
                )
                raw_rate = weighted_sum / total
    return _Raw(data, None, raw_rate, reason, tuple(parts))


def _compute(
    spec: Spec,
    quarters: Quarters,
    through_quarter: int,
    previous: Mapping[str, Decimal | None] | None,
) -> _Raw:
    method = _member(Method, spec.method)
    data = _Inputs(spec, method, quarters, through_quarter)
    problem = _shape_problem(spec, method)
    if problem is None and data.empty:
        problem = Reason("no_data")
    if problem is not None:
        parts = tuple((part, None, None, problem) for part in spec.parts)
        return _Raw(data, None, None, problem, parts)
    if method in _PER_PART:
        return _compute_parts(method, spec, data)
    return _compute_single(method, spec, data, previous)


def evaluate(
    spec: Spec,
    quarters: Quarters,
    *,
    through_quarter: int = 4,
    previous: Mapping[str, Decimal | None] | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> Outcome:
    """Achievement of one indicator through `through_quarter`.

    `previous` holds last year's full-year aggregated inputs of the same indicator, if any.
    """
    raw = _compute(spec, quarters, through_quarter, previous)
    parts = tuple(_part_outcome(*part, policy) for part in raw.parts)
    return _outcome(raw.value, raw.rate, raw.reason, parts, raw.data, policy)


def raw_rate(
    spec: Spec,
    quarters: Quarters,
    *,
    through_quarter: int = 4,
    previous: Mapping[str, Decimal | None] | None = None,
) -> Decimal | None:
    """`evaluate(...).raw_rate`, without rounding or wording anything: for a check that runs
    over every row of a large import and needs nothing else."""
    return _compute(spec, quarters, through_quarter, previous).rate


def evaluate_many(
    items: Iterable[tuple[Hashable, Spec, Quarters, Mapping[str, Decimal | None] | None]],
    *,
    through_quarter: int = 4,
    policy: Policy = DEFAULT_POLICY,
) -> dict[Hashable, Outcome]:
    """evaluate() for each (id, spec, quarters, previous), keyed by id."""
    return {
        item_id: evaluate(
            spec, quarters, through_quarter=through_quarter, previous=previous, policy=policy
        )
        for item_id, spec, quarters, previous in items
    }
