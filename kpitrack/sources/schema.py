"""The shape of the source-document files (docs/data-format.md), checked before anything is read.

Keys the format does not define are refused rather than ignored, so a misspelt `shortfal_reason`
is a problem instead of a silently empty cell. Validators raise our own error types; `problems`
words them (and pydantic's own types) in the user's language with the YAML path of each.
"""

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator
from pydantic_core import PydanticCustomError

from budget.models import MAX_RATE_DECIMALS, AchievementPolicy, HeadcountLine, Unit
from kpitrack.core.engine.calendar import FIRST_YEAR, LAST_YEAR, QUARTERS
from performance.models import Result

_FIGURE = re.compile(r"^-?[0-9]{1,20}(\.[0-9]{1,20})?$")
_CODE = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")


def _figure_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        # A YAML float (165.5 unquoted) has already lost the printed precision.
        raise PydanticCustomError("figure_type", "figure_type")
    text = str(value).strip()
    if not _FIGURE.match(text):
        raise PydanticCustomError("not_a_number", "not_a_number", {"value": text[:40]})
    return text


def _figure(value: Any) -> Decimal | None:
    text = _figure_text(value)
    return None if text is None else Decimal(text)


def _published(value: Any) -> str:
    """A published figure stays as printed, so the precision the document claimed survives."""
    return _figure_text(value) or ""


def _code(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "string_type")
    if not _CODE.match(value):
        raise PydanticCustomError("code", "code", {"value": value[:60]})
    return value


def _choice(choices, default: str | None = None) -> PlainValidator:
    """One of `choices`; null (as the format's examples write an unused field) is `default`."""
    values = tuple(str(choice) for choice in choices)

    def check(value: Any) -> str:
        if value is None and default is not None:
            return default
        if value not in values:
            raise PydanticCustomError(
                "choice", "choice", {"value": str(value)[:60], "choices": ", ".join(values)}
            )
        return value

    return PlainValidator(check)


Figure = Annotated[Decimal | None, PlainValidator(_figure)]
Published = Annotated[str, PlainValidator(_published)]
Code = Annotated[str, PlainValidator(_code)]
Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]
Count = Annotated[int, Field(ge=0)]


class _Section(BaseModel):
    # strict: a YAML 2013 where text belongs is a problem, not silently "2013".
    model_config = ConfigDict(extra="forbid", strict=True)


class ParentAgency(_Section):
    code: Code
    name: str
    name_en: str | None = None


class UnitEntry(_Section):
    code: Code
    name: str
    kind: Annotated[str, _choice(Unit.Kind.values, "other")] = "other"
    duties: str | None = None
    parent: Code | None = None


class AgencyEntry(_Section):
    code: Code
    name: str
    name_en: str | None = None
    parent: ParentAgency | None = None
    duties: str | None = None
    organisation_intro: str | None = None
    leadership: str | None = None
    rate_decimals: Annotated[int, Field(ge=0, le=MAX_RATE_DECIMALS)] = 2
    rounding: Annotated[str, _choice(AchievementPolicy.RoundingMode.values, "half_up")] = "half_up"
    uses_lights: bool = True
    units: list[UnitEntry] = []


class AgencyFile(_Section):
    agency: AgencyEntry


class PolicyGoalEntry(_Section):
    title: str
    body: str | None = None
    items: list[str] | None = None


class PolicyEntry(_Section):
    intro: str | None = None
    goals: list[PolicyGoalEntry] | None = None


class HeadcountLineEntry(_Section):
    category: Annotated[str, _choice(HeadcountLine.Category.values)]
    previous: Count
    change: int


class HeadcountEntry(_Section):
    programme: str
    explanation: str | None = None
    lines: list[HeadcountLineEntry] | None = None


class InputEntry(_Section):
    key: str
    label: str
    unit: str | None = None


class MilestonesEntry(_Section):
    """分季目標: the planned value through each of quarters 1-3, cumulative; one left out takes
    its default (quarter 4 is the target itself)."""

    q1: Figure = None
    q2: Figure = None
    q3: Figure = None


class PartEntry(_Section):
    key: str
    label: str
    target: Figure = None
    original_target: Figure = None
    revision_reason: str | None = None
    unit: str | None = None
    weight: Figure = None
    # Absent: the planned values stay as they are (set in kpitrack, or none); given: exactly
    # these ({} removes them all).
    milestones: MilestonesEntry | None = None


class LayoutLabels(_Section):
    """A reprint's own section labels where the document departs from the standard ones."""

    standard: str | None = None
    progress: str | None = None
    outcome: str | None = None
    target: str | None = None
    achievement: str | None = None
    benefit: str | None = None


class Layout(_Section):
    labels: LayoutLabels | None = None
    target: str | None = None  # the 年度目標值 line of a reprint, as printed


class ResultEntry(_Section):
    quarter: Annotated[int, Field(ge=QUARTERS[0], le=QUARTERS[-1])]
    figures: dict[str, Figure] | None = None
    progress: str | None = None
    benefit: str | None = None
    shortfall_reason: str | None = None
    improvement: str | None = None
    remarks: str | None = None
    published_text: str | None = None
    published_rate: Published = ""
    published_basis: Annotated[str, _choice(Result.Basis.values, "rate")] = "rate"
    part_published: dict[str, Published] | None = None
    layout: Layout | None = None


class IndicatorEntry(_Section):
    code: Code
    name: str
    evaluation_system: str | None = None
    evaluation_method: str | None = None
    measurement_standard: str | None = None
    target_text: str | None = None
    responsible_unit: Code | None = None
    weight: Figure = Decimal(1)
    # Method and aggregation are checked with the rest of the indicator's shape (engine.shape).
    method: str
    aggregation: str | None = None
    formula: str | None = None
    baseline: Figure = None
    part_rate_cap: Figure = None
    inputs: list[InputEntry] | None = None
    parts: list[PartEntry] | None = None
    results: list[ResultEntry] | None = None


class GoalEntry(_Section):
    code: Code
    title: str
    indicators: list[IndicatorEntry] | None = None


class YearFile(_Section):
    year: Year
    source: str | None = None
    policy: PolicyEntry | None = None
    headcount: list[HeadcountEntry] | None = None
    goals: list[GoalEntry] | None = None


def path(loc) -> str:
    """A pydantic location as the YAML path users read: goals[0].indicators[2].parts."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text
