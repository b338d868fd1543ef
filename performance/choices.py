"""The indicator's method and aggregation choices, below the models: the wording of the engine's
problems (reasons.py) names a method by its label, and the models import that wording."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from kpitrack.core.engine.achievement import Aggregation, Method


class MethodChoice(models.TextChoices):
    COUNT = Method.COUNT.value, _("數量（越高越好）")
    LOWER = Method.LOWER.value, _("數量（越低越好）")
    RATIO = Method.RATIO.value, _("比率（分子÷分母）")
    GROWTH = Method.GROWTH.value, _("較上年度成長率")
    WEIGHTED = Method.WEIGHTED.value, _("加權子項目")
    MULTI = Method.MULTI.value, _("多項目標同時達成")
    ORDINAL = Method.ORDINAL.value, _("等第代碼")
    RATING = Method.RATING.value, _("外部評等（達成／未達成）")
    FORMULA = Method.FORMULA.value, _("自訂公式")


class AggregationChoice(models.TextChoices):
    LATEST = Aggregation.LATEST.value, _("最新累計數")
    SUM = Aggregation.SUM.value, _("各季加總")
    AVERAGE = Aggregation.AVERAGE.value, _("各季平均")
