"""Figures worth a second look before they are saved: not refusals (a draft saves whatever it
holds once the person confirms), the rules of issue 17's validation warnings in one place.

- A value more than FAR_ABOVE times its quarter's milestone, or its annual target (a misplaced
  decimal point, a figure in the wrong unit).
- A cumulative figure (one that accumulates over the year) lower than last quarter's.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

FAR_ABOVE = Decimal(3)


class Check(StrEnum):
    ABOVE_MILESTONE = "above_milestone"
    ABOVE_TARGET = "above_target"
    BELOW_LAST_QUARTER = "below_last_quarter"


@dataclass(frozen=True)
class PartFigures:
    """One target part through the quarter: the value reached with what is typed, its
    milestone, its annual target, and the value reached through the quarter before (None where
    there is none)."""

    key: str
    value: Decimal | None
    milestone: Decimal | None
    target: Decimal | None
    last_quarter: Decimal | None


@dataclass(frozen=True)
class Warning:
    key: str
    check: Check
    value: Decimal
    bound: Decimal  # the milestone, the target or last quarter's value


def _far_above(value: Decimal, bound: Decimal | None) -> bool:
    return bound is not None and bound > 0 and value > FAR_ABOVE * bound


def entry_warnings(parts: Iterable[PartFigures], *, cumulative: bool) -> list[Warning]:
    """What deserves confirmation in `parts`; `cumulative` when the indicator's figure
    accumulates over the year (engine.milestones.accumulates), so that it cannot fall."""
    found = []
    for part in parts:
        value = part.value
        if value is None:
            continue
        # The milestone first: it is what the quarter is judged against; the target is only
        # named when there is no milestone to be far above.
        if _far_above(value, part.milestone):
            found.append(Warning(part.key, Check.ABOVE_MILESTONE, value, part.milestone))
        elif _far_above(value, part.target):
            found.append(Warning(part.key, Check.ABOVE_TARGET, value, part.target))
        if cumulative and part.last_quarter is not None and value < part.last_quarter:
            found.append(Warning(part.key, Check.BELOW_LAST_QUARTER, value, part.last_quarter))
    return found
