from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from kpitrack.core.engine.achievement import DEFAULT_POLICY, Policy, Rounding
from kpitrack.core.engine.calendar import FIRST_YEAR, LAST_YEAR
from kpitrack.core.versioning import Versioned

# The engine rounds to any precision; more than six places is never printed and is a typing error.
MAX_RATE_DECIMALS = 6
# A window or a review level longer than a year would overlap the next year's same quarter.
MAX_PERIOD_DAYS = 366


def _history() -> HistoricalRecords:
    # A reason is free text; simple-history's default column stops at 100 characters.
    return HistoricalRecords(history_change_reason_field=models.TextField(null=True))


class Agency(Versioned):
    """An agency (機關), e.g. 入出國及移民署 under 內政部."""

    code = models.SlugField(_("代碼"), max_length=50, unique=True)
    name = models.CharField(_("名稱"), max_length=100)
    name_en = models.CharField(_("英文名稱"), max_length=200, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上級機關"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    duties = models.TextField(_("機關主要職掌"), blank=True)
    organisation_intro = models.TextField(_("內部分層業務說明"), blank=True)
    leadership = models.TextField(_("首長及幕僚長"), blank=True)
    second_review = models.BooleanField(
        _("需要複核"), default=True, help_text=_("關閉時，初核通過即為核定。")
    )
    separate_review_duties = models.BooleanField(
        _("職務分離"),
        default=True,
        help_text=_(
            "開啟時，送出成果或給予初核的人不能再複核同一成果；系統管理者仍可複核，但會記錄於歷程。"
        ),
    )
    entry_window_days = models.PositiveSmallIntegerField(
        _("填報期間（日）"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_PERIOD_DAYS)],
        help_text=_("每季結束後開放填報的日數。"),
    )
    review_days = models.PositiveSmallIntegerField(
        _("每層審核期限（日）"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_PERIOD_DAYS)],
        help_text=_("填報截止後，初核與複核各自的期限日數。"),
    )

    history = _history()

    class Meta:
        verbose_name = _("機關")
        verbose_name_plural = pgettext_lazy("plural", "機關")
        ordering = ["code"]

    def __str__(self):
        return self.name

    def clean(self):
        seen = set()
        ancestor = self.parent
        while ancestor is not None:
            if (self.pk is not None and ancestor.pk == self.pk) or ancestor.pk in seen:
                raise ValidationError({"parent": _("上級機關不可形成循環。")}, code="cycle")
            seen.add(ancestor.pk)
            ancestor = ancestor.parent


class Unit(Versioned):
    """An internal unit (內部單位: 組、室、大隊…) of an agency."""

    class Kind(models.TextChoices):
        DIVISION = "division", _("組")
        OFFICE = "office", _("室")
        CORPS = "corps", _("大隊")
        CENTRE = "centre", _("中心")
        OTHER = "other", _("其他")

    agency = models.ForeignKey(
        Agency, verbose_name=_("機關"), on_delete=models.CASCADE, related_name="units"
    )
    code = models.SlugField(_("代碼"), max_length=50)
    name = models.CharField(_("名稱"), max_length=100)
    kind = models.CharField(_("類別"), max_length=20, choices=Kind, default=Kind.DIVISION)
    duties = models.TextField(_("業務職掌"), blank=True)
    order = models.PositiveIntegerField(_("排序"), default=0)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上級單位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    history = _history()

    class Meta:
        verbose_name = _("內部單位")
        verbose_name_plural = pgettext_lazy("plural", "內部單位")
        ordering = ["agency", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "code"], name="unit_code_unique_per_agency")
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.parent_id is None:
            return
        if self.parent.agency_id != self.agency_id:
            raise ValidationError({"parent": _("上級單位必須屬於同一機關。")}, code="agency")
        seen = set()
        ancestor = self.parent
        while ancestor is not None:
            if (self.pk is not None and ancestor.pk == self.pk) or ancestor.pk in seen:
                raise ValidationError({"parent": _("上級單位不可形成循環。")}, code="cycle")
            seen.add(ancestor.pk)
            ancestor = ancestor.parent


