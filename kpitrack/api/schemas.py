"""The API's request and response schemas: what the OpenAPI document describes, and what every
answer is checked against before it leaves (an answer with a key the schema does not name is a
bug, answered 500, so the document cannot drift from the answers).

Decimals travel as exact strings (`kpitrack.core.formatting.exact`/`plain`) so no client turns
them into floats. Query parameters are declared as text here and read by the same forms as the
pages, so a bad value gets the pages' message.
"""

from typing import Annotated

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr

# Messages may be lazy translations; they leave as plain text in the request's language.
Text = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, Promise) else v)]
Decimal = Annotated[str | None, Field(description="a decimal as an exact string, or null")]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Errors -----------------------------------------------------------------------------------------


class Error(Answer):
    error: Text = Field(description="what went wrong, in the request's language")


class FieldErrors(Error):
    errors: dict[str, list[Text]] = Field(
        description="messages per field: `figures.<key>`, `narrative.<name>`, `agency`, …"
    )


class ConflictError(Error):
    current: "ResultOut | None" = Field(None, description="the result as it is now")


# Achievements -----------------------------------------------------------------------------------


class PartOut(Answer):
    key: str
    label: Text
    unit: Text
    target: Decimal
    value: Decimal
    achievement_rate: Decimal
    published_rate: Decimal
    mismatch: bool | None
    reason: Text | None


class AchievementOut(Answer):
    agency: str
    code: str
    goal: Text
    indicator: Text
    unit: Text | None = Field(description="the responsible unit's name")
    method: str
    target: Decimal = Field(description="the single target, null for several parts")
    target_text: Text
    value: Decimal
    value_text: Text | None = Field(
        description="the value as it reads: 達成 / 未達成 for a rating, an ordinal code's words"
        " from its 衡量標準, else the figure; null when value is"
    )
    achievement_rate: Decimal
    status: str = Field(description="green, yellow, red or white (not evaluated)")
    status_label: Text
    reason: Text | None = Field(description="why value or rate is null")
    published_rate: Decimal
    published_basis: str | None
    mismatch: bool | None
    parts: list[PartOut]


class AchievementsOut(Answer):
    year: int
    roc_year: int
    through_quarter: int
    results: list[AchievementOut]


class AchievementsQuery(BaseModel):
    year: str = Field(description="Gregorian year, 1912–2200")
    quarter: str | None = Field(None, description="quarter-to-date, 1–4 (default 4)")
    agency: str | None = Field(None, description="an agency code")


# Results ----------------------------------------------------------------------------------------


class InputOut(Answer):
    key: str
    label: Text
    unit: Text
    role: str
    target: Decimal
    weight: Decimal


class ResultOut(Answer):
    agency: str
    indicator: str
    name: Text
    unit: str | None = Field(description="the responsible unit's code")
    unit_name: Text | None
    year: int
    quarter: int
    method: str
    inputs: list[InputOut] = Field(description="the figures the indicator's method needs")
    state: str | None = Field(description="null when nothing is entered yet")
    state_label: Text
    version: int | None = Field(description="send it back with the next save")
    figures: dict[str, Decimal]
    narrative: dict[str, Text]
    review_comment: Text
    value: Decimal
    achievement_rate: Decimal
    status: str
    status_label: Text
    reason: Text | None


class ResultsOut(Answer):
    year: int
    roc_year: int
    quarter: int
    results: list[ResultOut]


class ResultsQuery(BaseModel):
    year: str = Field(description="Gregorian year, 1912–2200")
    quarter: str | None = Field(None, description="1–4 (default 4)")
    agency: str | None = Field(None, description="an agency code")
    unit: str | None = Field(None, description="a unit code: only its indicators")


class ResultIn(BaseModel):
    """A draft to save. Only the figures and narrative fields sent change; the others keep what
    is stored."""

    agency: str = Field(min_length=1, description="the agency's code")
    indicator: str = Field(description="the indicator's code")
    year: int = Field(description="Gregorian year")
    quarter: int = Field(ge=1, le=4)
    figures: dict[str, StrictStr | None] | None = Field(
        None, description='by input key, decimals as strings ("1234.5"); null clears'
    )
    narrative: dict[str, StrictStr | int | float | None] | None = Field(
        None, description="progress, benefit, shortfall_reason, improvement, remarks"
    )
    version: int | None = Field(
        None, description="the version loaded; null for a result not saved before"
    )


# Messages for a body that does not fit ResultIn, by field (`*` is any key of a mapping), and by
# pydantic's error type where one field has two cases. kpitrack.api.main reads them.
BODY_MESSAGES = {
    ("agency",): _("請指定機關代碼（agency）。"),
    ("indicator",): _("請指定指標代碼（indicator）。"),
    ("year",): {
        "missing": _("請指定年度（西元年，例如 2013）。"),
        "*": _("年度必須是西元年的數字，例如 2013。"),
    },
    ("quarter",): _("請指定季別（quarter，1 到 4）。"),
    ("figures",): _("figures 必須是以填報項目代號為鍵的物件。"),
    ("figures", "*"): _('數值請以字串傳送，例如 "1234.5"。'),
    ("narrative",): _("narrative 必須是物件。"),
    ("narrative", "*"): _("說明欄位請以文字傳送。"),
    ("version",): _("version 必須是整數（載入時的版本；新填報請傳 null）。"),
}


