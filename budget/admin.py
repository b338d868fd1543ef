"""The budget side's admin: a maintenance tool that writes only through budget.services.

Each change form carries the version of the aggregate it loaded, so a stale save is refused, and
asks for a reason whenever existing data changes or is deleted; both go into the history, which
each object shows read-only (simple-history's history view).
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from kpitrack.core.formatting import roc_year
from kpitrack.core.versioning import ConcurrentEditError

from . import services
from .models import (
    AchievementPolicy,
    Agency,
    AnnualPolicy,
    HeadcountBudget,
    HeadcountLine,
    Membership,
    PolicyGoal,
    PolicyGoalItem,
    Unit,
)

REASON_REQUIRED = _("修改或刪除既有資料時，請說明修改理由。")
STALE = _("這筆資料在您開啟後已被其他人修改，請重新載入確認最新內容後再修改。")


class ServiceForm(forms.ModelForm):
    """A change form that knows the version it was loaded with and why it is saved."""

    change_reason = forms.CharField(
        label=_("修改理由"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("修改既有資料時必填，會連同修改者與時間記入修改紀錄。"),
    )
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    # Set by ServiceAdmin.get_form: the object whose version guards this form's object.
    version_root = staticmethod(lambda obj: obj)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.version_root(self.instance).version

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk:
            return cleaned
        changed = set(self.changed_data) - {"change_reason", "loaded_version"}
        if changed and not cleaned.get("change_reason", "").strip():
            self.add_error("change_reason", REASON_REQUIRED)
        root = self.version_root(self.instance)
        current = type(root)._default_manager.filter(pk=root.pk).values_list("version", flat=True)
        if cleaned.get("loaded_version") != current.first():
            raise ValidationError(STALE, code="stale")
        return cleaned


class ServiceInlineFormSet(forms.BaseInlineFormSet):
    """Changing or deleting existing rows through an inline needs the form's reason too."""

    def clean(self):
        super().clean()
        if self.instance.pk is None:
            return
        touched = any(
            form.instance.pk and (form.has_changed() or self._should_delete_form(form))
            for form in self.forms
        )
        if touched and not self.data.get("change_reason", "").strip():
            raise ValidationError(REASON_REQUIRED, code="reason")


def child_rows(formset, fields) -> list[dict]:
    """An inline formset's edits as the services' child rows (see budget.services)."""
    rows = []
    for form in formset.forms:
        if not form.has_changed() and not formset._should_delete_form(form):
            continue
        pk = form.instance.pk
        if formset._should_delete_form(form):
            if pk is not None:
                rows.append({"pk": pk, "delete": True})
            continue
        row = {name: form.cleaned_data[name] for name in fields if name in form.cleaned_data}
        if pk is not None:
            row["pk"] = pk
        rows.append(row)
    return rows


def refusal_text(exc: Exception) -> str:
    if isinstance(exc, ConcurrentEditError):
        return exc.message
    return " ".join(exc.messages)