class AnnualPolicy(Versioned):
    """施政目標與重點 of one agency and fiscal year."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("機關"), on_delete=models.CASCADE, related_name="policies"
    )
    year = models.PositiveSmallIntegerField(
        _("年度（西元）"), validators=[MinValueValidator(FIRST_YEAR), MaxValueValidator(LAST_YEAR)]
    )
    intro = models.TextField(_("前言"), blank=True)

    history = _history()

    class Meta:
        verbose_name = _("年度施政目標與重點")
        verbose_name_plural = pgettext_lazy("plural", "年度施政目標與重點")
        ordering = ["agency", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "year"], name="policy_unique_per_year")
        ]

    def __str__(self):
        return f"{self.agency} {self.year}"


class PolicyGoal(models.Model):
    policy = models.ForeignKey(
        AnnualPolicy, verbose_name=_("年度施政"), on_delete=models.CASCADE, related_name="goals"
    )
    order = models.PositiveIntegerField(_("排序"))
    title = models.CharField(_("施政目標"), max_length=200)
    body = models.TextField(_("說明"), blank=True)

    history = _history()

    class Meta:
        verbose_name = _("年度施政目標")
        verbose_name_plural = pgettext_lazy("plural", "年度施政目標")
        ordering = ["policy", "order"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "order"], name="policy_goal_order_unique")
        ]

    def __str__(self):
        return self.title


class PolicyGoalItem(models.Model):
    goal = models.ForeignKey(
        PolicyGoal, verbose_name=_("施政目標"), on_delete=models.CASCADE, related_name="items"
    )
    order = models.PositiveIntegerField(_("排序"))
    text = models.TextField(_("重點"))

    history = _history()

    class Meta:
        verbose_name = _("施政重點")
        verbose_name_plural = pgettext_lazy("plural", "施政重點")
        ordering = ["goal", "order"]
        constraints = [
            models.UniqueConstraint(fields=["goal", "order"], name="policy_item_order_unique")
        ]

    def __str__(self):
        return self.text[:40]


class HeadcountBudget(Versioned):
    """預算員額 of one work programme (業務計畫) in one fiscal year; totals are derived."""

    agency = models.ForeignKey(
        Agency, verbose_name=_("機關"), on_delete=models.CASCADE, related_name="headcounts"
    )
    year = models.PositiveSmallIntegerField(
        _("年度（西元）"), validators=[MinValueValidator(FIRST_YEAR), MaxValueValidator(LAST_YEAR)]
    )
    programme = models.CharField(_("業務計畫"), max_length=100)
    order = models.PositiveIntegerField(_("排序"), default=0)
    explanation = models.TextField(_("增減說明"), blank=True)

    history = _history()

    class Meta:
        verbose_name = _("預算員額")
        verbose_name_plural = pgettext_lazy("plural", "預算員額")
        ordering = ["agency", "-year", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "year", "programme"], name="headcount_programme_unique"
            )
        ]

    def __str__(self):
        return f"{self.agency} {self.year} {self.programme}"


class HeadcountLine(models.Model):
    class Category(models.TextChoices):
        STAFF = "staff", _("職員")
        POLICE = "police", _("警員")
        TECHNICIAN = "technician", _("技工")
        WORKER = "worker", _("工友")
        CONTRACT = "contract", _("聘用")
        TEMPORARY = "temporary", _("約僱")

    budget = models.ForeignKey(
        HeadcountBudget, verbose_name=_("預算員額"), on_delete=models.CASCADE, related_name="lines"
    )
    category = models.CharField(_("類別"), max_length=20, choices=Category)
    previous = models.PositiveIntegerField(_("上年度編列數"))
    change = models.IntegerField(_("本年度增（減）"))

    history = _history()

    class Meta:
        verbose_name = _("預算員額明細")
        verbose_name_plural = pgettext_lazy("plural", "預算員額明細")
        constraints = [
            models.UniqueConstraint(fields=["budget", "category"], name="headcount_line_unique")
        ]

    def __str__(self):
        return f"{self.budget} {self.get_category_display()}"

    @property
    def current(self) -> int:
        return self.previous + self.change

    def clean(self):
        if self.previous is not None and self.change is not None and self.current < 0:
            raise ValidationError(
                {"change": _("減少人數不可超過上年度編列數。")}, code="negative_total"
            )


class AchievementPolicy(Versioned):
    """How an agency rounded rates and painted lights in one year, and every later year until
    the next row: a past year's report then reproduces what was printed for it."""

    class RoundingMode(models.TextChoices):
        HALF_UP = Rounding.HALF_UP.value, _("四捨五入")
        DOWN = Rounding.DOWN.value, _("無條件捨去")

    agency = models.ForeignKey(
        Agency,
        verbose_name=_("機關"),
        on_delete=models.CASCADE,
        related_name="achievement_policies",
    )
    year = models.PositiveSmallIntegerField(
        _("年度（西元）"),
        validators=[MinValueValidator(FIRST_YEAR), MaxValueValidator(LAST_YEAR)],
        help_text=_("自此年度起適用，直到下一個有設定的年度。"),
    )
    rate_decimals = models.PositiveSmallIntegerField(
        _("達成率小數位數"),
        default=DEFAULT_POLICY.decimals,
        validators=[MaxValueValidator(MAX_RATE_DECIMALS)],
    )
    rounding = models.CharField(
        _("進位方式"),
        max_length=10,
        choices=RoundingMode,
        default=DEFAULT_POLICY.rounding.value,
    )
    green_threshold = models.DecimalField(
        _("綠燈門檻（%）"),
        max_digits=7,
        decimal_places=2,
        default=DEFAULT_POLICY.green,
        validators=[MinValueValidator(Decimal("0"))],
    )
    yellow_threshold = models.DecimalField(
        _("黃燈門檻（%）"),
        max_digits=7,
        decimal_places=2,
        default=DEFAULT_POLICY.yellow,
        validators=[MinValueValidator(Decimal("0"))],
    )
    uses_lights = models.BooleanField(_("使用燈號"), default=True)
    history = _history()

    class Meta:
        verbose_name = _("達成度計算方式")
        verbose_name_plural = pgettext_lazy("plural", "達成度計算方式")
        ordering = ["agency", "year"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "year"], name="achievement_policy_unique_per_year"
            )
        ]

    def __str__(self):
        return f"{self.agency} {self.year}"

    def clean(self):
        if (
            self.yellow_threshold is not None
            and self.green_threshold is not None
            and self.yellow_threshold > self.green_threshold
        ):
            raise ValidationError(
                {"yellow_threshold": _("黃燈門檻不可高於綠燈門檻。")}, code="thresholds"
            )

    @property
    def engine_policy(self) -> Policy:
        return Policy(
            decimals=self.rate_decimals,
            rounding=Rounding(self.rounding),
            green=self.green_threshold,
            yellow=self.yellow_threshold,
        )


