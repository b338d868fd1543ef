from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kpitrack.admin_audit import (
    AuditedAdminMixin,
    ReasonForm,
    ReasonInlineFormSet,
    VersionedForm,
)
from kpitrack.engine.achievement import Method
from kpitrack.engine.formula import FormulaError, parse
from kpitrack.formatting import roc_year

from .models import (
    Change,
    Indicator,
    IndicatorInput,
    Result,
    ResultFigure,
    StrategicGoal,
    TargetPart,
)
from .reasons import formula_error_message


class YearDisplayMixin:
    @admin.display(description=_("年度"), ordering="year")
    def roc(self, obj):
        return roc_year(obj.year)


class IndicatorInline(admin.TabularInline):
    model = Indicator
    fields = ["order", "code", "name", "method", "target_text"]
    extra = 0
    show_change_link = True


@admin.register(StrategicGoal)
class StrategicGoalAdmin(YearDisplayMixin, admin.ModelAdmin):
    list_display = ["title", "roc", "agency", "order", "code"]
    list_filter = ["agency", "year"]
    search_fields = ["title", "code"]
    list_select_related = ["agency"]
    inlines = [IndicatorInline]


class InputFormSet(ReasonInlineFormSet):
    """A formula is checked against the input codes being saved with it."""

    def clean(self):
        super().clean()
        indicator = self.instance
        if indicator.method != Method.FORMULA or not indicator.formula.strip():
            return
        keys = [
            f.cleaned_data["key"]
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("key")
        ]
        try:
            parse(indicator.formula, allowed_names=keys)
        except FormulaError as exc:
            raise ValidationError(formula_error_message(exc), code="formula") from exc


class IndicatorInputInline(admin.TabularInline):
    model = IndicatorInput
    formset = InputFormSet
    fields = ["order", "key", "label", "unit"]
    extra = 0


class TargetPartInline(admin.TabularInline):
    model = TargetPart
    formset = ReasonInlineFormSet
    fields = [
        "order",
        "key",
        "label",
        "value",
        "unit",
        "weight",
        "original_value",
        "revision_reason",
    ]
    extra = 0


class IndicatorForm(ReasonForm):
    class Meta:
        model = Indicator
        fields = "__all__"


@admin.register(Indicator)
class IndicatorAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = IndicatorForm
    list_display = ["name", "code", "year", "method", "target_text", "responsible_unit"]
    list_filter = ["goal__agency", "goal__year", "method", "responsible_unit"]
    search_fields = ["name", "code", "measurement_standard"]
    list_select_related = ["goal", "goal__agency", "responsible_unit"]
    autocomplete_fields = ["goal"]
    inlines = [IndicatorInputInline, TargetPartInline]
    audited_inline_fields = {"TargetPart": ("value", "original_value", "weight")}

    @admin.display(description=_("年度"), ordering="goal__year")
    def year(self, obj):
        return roc_year(obj.goal.year)


class ResultFigureInline(admin.TabularInline):
    model = ResultFigure
    formset = ReasonInlineFormSet
    fields = ["key", "value", "published_rate"]
    extra = 0


class ResultForm(VersionedForm):
    class Meta:
        model = Result
        exclude = ["version", "updated_by"]


@admin.register(Result)
class ResultAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = ResultForm
    list_display = [
        "indicator",
        "year",
        "quarter",
        "state",
        "owner_unit",
        "published_rate",
        "updated_at",
    ]
    list_filter = ["indicator__goal__agency", "indicator__goal__year", "quarter", "state"]
    search_fields = ["indicator__name", "indicator__code", "progress", "benefit"]
    list_select_related = ["indicator", "indicator__goal", "owner_unit"]
    readonly_fields = ["version", "updated_at", "updated_by"]
    autocomplete_fields = ["indicator"]
    inlines = [ResultFigureInline]
    audited_inline_fields = {"ResultFigure": ("value", "published_rate")}

    @admin.display(description=_("年度"), ordering="indicator__goal__year")
    def year(self, obj):
        return roc_year(obj.indicator.goal.year)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        if change:
            obj.version = form.cleaned_data["version_seen"] + 1
        super().save_model(request, obj, form, change)


@admin.register(Change)
class ChangeAdmin(admin.ModelAdmin):
    list_display = ["at", "user", "content_type", "object_id", "field", "old", "new", "reason"]
    list_filter = ["content_type", "field"]
    search_fields = ["reason", "old", "new"]
    list_select_related = ["user", "content_type"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
