import re
import uuid
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    DecimalValidator,
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
)
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from budget.models import Agency, Unit
from kpitrack.core.engine.achievement import Method
from kpitrack.core.engine.calendar import FIRST_YEAR, LAST_YEAR
from kpitrack.core.engine.formula import FormulaError, parse
from kpitrack.core.engine.numbers import (
    FIGURE_DECIMAL_PLACES,
    FIGURE_MAX_DIGITS,
    FigureError,
    check_figure,
    parse_figure,
)
from kpitrack.core.versioning import Versioned

from .choices import AggregationChoice, MethodChoice
from .reasons import figure_error_message, formula_error_message

KEY_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
key_validator = RegexValidator(
    KEY_RE, _("代號只能使用小寫英文字母、數字與底線，且不能以數字開頭。"), code="key"
)
year_validators = [MinValueValidator(FIRST_YEAR), MaxValueValidator(LAST_YEAR)]
quarter_validators = [MinValueValidator(1), MaxValueValidator(4)]


def _history() -> HistoricalRecords:
    # A reason or a reviewer's comment is free text; simple-history's default stops at 100.
    return HistoricalRecords(history_change_reason_field=models.TextField(null=True))


def validate_figure(value):
    try:
        check_figure(value)
    except FigureError as exc:
        raise ValidationError(figure_error_message(exc), code=exc.code) from None


class FigureFormField(forms.DecimalField):
    """Reads a figure as people type it (1,234.5) and refuses it with the range it must be in."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The figure check states the allowed range; Django's digit count would only repeat it.
        self.validators = [v for v in self.validators if not isinstance(v, DecimalValidator)]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_figure(value if isinstance(value, Decimal) else str(value))
        except FigureError as exc:
            raise ValidationError(figure_error_message(exc), code=exc.code) from None


class FigureField(models.DecimalField):
    """A recorded figure: at most 15 digits, 4 of them decimals, exact on SQLite too."""

    def __init__(self, *args, **kwargs):
        kwargs["max_digits"] = FIGURE_MAX_DIGITS
        kwargs["decimal_places"] = FIGURE_DECIMAL_PLACES
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        del kwargs["max_digits"], kwargs["decimal_places"]
        return name, path, args, kwargs

    @cached_property
    def validators(self):
        return [*self.default_validators, *self._validators, validate_figure]

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": FigureFormField, **kwargs})


# A published figure is kept exactly as printed ("100.55", "103"): its number of decimals is the
# precision the document claimed, which a fixed-scale DecimalField would erase.
published_validator = RegexValidator(
    r"^-?\d+(\.\d+)?$",
    _("請輸入數字，例如 103 或 100.55（不含百分比符號與千分位逗號）。"),
    code="figure",
)


class StrategicGoal(Versioned):
    """關鍵策略目標 / 年度績效目標 of one agency and year."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("機關"), on_delete=models.CASCADE, related_name="goals"
    )
    year = models.PositiveSmallIntegerField(_("年度（西元）"), validators=year_validators)
    code = models.SlugField(_("代碼"), max_length=50)
    order = models.PositiveIntegerField(_("排序"), default=0)
    title = models.CharField(_("策略目標"), max_length=300)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("策略目標")
        verbose_name_plural = pgettext_lazy("plural", "策略目標")
        ordering = ["agency", "-year", "order"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "year", "code"], name="goal_code_unique")
        ]

    def __str__(self):
        return self.title