class ServiceAdmin(SimpleHistoryAdmin):
    """Saves and deletes through a service; history is read-only."""

    form = ServiceForm
    delete_confirmation_template = "admin/budget/delete_confirmation.html"

    def version_root(self, obj):
        return obj

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.version_root = staticmethod(self.version_root)
        return form

    def get_actions(self, request):
        # The bulk delete action deletes querysets, past the services and the history.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        """Nothing here: `save_related` writes the object and its inline rows in one service."""

    def save_related(self, request, form, formsets, change):
        reason = form.cleaned_data.get("change_reason", "")
        version = form.cleaned_data.get("loaded_version")
        saved = self.write(request, form, formsets, reason=reason, expected_version=version)
        # The admin's messages, log and redirect read the form's instance.
        form.instance.pk = saved.pk

    def construct_change_message(self, request, form, formsets, add=False):
        # The inline formsets were applied by a service, not saved, so only the form is told.
        return super().construct_change_message(request, form, [], add)

    def write(self, request, form, formsets, *, reason, expected_version):
        raise NotImplementedError

    def delete_model(self, request, obj):
        reason = request.POST.get("change_reason", "")
        try:
            expected_version = int(request.POST.get("loaded_version", ""))
        except ValueError:
            expected_version = None
        self.remove(request, obj, reason=reason, expected_version=expected_version)

    def remove(self, request, obj, *, reason, expected_version):
        raise NotImplementedError

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._refusing(
            request, super().changeform_view, request, object_id, form_url, extra_context
        )

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id) if object_id else None
        if request.method == "POST" and request.POST.get("post") and obj is not None:
            if not request.POST.get("change_reason", "").strip():
                self.message_user(request, REASON_REQUIRED, messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())
        extra_context = {
            **(extra_context or {}),
            "loaded_version": self.version_root(obj).version if obj is not None else "",
        }
        return self._refusing(request, super().delete_view, request, object_id, extra_context)

    def _refusing(self, request, view, *args):
        """A refusal by a service (stale version, rule broken) is a message, never a 500."""
        try:
            return view(*args)
        except (ValidationError, ConcurrentEditError) as exc:
            self.message_user(request, refusal_text(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # A past version is shown, never saved back: writes go through the services only.
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        return super().history_form_view(request, object_id, version_id, extra_context)


def _values(form, fields):
    return {name: form.cleaned_data[name] for name in fields if name in form.cleaned_data}


@admin.register(Agency)
class AgencyAdmin(ServiceAdmin):
    list_display = ["name", "code", "parent"]
    search_fields = ["name", "name_en", "code"]
    list_select_related = ["parent"]
    fields = list(services.AGENCY_FIELDS) + ["change_reason", "loaded_version"]

    def write(self, request, form, formsets, *, reason, expected_version):
        values = _values(form, services.AGENCY_FIELDS)
        if form.instance._state.adding:
            return services.agency_create(user=request.user, reason=reason, **values)
        return services.agency_update(
            agency=self.fresh(form.instance),
            expected_version=expected_version,
            user=request.user,
            reason=reason,
            **values,
        )

    def fresh(self, obj):
        return type(obj)._default_manager.get(pk=obj.pk)

    def has_delete_permission(self, request, obj=None):
        # An agency holds years of published data; there is no service that deletes one.
        return False


@admin.register(Unit)
class UnitAdmin(ServiceAdmin):
    list_display = ["name", "kind", "agency", "parent", "order"]
    list_filter = ["agency", "kind"]
    search_fields = ["name", "code", "duties"]
    list_select_related = ["agency", "parent"]
    fields = ["agency", *services.UNIT_FIELDS, "change_reason", "loaded_version"]

    def get_readonly_fields(self, request, obj=None):
        return ["agency"] if obj is not None else []

    def write(self, request, form, formsets, *, reason, expected_version):
        values = _values(form, services.UNIT_FIELDS)
        if form.instance._state.adding:
            return services.unit_create(
                agency=form.cleaned_data["agency"], user=request.user, reason=reason, **values
            )
        return services.unit_update(
            unit=Unit.objects.get(pk=form.instance.pk),
            expected_version=expected_version,
            user=request.user,
            reason=reason,
            **values,
        )

    def remove(self, request, obj, *, reason, expected_version):
        services.unit_delete(
            unit=obj, expected_version=expected_version, user=request.user, reason=reason
        )


class PolicyGoalInline(admin.TabularInline):
    model = PolicyGoal
    formset = ServiceInlineFormSet
    fields = list(services.GOAL_FIELDS)
    extra = 0


@admin.register(AnnualPolicy)
class AnnualPolicyAdmin(ServiceAdmin):
    list_display = ["agency", "roc", "goal_count"]
    list_filter = ["agency", "year"]
    list_select_related = ["agency"]
    fields = ["agency", "year", "intro", "change_reason", "loaded_version"]
    inlines = [PolicyGoalInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(goals_total=Count("goals"))

    def get_readonly_fields(self, request, obj=None):
        return ["agency"] if obj is not None else []

    @admin.display(description=_("年度"), ordering="year")
    def roc(self, obj):
        return roc_year(obj.year)

    @admin.display(description=_("目標數"))
    def goal_count(self, obj):
        return obj.goals_total

    def write(self, request, form, formsets, *, reason, expected_version):
        goals = child_rows(formsets[0], services.GOAL_FIELDS) if formsets else []
        values = _values(form, services.ANNUAL_POLICY_FIELDS)
        if form.instance._state.adding:
            return services.annual_policy_create(
                agency=form.cleaned_data["agency"],
                year=form.cleaned_data["year"],
                user=request.user,
                reason=reason,
                goals=goals,
                **values,
            )
        return services.annual_policy_update(
            policy=AnnualPolicy.objects.get(pk=form.instance.pk),
            expected_version=expected_version,
            user=request.user,
            reason=reason,
            goals=goals,
            year=form.cleaned_data["year"],
            **values,
        )

    def remove(self, request, obj, *, reason, expected_version):
        services.annual_policy_delete(
            policy=obj, expected_version=expected_version, user=request.user, reason=reason
        )


class PolicyGoalItemInline(admin.TabularInline):
    model = PolicyGoalItem
    formset = ServiceInlineFormSet
    fields = list(services.ITEM_FIELDS)
    extra = 0


@admin.register(PolicyGoal)
class PolicyGoalAdmin(ServiceAdmin):
    """A goal and its items, guarded by its annual policy's version; goals are added there."""

    list_display = ["title", "policy", "order"]
    list_filter = ["policy__agency", "policy__year"]
    search_fields = ["title", "body", "items__text"]
    list_select_related = ["policy", "policy__agency"]
    fields = ["policy", *services.GOAL_FIELDS, "change_reason", "loaded_version"]
    readonly_fields = ["policy"]
    inlines = [PolicyGoalItemInline]

    def version_root(self, obj):
        return obj.policy

    def has_add_permission(self, request):
        return False

    def write(self, request, form, formsets, *, reason, expected_version):
        goal = {"pk": form.instance.pk, **_values(form, services.GOAL_FIELDS)}
        if formsets:
            goal["items"] = child_rows(formsets[0], services.ITEM_FIELDS)
        services.annual_policy_update(
            policy=AnnualPolicy.objects.get(pk=form.instance.policy_id),
            expected_version=expected_version,
            user=request.user,
            reason=reason,
            goals=[goal],
        )
        return form.instance

    def remove(self, request, obj, *, reason, expected_version):
        services.annual_policy_update(
            policy=obj.policy,
            expected_version=expected_version,
            user=request.user,
            reason=reason,
            goals=[{"pk": obj.pk, "delete": True}],
        )


class HeadcountLineInline(admin.TabularInline):
    model = HeadcountLine
    formset = ServiceInlineFormSet
    fields = ["category", "previous", "change", "current"]
    readonly_fields = ["current"]
    extra = 0

    @admin.display(description=_("本年度合計"))
    def current(self, obj):
        return obj.current if obj.pk else "—"


@admin.register(HeadcountBudget)
class HeadcountBudgetAdmin(ServiceAdmin):
    list_display = ["programme", "agency", "roc", "previous_total", "change_total"]
    list_filter = ["agency", "year"]
    list_select_related = ["agency"]
    fields = ["agency", "year", *services.HEADCOUNT_FIELDS, "change_reason", "loaded_version"]
    inlines = [HeadcountLineInline]

    def get_readonly_fields(self, request, obj=None):
        return ["agency"] if obj is not None else []

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

    def write(self, request, form, formsets, *, reason, expected_version):
        lines = child_rows(formsets[0], services.LINE_FIELDS) if formsets else []
        values = _values(form, services.HEADCOUNT_FIELDS)
        if form.instance._state.adding:
            return services.headcount_budget_create(
                agency=form.cleaned_data["agency"],
                year=form.cleaned_data["year"],
                user=request.user,
                reason=reason,
                lines=lines,
                **values,
            )
        return services.headcount_budget_update(
            budget=HeadcountBudget.objects.get(pk=form.instance.pk),
            expected_version=expected_version,
            user=request.user,
            reason=reason,
            lines=lines,
            year=form.cleaned_data["year"],
            **values,
        )

    def remove(self, request, obj, *, reason, expected_version):
        services.headcount_budget_delete(
            budget=obj, expected_version=expected_version, user=request.user, reason=reason
        )


@admin.register(AchievementPolicy)
class AchievementPolicyAdmin(ServiceAdmin):
    """Rounding and lights from a year on; a new year starts from the one in force."""

    list_display = [
        "agency",
        "roc",
        "rate_decimals",
        "rounding",
        "green_threshold",
        "yellow_threshold",
        "uses_lights",
    ]
    list_filter = ["agency"]
    list_select_related = ["agency"]
    fields = [
        "agency",
        "year",
        *services.ACHIEVEMENT_POLICY_FIELDS,
        "change_reason",
        "loaded_version",
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["agency", "year"] if obj is not None else []

    @admin.display(description=_("自年度"), ordering="year")
    def roc(self, obj):
        return roc_year(obj.year)

    def write(self, request, form, formsets, *, reason, expected_version):
        adding = form.instance._state.adding
        instance = form.instance
        return services.achievement_policy_set(
            agency=form.cleaned_data["agency"] if adding else instance.agency,
            year=form.cleaned_data["year"] if adding else instance.year,
            expected_version=None if adding else expected_version,
            user=request.user,
            reason=reason,
            **_values(form, services.ACHIEVEMENT_POLICY_FIELDS),
        )

    def has_delete_permission(self, request, obj=None):
        # A year's policy is what its reports were printed with; change it instead.
        return False


class MembershipForm(ServiceForm):
    """Granting a role always says why (the order or memo it rests on)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["change_reason"].required = True
        self.fields["change_reason"].help_text = _("會連同授予者與時間記入修改紀錄。")


@admin.register(Membership)
class MembershipAdmin(ServiceAdmin):
    """Roles are granted and withdrawn, never edited: a change is a withdrawal and a new grant,
    each with its own reason in the history."""

    form = MembershipForm
    list_display = ["user", "agency", "unit", "role"]
    list_filter = ["agency", "role"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "unit__name"]
    list_select_related = ["user", "agency", "unit"]
    autocomplete_fields = ["user"]
    fields = ["user", "agency", "unit", "role", "change_reason", "loaded_version"]

    def has_change_permission(self, request, obj=None):
        return False

    def write(self, request, form, formsets, *, reason, expected_version):
        data = form.cleaned_data
        return services.membership_create(
            member=data["user"],
            agency=data["agency"],
            unit=data.get("unit"),
            role=data["role"],
            user=request.user,
            reason=reason,
        )

    def remove(self, request, obj, *, reason, expected_version):
        services.membership_delete(
            membership=obj, expected_version=expected_version, user=request.user, reason=reason
        )
