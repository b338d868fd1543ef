"""The one validation of an indicator's shape: its method, inputs, target parts and formula.

The loader, the admin and the entry forms all ask this function, so that none of them saves an
indicator another would refuse. It lists every problem instead of stopping at the first, and it
never raises: whatever it is given (a key of the wrong type, an unknown method) becomes a problem.
Problems carry a code, the field they concern (a path such as ``parts[1].weight``, indexes from
0) and the parameters the Django side needs to word them (`performance.reasons`).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from kpitrack.core.engine.achievement import Aggregation, Method
from kpitrack.core.engine.formula import PREV, FormulaError, parse

KEY_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
KEY_MAX_LENGTH = 40

# Methods whose target is one part per input, with the same keys.
PER_PART = frozenset({Method.WEIGHTED, Method.MULTI})
# Methods that measure exactly this many inputs (the others: see below).
INPUTS_EXPECTED = {
    Method.COUNT: 1,
    Method.LOWER: 1,
    Method.GROWTH: 1,
    Method.ORDINAL: 1,
    Method.RATING: 1,
    Method.RATIO: 2,  # numerator, then denominator
}
RATING_TARGET = Decimal(1)


class PartShape(NamedTuple):
    key: Any
    target: Decimal | None = None
    weight: Decimal | None = None


@dataclass(frozen=True)
class ShapeProblem:
    code: str
    field: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)


def indicator_shape_problems(
    *,
    method: Any,
    aggregation: Any,
    inputs: Sequence[Any],
    parts: Sequence[PartShape | tuple],
    formula: str | None = None,
    baseline: Decimal | None = None,
) -> list[ShapeProblem]:
    """Every problem with this indicator's shape, in field order; empty when it is sound.

    `inputs` are the input keys in order; `parts` are (key, target, weight) in order.
    """
    problems: list[ShapeProblem] = []
    inputs = list(inputs)
    parts = [PartShape(*part) for part in parts]
    known_method = _member(Method, method)
    if known_method is None:
        problems.append(ShapeProblem("unknown_method", "method", {"value": _show(method)}))
    if _member(Aggregation, aggregation) is None:
        problems.append(
            ShapeProblem("unknown_aggregation", "aggregation", {"value": _show(aggregation)})
        )
    problems += _key_problems("inputs", inputs)
    problems += _key_problems("parts", [part.key for part in parts])
    problems += _number_problems(parts, baseline)
    if known_method is not None:
        problems += _count_problems(known_method, inputs, parts)
        problems += _target_problems(known_method, parts)
        problems += _formula_problems(known_method, formula, inputs)
        problems += _baseline_problems(known_method, baseline)
    return problems


def _member(enum, value):
    try:
        return enum(value)
    except (ValueError, TypeError):
        return None


def _show(value) -> str:
    return "" if value is None else str(value)


def _usable(number) -> bool:
    return (
        isinstance(number, Decimal | int)
        and not isinstance(number, bool)
        and (not isinstance(number, Decimal) or number.is_finite())
    )


def _key_problems(kind: str, keys: list) -> list[ShapeProblem]:
    problems = []
    seen = set()
    for index, key in enumerate(keys):
        where = f"{kind}[{index}].key"
        if key is None or key == "":
            problems.append(ShapeProblem("missing_key", where))
        elif not isinstance(key, str) or not KEY_RE.match(key):
            problems.append(ShapeProblem("invalid_key", where, {"key": _show(key)}))
        elif len(key) > KEY_MAX_LENGTH:
            problems.append(
                ShapeProblem("key_too_long", where, {"key": key, "max": KEY_MAX_LENGTH})
            )
        elif key == PREV:
            # prev(name) in a formula means last year's figure of `name`.
            problems.append(ShapeProblem("reserved_key", where, {"key": key}))
        elif key in seen:
            problems.append(ShapeProblem("duplicate_key", where, {"key": key}))
        else:
            seen.add(key)
    return problems


def _number_problems(parts: list[PartShape], baseline) -> list[ShapeProblem]:
    numbers = [("baseline", baseline)]
    for index, part in enumerate(parts):
        numbers += [
            (f"parts[{index}].target", part.target),
            (f"parts[{index}].weight", part.weight),
        ]
    return [
        ShapeProblem("not_a_number", where, {"value": _show(number)})
        for where, number in numbers
        if number is not None and not _usable(number)
    ]


def _count_problems(method: Method, inputs: list, parts: list[PartShape]) -> list[ShapeProblem]:
    problems = []
    if not parts:
        problems.append(ShapeProblem("no_parts", "parts"))
    if method in PER_PART:
        # Keys of the wrong type are already reported; comparing them could not succeed anyway.
        input_keys = {key for key in inputs if isinstance(key, str)}
        part_keys = {part.key for part in parts if isinstance(part.key, str)}
        for index, key in enumerate(inputs):
            if isinstance(key, str) and key not in part_keys:
                problems.append(
                    ShapeProblem(
                        "input_without_part",
                        f"inputs[{index}].key",
                        {"key": key, "method": method.value},
                    )
                )
        for index, part in enumerate(parts):
            if isinstance(part.key, str) and part.key not in input_keys:
                problems.append(
                    ShapeProblem(
                        "part_without_input",
                        f"parts[{index}].key",
                        {"key": part.key, "method": method.value},
                    )
                )
    elif len(parts) > 1:
        problems.append(
            ShapeProblem("too_many_parts", "parts", {"method": method.value, "count": len(parts)})
        )
    expected = INPUTS_EXPECTED.get(method)
    if expected is not None and len(inputs) != expected:
        problems.append(
            ShapeProblem(
                "wrong_input_count",
                "inputs",
                {"method": method.value, "expected": expected, "count": len(inputs)},
            )
        )
    if method is Method.FORMULA and not inputs:
        problems.append(ShapeProblem("no_inputs", "inputs", {"method": method.value}))
    return problems


def _target_problems(method: Method, parts: list[PartShape]) -> list[ShapeProblem]:
    problems = []
    for index, part in enumerate(parts):
        target = part.target if _usable(part.target) else None
        weight = part.weight if _usable(part.weight) else None
        if method is Method.RATING and target is not None and target != RATING_TARGET:
            problems.append(ShapeProblem("rating_target", f"parts[{index}].target"))
        if method is Method.ORDINAL and target is not None:
            if target < 0 or target != int(target):
                problems.append(ShapeProblem("ordinal_target", f"parts[{index}].target"))
        if weight is not None and weight < 0:
            problems.append(ShapeProblem("negative_weight", f"parts[{index}].weight"))
        elif method is Method.WEIGHTED and part.weight is None:
            problems.append(
                ShapeProblem("missing_weight", f"parts[{index}].weight", {"key": _show(part.key)})
            )
    weights = [part.weight for part in parts]
    if method is Method.WEIGHTED and weights and all(_usable(w) and w >= 0 for w in weights):
        if sum(weights) == 0:
            problems.append(ShapeProblem("zero_weights", "parts"))
    return problems


def _formula_problems(method: Method, formula: str | None, inputs: list) -> list[ShapeProblem]:
    text = formula if isinstance(formula, str) else ""
    if method is not Method.FORMULA:
        if text.strip():
            # Only the formula method reads it: kept elsewhere it would be silently ignored.
            return [ShapeProblem("formula_unused", "formula", {"method": method.value})]
        return []
    if not text.strip():
        return [ShapeProblem("formula_required", "formula")]
    try:
        parse(text, allowed_names=[key for key in inputs if isinstance(key, str)])
    except FormulaError as exc:
        return [
            ShapeProblem(
                "formula_invalid",
                "formula",
                {"error": exc.code, "position": exc.position, "detail": exc.detail},
            )
        ]
    return []


def _baseline_problems(method: Method, baseline) -> list[ShapeProblem]:
    if baseline is None or not _usable(baseline):
        return []
    if method is not Method.GROWTH:
        # Only growth falls back on last year's figure stated in the document.
        return [ShapeProblem("baseline_unused", "baseline", {"method": method.value})]
    if baseline == 0:
        return [ShapeProblem("baseline_zero", "baseline")]
    return []