class Indicator(Versioned):
    """關鍵績效指標 / 衡量指標: what is measured, how, and how its achievement is computed."""

    MethodChoice = MethodChoice
    AggregationChoice = AggregationChoice

    goal = models.ForeignKey(
        StrategicGoal,
        verbose_name=_("策略目標"),
        on_delete=models.CASCADE,
        related_name="indicators",
    )
    code = models.SlugField(
        _("代碼"), max_length=50, help_text=_("跨年度追蹤同一指標所用的固定代碼。")
    )
    order = models.PositiveIntegerField(_("排序"), default=0)
    name = models.CharField(_("指標名稱"), max_length=300)
    evaluation_system = models.CharField(_("評估體制"), max_length=100, blank=True)
    evaluation_method = models.CharField(_("評估方式"), max_length=200, blank=True)
    measurement_standard = models.TextField(_("衡量標準"), blank=True)
    target_text = models.CharField(_("目標值（文字）"), max_length=300, blank=True)
    responsible_unit = models.ForeignKey(
        Unit,
        verbose_name=_("主辦單位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="indicators",
    )
    weight = models.DecimalField(
        _("權重"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    method = models.CharField(_("計算方式"), max_length=20, choices=MethodChoice)
    aggregation = models.CharField(
        _("季別彙總方式"), max_length=20, choices=AggregationChoice, default="latest"
    )
    formula = models.TextField(
        _("公式"),
        blank=True,
        help_text=_("僅自訂公式使用：可用輸入代號、數字、+ − × ÷、括號與 prev(代號)。"),
    )
    baseline = FigureField(
        _("上年度實績（基準值）"),
        null=True,
        blank=True,
        help_text=_("成長率指標在沒有上年度填報資料時使用。"),
    )
    part_rate_cap = models.DecimalField(
        _("子項目達成率上限（%）"),
        null=True,
        blank=True,
        max_digits=9,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("績效指標")
        verbose_name_plural = pgettext_lazy("plural", "績效指標")
        ordering = ["goal__agency", "-goal__year", "goal__order", "order"]
        constraints = [
            models.UniqueConstraint(fields=["goal", "code"], name="indicator_code_unique")
        ]

    def __str__(self):
        return self.name

    def clean(self):
        # Names are checked by check_formula once the inputs being saved with it are known.
        self.check_formula(None)

    def labels(self, *, inputs_win: bool = False) -> dict[str, str]:
        """Each input's and target part's key -> its label, for the messages and rows that name
        them; needs the inputs and parts prefetched. Where an input and a part share a key the
        part's label names it (a reason speaks of the target), or with `inputs_win` the input's
        (figures are entered against the inputs)."""
        inputs = {i.key: i.label for i in self.inputs.all()}
        parts = {p.key: p.label for p in self.parts.all()}
        return {**parts, **inputs} if inputs_win else {**inputs, **parts}

    def check_formula(self, input_keys: list[str] | None):
        """The formula's syntax, and its names against `input_keys` when given."""
        if self.method != Method.FORMULA:
            return
        if not self.formula.strip():
            raise ValidationError({"formula": _("自訂公式指標必須填寫公式。")}, code="required")
        try:
            parse(self.formula, allowed_names=input_keys)
        except FormulaError as exc:
            raise ValidationError({"formula": formula_error_message(exc)}, code="formula") from exc


class IndicatorInput(models.Model):
    """A raw figure a result records for the indicator's formula (件數, 稽核件數…)."""

    indicator = models.ForeignKey(
        Indicator, verbose_name=_("指標"), on_delete=models.CASCADE, related_name="inputs"
    )
    key = models.CharField(_("代號"), max_length=40, validators=[key_validator])
    label = models.CharField(_("名稱"), max_length=200)
    unit = models.CharField(_("單位"), max_length=20, blank=True)
    order = models.PositiveIntegerField(_("排序"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("填報項目")
        verbose_name_plural = pgettext_lazy("plural", "填報項目")
        ordering = ["indicator", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "key"], name="input_key_unique")
        ]

    def __str__(self):
        return self.label

    def clean(self):
        if self.key == "prev":
            raise ValidationError({"key": _("「prev」為公式保留字，不可作為代號。")}, code="key")


class TargetPart(models.Model):
    """One part of a year's target (12 所 + 20 場次 + 500 人次 is three parts)."""

    indicator = models.ForeignKey(
        Indicator, verbose_name=_("指標"), on_delete=models.CASCADE, related_name="parts"
    )
    key = models.CharField(_("代號"), max_length=40, validators=[key_validator])
    label = models.CharField(_("名稱"), max_length=200)
    value = FigureField(_("目標值"), null=True, blank=True)
    original_value = FigureField(_("原定目標值"), null=True, blank=True)
    revision_reason = models.TextField(_("修正理由"), blank=True)
    unit = models.CharField(_("單位"), max_length=20, blank=True)
    weight = models.DecimalField(
        _("權重（%）"),
        null=True,
        blank=True,
        max_digits=7,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    order = models.PositiveIntegerField(_("排序"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("目標值")
        verbose_name_plural = pgettext_lazy("plural", "目標值")
        ordering = ["indicator", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["indicator", "key"], name="part_key_unique")]

    def __str__(self):
        return self.label

    @property
    def is_revised(self) -> bool:
        return self.original_value is not None and self.value != self.original_value

    def clean(self):
        if self.is_revised and not self.revision_reason.strip():
            raise ValidationError(
                {"revision_reason": _("目標值與原定目標值不同時，必須說明修正理由。")},
                code="reason_required",
            )


class Milestone(models.Model):
    """分季目標 / 預定進度: a target part's planned value through quarter 1, 2 or 3, cumulative,
    set by the planning office. Quarter 4's is the annual target itself (the part's value), so it
    is never stored here; a quarter without a row takes the default the engine derives
    (kpitrack.core.engine.milestones), which is shown as a default and never stored. Written
    only through `performance.services.milestones`."""

    part = models.ForeignKey(
        TargetPart, verbose_name=_("目標值"), on_delete=models.CASCADE, related_name="milestones"
    )
    quarter = models.PositiveSmallIntegerField(
        _("季別"), validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    value = FigureField(_("預定進度"))
    history = _history()

    class Meta:
        verbose_name = _("分季目標")
        verbose_name_plural = pgettext_lazy("plural", "分季目標")
        ordering = ["part", "quarter"]
        constraints = [
            models.UniqueConstraint(fields=["part", "quarter"], name="milestone_quarter_unique"),
            models.CheckConstraint(
                condition=models.Q(quarter__gte=1, quarter__lte=3), name="milestone_quarter_1_3"
            ),
        ]

    def __str__(self):
        return f"{self.part} Q{self.quarter}"


class Transition(NamedTuple):
    """One move of the review workflow (see Result.TRANSITIONS)."""

    sources: tuple[str, ...]
    target: str
    right: str


class Result(Versioned):
    """What an indicator reached through a quarter: raw figures and the narrative reports print."""

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已送出")
        RETURNED = "returned", _("退回")
        FIRST_APPROVED = "first_approved", _("初核通過")
        APPROVED = "approved", _("已核定")
        LOCKED = "locked", _("已鎖定")

    # The review workflow, declared once. Plain data rather than a state-machine library: the
    # services check it again under the result's row lock, and the pages, the workbook and the
    # API read it (through permissions.allowed_actions) to offer only what will be accepted.
    # A unit may still change its figures:
    EDITABLE = (State.DRAFT, State.RETURNED)
    # Waiting for 初核 or 複核: only a reviewer moves it (approves or returns it).
    UNDER_REVIEW = (State.SUBMITTED, State.FIRST_APPROVED)
    # Final: only an administrator's reopening changes it.
    FROZEN = (State.APPROVED, State.LOCKED)
    # action -> the states it starts from, the state it leaves, the right it needs (a `can_*`
    # of performance.permissions, checked on the result's indicator). 初核 of an agency that has
    # switched 複核 off approves for good (APPROVED). Locking a quarter is no action on one
    # result: it freezes every result of the quarter (services.period_lock).
    TRANSITIONS = {
        "submit": Transition(EDITABLE, State.SUBMITTED, "submit"),
        "first_approve": Transition((State.SUBMITTED,), State.FIRST_APPROVED, "first_review"),
        "first_return": Transition((State.SUBMITTED,), State.RETURNED, "first_review"),
        "final_approve": Transition((State.FIRST_APPROVED,), State.APPROVED, "final_review"),
        "final_return": Transition((State.FIRST_APPROVED,), State.RETURNED, "final_review"),
        "reopen": Transition(FROZEN, State.RETURNED, "manage"),
    }

    class Basis(models.TextChoices):
        RATE = "rate", _("達成率")
        VALUE = "value", _("實際值")

    indicator = models.ForeignKey(
        Indicator, verbose_name=_("指標"), on_delete=models.CASCADE, related_name="results"
    )
    quarter = models.PositiveSmallIntegerField(
        _("截至季別"), validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    state = models.CharField(_("狀態"), max_length=20, choices=State, default=State.DRAFT)
    # What a reviewer (or the administrator who reopened it) asked to fix; shown to the unit.
    review_comment = models.TextField(_("審核意見"), blank=True)
    # A locked quarter keeps the state each result had, so reads still know approved figures.
    locked_from = models.CharField(_("鎖定前狀態"), max_length=20, choices=State, blank=True)
    owner_unit = models.ForeignKey(
        Unit,
        verbose_name=_("填報單位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="results",
    )
    progress = models.TextField(_("辦理情形"), blank=True)
    benefit = models.TextField(_("效益"), blank=True)
    shortfall_reason = models.TextField(_("未達成原因"), blank=True)
    improvement = models.TextField(_("改善措施"), blank=True)
    remarks = models.TextField(_("其他說明"), blank=True)
    published_text = models.TextField(_("原發布達成情形"), blank=True)
    published_rate = models.CharField(
        _("原發布數值"), max_length=30, blank=True, validators=[published_validator]
    )
    published_basis = models.CharField(
        _("原發布數值性質"), max_length=10, choices=Basis, default=Basis.RATE
    )
    # A result transcribed from a published document is reprinted as printed there; one entered
    # in kpitrack is worded from its figures. The document's name is what tells the two apart.
    source = models.CharField(
        _("來源文件"),
        max_length=300,
        blank=True,
        help_text=_("轉錄自已發布文件時填寫文件名稱；於本系統填報者留空。"),
    )
    layout = models.JSONField(
        _("原文件版面"),
        default=dict,
        blank=True,
        help_text=_(
            "原文件與標準版面不同處：labels（各段標題）與 target（年度目標值一行的原文）。"
        ),
    )
    updated_at = models.DateTimeField(_("更新時間"), auto_now=True)
    history = _history()

    class Meta:
        verbose_name = _("執行成果")
        verbose_name_plural = pgettext_lazy("plural", "執行成果")
        ordering = ["indicator", "quarter"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "quarter"], name="result_quarter_unique")
        ]

    def __str__(self):
        return f"{self.indicator} Q{self.quarter}"

    @property
    def published_figure(self) -> Decimal | None:
        return Decimal(self.published_rate) if self.published_rate else None

    @property
    def is_transcribed(self) -> bool:
        return bool(self.source)

    def clean(self):
        problems = layout_problems(self.layout)
        if problems:
            raise ValidationError({"layout": problems}, code="layout")


# The sections of a 績效衡量暨達成情形分析 cell whose printed label a document may word its own way:
# 衡量標準, 辦理情形, 年度目標值及達成度 (目標達成值), 年度目標值, 達成度, 效益.
LAYOUT_LABELS = ("standard", "progress", "outcome", "target", "achievement", "benefit")


def layout_problems(layout) -> list[str]:
    if not isinstance(layout, dict):
        return [_("版面必須是對照表。")]
    problems = []
    for key in sorted(set(layout) - {"labels", "target"}):
        problems.append(_("版面沒有「%(key)s」這一項。") % {"key": key})
    labels = layout.get("labels", {})
    if not isinstance(labels, dict):
        problems.append(_("版面的 labels 必須是對照表。"))
        labels = {}
    for key, label in labels.items():
        if key not in LAYOUT_LABELS or not isinstance(label, str):
            problems.append(
                _("段落標題「%(key)s」無效；可用：%(keys)s。")
                % {"key": key, "keys": "、".join(LAYOUT_LABELS)}
            )
    if not isinstance(layout.get("target", ""), str):
        problems.append(_("版面的 target 必須是文字。"))
    return problems


class ResultFigure(models.Model):
    result = models.ForeignKey(
        Result, verbose_name=_("執行成果"), on_delete=models.CASCADE, related_name="figures"
    )
    key = models.CharField(_("代號"), max_length=40, validators=[key_validator])
    value = FigureField(_("數值"), null=True, blank=True)
    published_rate = models.CharField(
        _("原發布子項目達成率"), max_length=30, blank=True, validators=[published_validator]
    )
    history = _history()

    class Meta:
        verbose_name = _("填報數值")
        verbose_name_plural = pgettext_lazy("plural", "填報數值")
        ordering = ["result", "id"]
        constraints = [models.UniqueConstraint(fields=["result", "key"], name="figure_key_unique")]

    def __str__(self):
        return f"{self.key}={self.value}"

    @property
    def published_figure(self) -> Decimal | None:
        return Decimal(self.published_rate) if self.published_rate else None


class Outcome(models.Model):
    """An indicator's computed outcome through a quarter from its approved figures, kept by
    `performance.services.outcomes`, once per (agency, year) when a write that touched it
    commits (kpitrack.core.writes), so dashboards read it instead of evaluating every indicator
    on every request.

    `data` holds the engine's unrounded figures (`performance.outcome_reads` says what is in it);
    rounding and lights follow the agency's policy when read, so a policy change needs no
    refresh and a past year keeps its own policy."""

    indicator = models.ForeignKey(
        Indicator, verbose_name=_("指標"), on_delete=models.CASCADE, related_name="outcomes"
    )
    # The indicator's agency and year, copied so a dashboard reads a year of a whole ministry
    # from one index; `refresh` rewrites them with the outcome.
    agency = models.ForeignKey(
        Agency, verbose_name=_("機關"), on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("年度（西元）"), validators=year_validators)
    through_quarter = models.PositiveSmallIntegerField(
        _("截至季別"), validators=[MinValueValidator(1), MaxValueValidator(4)]
    )
    entered = models.BooleanField(_("本季已有核定資料"), default=False)
    # The light, the rounded rate and the projection's light under the policy in force, so a
    # ministry's lights are counted and ordered in the database; `data` keeps the figures.
    status = models.CharField(_("燈號"), max_length=10, default="white")
    rate = models.DecimalField(_("達成率"), max_digits=30, decimal_places=6, null=True)
    projected_status = models.CharField(_("全年預估燈號"), max_length=10, blank=True)
    # The quarter's 達成進度 (rounded): against its milestones through Q1-Q3, the annual rate at
    # Q4. `status` is its light; `rate` stays the annual achievement rate shown beside it.
    progress = models.DecimalField(_("達成進度"), max_digits=30, decimal_places=6, null=True)
    data = models.JSONField(_("計算結果"))

    class Meta:
        verbose_name = _("計算結果")
        verbose_name_plural = pgettext_lazy("plural", "計算結果")
        ordering = ["indicator", "through_quarter"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "through_quarter"], name="outcome_quarter_unique"
            )
        ]
        indexes = [
            # A quarter of an agency's (or a ministry's) outcomes, with the columns the
            # overview counts, weighs and orders by: on PostgreSQL read from the index alone
            # (once vacuumed) instead of from heap pages spread over the whole table (issue 16).
            models.Index(
                fields=["agency", "year", "through_quarter"],
                include=["status", "projected_status", "progress", "rate", "indicator"],
                name="outcome_quarter_covering",
            ),
            # The latest quarter with approved data, one index lookup per agency.
            models.Index(fields=["agency", "entered", "year", "through_quarter"]),
        ]

    def __str__(self):
        return f"{self.indicator} Q{self.through_quarter}"


class AgencyOutcomesVersion(models.Model):
    """An agency's stored outcomes' version: a token that changes, in the same transaction,
    whenever its stored outcomes are refreshed (`performance.services.outcomes.refresh`), or
    anything else its dashboards show changes (a unit renamed, a quarter first entered). What a
    cache of its pages and figures is keyed by (a ministry's: its own and its agencies'), so
    nothing cached is served after what it shows changed, and a save in one agency leaves
    every other agency's cache alone (issue 16: one token for all was changed every few
    seconds under load). It lives in the database, not in a process, so every app server sees
    a refresh made by another; a random token (not a counter) so a rolled-back refresh cannot
    reuse a token seen by readers. An agency without a row (made since, by bulk) has a version
    that does not change: its first refresh or change makes the row."""

    agency = models.OneToOneField(
        Agency,
        verbose_name=_("機關"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="outcomes_version",
    )
    token = models.CharField(_("版本"), max_length=32)

    class Meta:
        verbose_name = _("計算結果版本")
        verbose_name_plural = pgettext_lazy("plural", "計算結果版本")

    def __str__(self):
        return self.token


# --- the quarterly workflow: periods, exceptions, evidence, reminders -------------------------


class ReportingPeriod(Versioned):
    """An agency's entry window and review deadlines for one quarter of one year."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("機關"), on_delete=models.CASCADE, related_name="periods"
    )
    year = models.PositiveSmallIntegerField(_("年度（西元）"), validators=year_validators)
    quarter = models.PositiveSmallIntegerField(_("季別"), validators=quarter_validators)
    opens_on = models.DateField(_("填報開始日"))
    closes_on = models.DateField(_("填報截止日"))
    first_review_due = models.DateField(_("初核期限"))
    final_review_due = models.DateField(_("複核期限"))
    locked = models.BooleanField(_("已鎖定"), default=False)
    history = _history()

    class Meta:
        verbose_name = _("填報期間")
        verbose_name_plural = pgettext_lazy("plural", "填報期間")
        ordering = ["agency", "-year", "quarter"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "year", "quarter"], name="period_unique_per_quarter"
            )
        ]

    def __str__(self):
        return f"{self.agency} {self.year} Q{self.quarter}"

    def clean(self):
        dates = [self.opens_on, self.closes_on, self.first_review_due, self.final_review_due]
        if None in dates:
            return
        if self.closes_on < self.opens_on:
            raise ValidationError({"closes_on": _("填報截止日不可早於填報開始日。")}, code="order")
        if self.first_review_due < self.closes_on:
            raise ValidationError(
                {"first_review_due": _("初核期限不可早於填報截止日。")}, code="order"
            )
        if self.final_review_due < self.first_review_due:
            raise ValidationError(
                {"final_review_due": _("複核期限不可早於初核期限。")}, code="order"
            )


class EntryException(models.Model):
    """An administrator lets one unit enter one quarter after its window, until a date."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("機關"), on_delete=models.CASCADE, related_name="entry_exceptions"
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("單位"), on_delete=models.CASCADE, related_name="entry_exceptions"
    )
    year = models.PositiveSmallIntegerField(_("年度（西元）"), validators=year_validators)
    quarter = models.PositiveSmallIntegerField(_("季別"), validators=quarter_validators)
    until = models.DateField(_("開放至"))
    reason = models.TextField(_("理由"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核准人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    granted_at = models.DateTimeField(_("核准時間"), auto_now_add=True)
    history = _history()

    class Meta:
        verbose_name = _("逾期填報例外")
        verbose_name_plural = pgettext_lazy("plural", "逾期填報例外")
        ordering = ["agency", "-year", "quarter", "unit"]

    def __str__(self):
        return f"{self.unit} {self.year} Q{self.quarter} → {self.until}"

    def clean(self):
        if self.unit_id and self.agency_id and self.unit.agency_id != self.agency_id:
            raise ValidationError({"unit": _("單位必須屬於同一機關。")}, code="agency")
        if not self.reason.strip():
            raise ValidationError({"reason": _("請說明開放逾期填報的理由。")}, code="required")


def evidence_path(evidence: "Evidence", filename: str) -> str:
    # Never the uploader's file name: it may hold anything; the name people gave is kept aside.
    suffix = Path(filename).suffix.lower()[:10]
    return f"evidence/{evidence.result_id}/{uuid.uuid4().hex}{suffix}"


class Evidence(models.Model):
    """A supporting file (有案可稽) attached to a result; served only through a permission check."""

    result = models.ForeignKey(
        Result, verbose_name=_("執行成果"), on_delete=models.CASCADE, related_name="evidence"
    )
    file = models.FileField(_("檔案"), upload_to=evidence_path, max_length=200)
    original_name = models.CharField(_("原始檔名"), max_length=255)
    content_type = models.CharField(_("檔案類型"), max_length=100)
    size = models.PositiveBigIntegerField(_("大小（位元組）"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上傳者"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("上傳時間"), auto_now_add=True)
    history = _history()

    class Meta:
        verbose_name = _("佐證資料")
        verbose_name_plural = pgettext_lazy("plural", "佐證資料")
        ordering = ["result", "uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class Notification(models.Model):
    """One event told to one person: in the inbox (read_at) and, where the person has an
    address, by e-mail (emailed_at). The unique key (recipient, kind, event) makes "each once"
    hold in the database, whichever app server or command run writes it: `event` names the
    occurrence (a result's transition by the version it claimed, a period's deadline, a day's
    reminder of one unit). Its text is worded when shown, from `params`, in the reader's
    language (performance.services.notifications)."""

    class Kind(models.TextChoices):
        RETURNED = "returned", _("退回修正")
        SUBMITTED = "submitted", _("送出待初核")
        FIRST_APPROVED = "first_approved", _("初核通過")
        APPROVED = "approved", _("已核定")
        REOPENED = "reopened", _("重新開放")
        ENTRY_DUE_SOON = "entry_due_soon", _("填報即將截止")
        ENTRY_OVERDUE = "entry_overdue", _("填報已逾期")
        FIRST_REVIEW_WAITING = "first_review_waiting", _("待初核")
        FINAL_REVIEW_WAITING = "final_review_waiting", _("待複核")
        REMINDER = "reminder", _("填報提醒")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("收件人"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("通知類型"), max_length=30, choices=Kind)
    event = models.CharField(_("事件"), max_length=80)
    result = models.ForeignKey(
        Result, verbose_name=_("執行成果"), null=True, blank=True, on_delete=models.CASCADE
    )
    period = models.ForeignKey(
        ReportingPeriod,
        verbose_name=_("填報期間"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("單位"), null=True, blank=True, on_delete=models.CASCADE
    )
    params = models.JSONField(_("內容參數"), default=dict, blank=True)
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)
    read_at = models.DateTimeField(_("已讀時間"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("寄送時間"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = pgettext_lazy("plural", "通知")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "kind", "event"], name="notification_once")
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            models.Index(fields=["kind", "event"], name="notification_event"),
        ]

    def __str__(self):
        return f"{self.recipient} {self.kind} {self.event}"