# Dashboards -------------------------------------------------------------------------------------


class ProjectedPart(Answer):
    key: str
    value: Decimal
    achievement_rate: Decimal


class ProjectionOut(Answer):
    value: Decimal
    achievement_rate: Decimal
    status: str
    parts: list[ProjectedPart]


class MilestoneOut(Answer):
    key: str
    label: Text
    target: Decimal
    milestone: Decimal
    default: bool = Field(description="true: the default (not set by the planning office)")
    value: Decimal
    progress: Decimal


class JudgementOut(Answer):
    quarter: int
    basis: str = Field(description="`milestone` (quarters 1-3) or `annual` (quarter 4)")
    progress: Decimal = Field(description="達成進度: value ÷ milestone × 100, rounded")
    status: str = Field(description="the quarter's light, of `progress`; the dashboards count it")
    status_label: Text
    pace: str = Field(description="`ahead`, `on`, `behind` or `unknown`")
    text: Text
    milestones: list[MilestoneOut]


class RowOut(AchievementOut):
    year: int
    state: str | None
    projection: ProjectionOut | None = Field(
        description="year-end figures projected from the quarters so far (never an actual)"
    )
    attention: list[str]
    judgement: JudgementOut = Field(
        description="the quarter judged against its milestone (分季目標); `status` above stays "
        "the annual achievement rate's light"
    )


class GoalOut(Answer):
    agency: str
    id: int
    title: Text
    achievement_rate: Decimal
    status: str
    status_label: Text
    evaluated: int
    indicators: int
    counts: dict[str, int]


class AgencyStandingOut(Answer):
    agency: str
    name: Text
    indicators: int
    counts: dict[str, int]
    goals: int
    green_goals: int


class OverviewOut(Answer):
    """Without any approved data (`year` null) only the period and empty lists are sent."""

    agency: str
    agencies: list[str]
    unit: str | None
    year: int | None
    roc_year: int | None
    through_quarter: int | None
    notice: Text | None
    indicators: int | None = None
    counts: dict[str, int] | None
    projected: int | None = None
    goals: list[GoalOut]
    attention_total: int | None = None
    attention: list[RowOut]
    by_agency: list[AgencyStandingOut]


class IndicatorsOut(Answer):
    """Without any approved data only `year` (null), `count` (0) and `results` ([])."""

    agency: str | None = None
    year: int | None
    roc_year: int | None = None
    through_quarter: int | None = None
    notice: Text | None = None
    count: int
    page: int | None = None
    pages: int | None = None
    page_size: int | None = None
    results: list[RowOut]


class DashboardQuery(BaseModel):
    year: str | None = Field(None, description="Gregorian year (default: latest with data)")
    quarter: str | None = Field(None, description="quarter-to-date, 1–4")


class IndicatorsQuery(DashboardQuery):
    in_agency: str | None = Field(None, description="a ministry's: one agency's code")
    unit: str | None = Field(None, description="a unit's id")
    goal: str | None = Field(None, description="a goal's id")
    light: str | None = Field(None, description="green, yellow, red or white")
    state: str | None = Field(None, description="a result state, or none")
    page: str | None = Field(None, description="from 1")
    page_size: str | None = Field(None, description="1–200, default 50")


class IndicatorQuery(BaseModel):
    year: str | None = Field(None, description="Gregorian year (default: the latest)")


class PointOut(Answer):
    year: int
    roc_year: int
    through_quarter: int
    value: Decimal
    achievement_rate: Decimal
    status: str


class TargetOut(Answer):
    key: str
    label: Text
    unit: Text
    target: Decimal
    original_target: Decimal
    revised: bool
    revision_reason: Text | None


class NarrativeOut(Answer):
    through_quarter: int
    progress: Text
    benefit: Text
    shortfall_reason: Text
    improvement: Text
    remarks: Text


class HistoryOut(Answer):
    when: str
    who: Text
    what: Text
    old: Text | None
    new: Text | None
    why: Text | None


class IndicatorOut(Answer):
    agency: str
    code: str
    year: int
    roc_year: int
    goal: Text
    indicator: Text
    unit: Text | None
    method: str
    aggregation: str
    weight: Decimal
    evaluation_system: Text
    evaluation_method: Text
    measurement_standard: Text
    target_text: Text
    targets: list[TargetOut]
    quarterly: list[PointOut]
    projection: ProjectionOut | None
    trend: list[PointOut]
    narrative: NarrativeOut | None
    history: list[HistoryOut] = Field(description="newest first")


ConflictError.model_rebuild()

# The error answers every endpoint may give, for the document (errors are answered by
# kpitrack.api.main's handlers, not checked against these).
ERRORS = {
    400: FieldErrors | Error,
    401: Error,
    403: Error,
    404: Error,
    500: Error,
}
