from django.contrib import admin
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from kpitrack.formatting import roc_year

from .models import (
    Agency,
    AnnualPolicy,
    HeadcountBudget,
    HeadcountLine,
    PolicyGoal,
    PolicyGoalItem,
    Unit,
)


class UnitInline(admin.TabularInline):
    model = Unit
    fk_name = "agency"
    fields = ["order", "code", "name", "kind", "parent"]
    extra = 0


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "parent"]
    search_fields = ["name", "name_en", "code"]
    list_select_related = ["parent"]
    inlines = [UnitInline]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "agency", "parent", "order"]
    list_filter = ["agency", "kind"]
    search_fields = ["name", "code", "duties"]
    list_select_related = ["agency", "parent"]


class PolicyGoalInline(admin.TabularInline):
    model = PolicyGoal
    fields = ["order", "title", "body"]
    extra = 0


@admin.register(AnnualPolicy)
class AnnualPolicyAdmin(admin.ModelAdmin):
    list_display = ["agency", "roc", "goal_count"]
    list_filter = ["agency", "year"]
    list_select_related = ["agency"]
    inlines = [PolicyGoalInline]

    @admin.display(description=_("年度"), ordering="year")
    def roc(self, obj):
        return roc_year(obj.year)

    @admin.display(description=_("目標數"))
    def goal_count(self, obj):
        return obj.goals.count()


class PolicyGoalItemInline(admin.TabularInline):
    model = PolicyGoalItem
    fields = ["order", "text"]
    extra = 0


@admin.register(PolicyGoal)
class PolicyGoalAdmin(admin.ModelAdmin):
    list_display = ["title", "policy", "order"]
    list_filter = ["policy__agency", "policy__year"]
    search_fields = ["title", "body", "items__text"]
    list_select_related = ["policy", "policy__agency"]
    inlines = [PolicyGoalItemInline]


class HeadcountLineInline(admin.TabularInline):
    model = HeadcountLine
    fields = ["category", "previous", "change", "current"]
    readonly_fields = ["current"]
    extra = 0

    @admin.display(description=_("本年度合計"))
    def current(self, obj):
        return obj.current if obj.pk else "—"


@admin.register(HeadcountBudget)
class HeadcountBudgetAdmin(admin.ModelAdmin):
    list_display = ["programme", "agency", "roc", "previous_total", "change_total"]
    list_filter = ["agency", "year"]
    list_select_related = ["agency"]
    inlines = [HeadcountLineInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(previous_sum=Sum("lines__previous"), change_sum=Sum("lines__change"))
        )

    @admin.display(description=_("年度"), ordering="year")
    def roc(self, obj):
        return roc_year(obj.year)

    @admin.display(description=_("上年度編列數合計"))
    def previous_total(self, obj):
        return obj.previous_sum

    @admin.display(description=_("本年度增減合計"))
    def change_total(self, obj):
        return obj.change_sum