class Membership(Versioned):
    """A user's role in an agency, or in one of its units for the roles that enter figures."""

    class Role(models.TextChoices):
        STAFF = "staff", _("填報人")
        HEAD = "head", _("單位主管")
        PLANNER = "planner", _("初核")
        DIRECTOR = "director", _("複核")
        VIEWER = "viewer", _("檢視")
        ADMIN = "admin", _("管理者")

    UNIT_ROLES = frozenset({Role.STAFF, Role.HEAD})

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("使用者"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    agency = models.ForeignKey(
        Agency, verbose_name=_("機關"), on_delete=models.CASCADE, related_name="memberships"
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("單位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
        help_text=_("填報人與單位主管屬於一個單位；其他角色適用整個機關，不填單位。"),
    )
    role = models.CharField(_("角色"), max_length=20, choices=Role)

    history = _history()

    class Meta:
        verbose_name = _("成員角色")
        verbose_name_plural = pgettext_lazy("plural", "成員角色")
        ordering = ["agency", "unit", "role", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "agency", "role"],
                condition=models.Q(unit__isnull=True),
                name="membership_unique_agency_role",
                violation_error_message=_("這位使用者在此已有同一角色。"),
            ),
            models.UniqueConstraint(
                fields=["user", "unit", "role"],
                condition=models.Q(unit__isnull=False),
                name="membership_unique_unit_role",
                violation_error_message=_("這位使用者在此已有同一角色。"),
            ),
        ]

    def __str__(self):
        where = self.unit.name if self.unit_id else self.agency.name
        return f"{self.user} · {where} · {self.get_role_display()}"

    def clean(self):
        if self.role in self.UNIT_ROLES and self.unit_id is None:
            raise ValidationError(
                {"unit": _("「%(role)s」必須屬於一個單位。") % {"role": self.get_role_display()}},
                code="unit_required",
            )
        if self.role not in self.UNIT_ROLES and self.unit_id is not None:
            raise ValidationError(
                {
                    "unit": _("「%(role)s」適用整個機關，不可指定單位。")
                    % {"role": self.get_role_display()}
                },
                code="unit_not_allowed",
            )
        if self.unit_id is not None and self.agency_id is not None:
            if self.unit.agency_id != self.agency_id:
                raise ValidationError({"unit": _("單位必須屬於同一機關。")}, code="agency")
