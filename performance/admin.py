"""The admin as a safe tool: it writes only through performance.services.

Each change form carries the version it loaded and a reason; saving and deleting (inline rows
included) call one service, which refuses a stale form or a missing reason. A refusal shows the
form again with the message, never a 500.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kpitrack.core.formatting import roc_year
from kpitrack.core.versioning import ConcurrentEditError

from . import services
from .models import (
    Indicator,
    IndicatorInput,
    Result,
    ResultFigure,
    StrategicGoal,
    TargetPart,
)
from .reasons import undeclared_inputs_message
from .selectors import indicator_history, result_history

SERVICE_FIELDS = ("change_reason", "version_seen")


class YearDisplayMixin:
    @admin.display(description=_("年度"), ordering="year")
    def roc(self, obj):
        return roc_year(obj.year)


# --- choices that say which agency and year -------------------------------------------------


def goal_label(goal) -> str:
    """Goals of different years share titles: the label says whose and which year."""
    return f"{goal.agency.name} {roc_year(goal.year)} {goal.title}"


def indicator_label(indicator) -> str:
    """Indicators of different years share names: the label says whose and which year."""
    goal = indicator.goal
    return f"{goal.agency.name} {roc_year(goal.year)} {indicator.name}"


class GoalChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, goal):
        return goal_label(goal)


class IndicatorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, indicator):
        return indicator_label(indicator)


def goal_choices():
    return StrategicGoal.objects.select_related("agency").order_by(
        "agency__code", "-year", "order", "id"
    )


def indicator_choices():
    return Indicator.objects.select_related("goal__agency").order_by(
        "goal__agency__code", "-goal__year", "goal__order", "order", "id"
    )


# --- writing through the services ------------------------------------------------------------


class ServiceForm(forms.ModelForm):
    """The reason for a change and the version the editor loaded travel with the form."""

    change_reason = forms.CharField(
        label=_("修改理由"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("修改或刪除既有資料時必填，會連同修改者、時間、原值與新值一併記錄。"),
    )
    version_seen = forms.IntegerField(widget=forms.HiddenInput, required=False)

    # A refusal by the service on the previous attempt, shown on this form (see changeform_view).
    service_error: Exception | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version_seen"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        error = self.service_error
        if isinstance(error, ConcurrentEditError):
            self.add_error(None, error.message)
        elif isinstance(error, ValidationError):
            if hasattr(error, "error_dict"):
                for name, errors in error.error_dict.items():
                    name = "change_reason" if name == "reason" else name
                    field = name if name in self.fields else None
                    for message in ValidationError(errors).messages:
                        self.add_error(field, message)
            else:
                for message in error.messages:
                    self.add_error(None, message)
        return cleaned


class DeleteForm(forms.Form):
    reason = forms.CharField(
        label=_("刪除理由"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("刪除資料時，請說明刪除理由。")},
    )
    version_seen = forms.IntegerField(widget=forms.HiddenInput)


def inline_rows(formset, fields):
    """The rows an inline formset asks to keep, with `id` for existing ones; rows marked for
    deletion are left out, so the service deletes them."""
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE") or (form.instance.pk is None and not form.has_changed()):
            continue
        row = {name: data[name] for name in fields if name in data}
        if form.instance.pk is not None:
            row["id"] = form.instance.pk
        rows.append(row)
    return rows


class ServiceAdmin(admin.ModelAdmin):
    """Saves and deletes through `write` and `delete` (services); never through the ORM."""

    def write(self, request, form, formsets, change):  # pragma: no cover - abstract
        raise NotImplementedError

    def delete(self, request, obj, *, expected_version, reason):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.service_error = getattr(request, "_service_error", None)
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ValidationError, ConcurrentEditError) as error:
            # The service refused and its transaction was rolled back: show the same form again,
            # with what was typed and the refusal next to it.
            if request.method != "POST" or getattr(request, "_service_error", None):
                raise
            request._service_error = error
            return super().changeform_view(request, object_id, form_url, extra_context)

    @staticmethod
    def has_changes(form, formsets) -> bool:
        own = [name for name in form.changed_data if name not in SERVICE_FIELDS]
        return bool(own) or any(formset.has_changed() for formset in formsets)

    def save_model(self, request, obj, form, change):
        """Nothing yet: the object and its inline rows are written together in save_related."""

    def save_related(self, request, form, formsets, change):
        if change and not self.has_changes(form, formsets):
            return
        saved = self.write(request, form, formsets, change)
        form.instance.pk = saved.pk
        form.instance.version = saved.version

    def construct_change_message(self, request, form, formsets, add=False):
        # The inline rows are written by the service, not by formset.save().
        return super().construct_change_message(request, form, [], add)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # A bulk delete would skip the reason and the lock.
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if request.method == "POST" and obj is not None:
            form = DeleteForm(request.POST)
            if not form.is_valid():
                for errors in form.errors.values():
                    for message in errors:
                        messages.error(request, message)
                return HttpResponseRedirect(request.path)
            request._delete_form = form
            try:
                return super().delete_view(request, object_id, extra_context)
            except (ValidationError, ConcurrentEditError) as error:
                message = getattr(error, "message", None) or " ".join(error.messages)
                messages.error(request, message)
                opts = self.model._meta
                change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
                return HttpResponseRedirect(change)
        form = DeleteForm(initial={"version_seen": obj.version if obj else None})
        return super().delete_view(
            request, object_id, {**(extra_context or {}), "reason_form": form}
        )

    def delete_model(self, request, obj):
        form = request._delete_form
        self.delete(
            request,
            obj,
            expected_version=form.cleaned_data["version_seen"],
            reason=form.cleaned_data["reason"],
        )


def history_table(entries):
    if not entries:
        return gettext("尚無異動紀錄。")
    head = format_html(
        "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        gettext("時間"),
        gettext("使用者"),
        gettext("項目"),
        gettext("原值"),
        gettext("新值"),
        gettext("理由"),
    )
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                date_format(localtime(e.when), "Y-m-d H:i"),
                e.who,
                e.what,
                e.old,
                e.new if e.action != "-" else gettext("（已刪除）"),
                e.why,
            )
            for e in entries
        ),
    )
    return format_html(
        '<table class="history"><thead>{}</thead><tbody>{}</tbody></table>', head, body
    )


# --- strategic goals -------------------------------------------------------------------------


class IndicatorInline(admin.TabularInline):
    """Read-only here: an indicator is edited on its own page, under its own lock."""

    model = Indicator
    fields = ["order", "code", "name", "method", "target_text"]
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StrategicGoalForm(ServiceForm):
    class Meta:
        model = StrategicGoal
        fields = list(services.GOAL_FIELDS)


@admin.register(StrategicGoal)
class StrategicGoalAdmin(YearDisplayMixin, ServiceAdmin):
    form = StrategicGoalForm
    list_display = ["title", "roc", "agency", "order", "code"]
    list_filter = ["agency", "year"]
    search_fields = ["title", "code"]
    list_select_related = ["agency"]
    inlines = [IndicatorInline]

    def get_inline_instances(self, request, obj=None):
        # A new goal has no indicators to list yet.
        return super().get_inline_instances(request, obj) if obj is not None else []

    def write(self, request, form, formsets, change):
        fields = {name: form.cleaned_data[name] for name in services.GOAL_FIELDS}
        reason = form.cleaned_data["change_reason"]
        if not change:
            return services.strategic_goal_create(user=request.user, reason=reason, **fields)
        return services.strategic_goal_update(
            goal=form.instance,
            expected_version=form.cleaned_data["version_seen"],
            user=request.user,
            reason=reason,
            **fields,
        )

    def delete(self, request, obj, *, expected_version, reason):
        services.strategic_goal_delete(
            goal=obj, expected_version=expected_version, user=request.user, reason=reason
        )


# --- indicators ------------------------------------------------------------------------------


class IndicatorInputInline(admin.TabularInline):
    model = IndicatorInput
    fields = ["order", "key", "label", "unit"]
    extra = 0


class TargetPartForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        # A revised value needs a reason: the change's own reason serves unless one is given.
        if "value" in self.changed_data and not cleaned.get("revision_reason"):
            cleaned["revision_reason"] = self.data.get("change_reason", "").strip()
        return cleaned


class TargetPartInline(admin.TabularInline):
    model = TargetPart
    form = TargetPartForm
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
    readonly_fields = ["original_value"]
    extra = 0


class IndicatorForm(ServiceForm):
    goal = GoalChoiceField(label=_("策略目標"), queryset=goal_choices())

    class Meta:
        model = Indicator
        fields = list(services.INDICATOR_FIELDS)


@admin.register(Indicator)
class IndicatorAdmin(ServiceAdmin):
    form = IndicatorForm
    list_display = ["name", "code", "year", "method", "target_text", "responsible_unit"]
    list_filter = ["goal__agency", "goal__year", "method", "responsible_unit"]
    search_fields = ["name", "code", "measurement_standard"]
    list_select_related = ["goal", "goal__agency", "responsible_unit"]
    inlines = [IndicatorInputInline, TargetPartInline]
    readonly_fields = ["history"]

    @admin.display(description=_("年度"), ordering="goal__year")
    def year(self, obj):
        return roc_year(obj.goal.year)

    @admin.display(description=_("異動紀錄"))
    def history(self, obj):
        return history_table(indicator_history(indicator=obj) if obj.pk else [])

    def write(self, request, form, formsets, change):
        fields = {name: form.cleaned_data[name] for name in services.INDICATOR_FIELDS}
        rows = {}
        for formset in formsets:
            if formset.model is IndicatorInput:
                rows["inputs"] = inline_rows(formset, services.INPUT_FIELDS)
            elif formset.model is TargetPart:
                rows["parts"] = inline_rows(formset, services.PART_FIELDS)
        reason = form.cleaned_data["change_reason"]
        if not change:
            return services.indicator_create(user=request.user, reason=reason, **fields, **rows)
        return services.indicator_update(
            indicator=form.instance,
            expected_version=form.cleaned_data["version_seen"],
            user=request.user,
            reason=reason,
            **fields,
            **rows,
        )

    def delete(self, request, obj, *, expected_version, reason):
        services.indicator_delete(
            indicator=obj, expected_version=expected_version, user=request.user, reason=reason
        )


# --- results ---------------------------------------------------------------------------------


class ResultFigureForm(forms.ModelForm):
    """The key is chosen among the indicator's declared inputs, shown by label and unit."""

    key_choices: list[tuple[str, str]] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        valid = "、".join(label for _key, label in self.key_choices)
        self.fields["key"] = forms.ChoiceField(
            label=ResultFigure._meta.get_field("key").verbose_name,
            choices=[("", "---------"), *self.key_choices],
            # Django fills in %(value)s with what was sent.
            error_messages={
                "invalid_choice": undeclared_inputs_message("%(value)s", valid.replace("%", "%%"))
            },
        )


class ResultFigureInline(admin.TabularInline):
    model = ResultFigure
    fields = ["key", "value", "published_rate"]
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        choices = [
            (i.key, f"{i.label}（{i.unit}）" if i.unit else i.label)
            for i in obj.indicator.inputs.all()
        ]
        declared = {key for key, _label in choices}
        # A figure whose input was since removed still shows, so it can be deleted.
        choices += [
            (key, gettext("%(key)s（未宣告的項目）") % {"key": key})
            for key in obj.figures.values_list("key", flat=True)
            if key not in declared
        ]
        kwargs["form"] = type("ResultFigureForm", (ResultFigureForm,), {"key_choices": choices})
        return super().get_formset(request, obj, **kwargs)


class ResultForm(ServiceForm):
    # No state: it moves only through the workflow's services (submit, review, return, lock,
    # reopen), each with its own checks, on the result's page and the management screens.
    class Meta:
        model = Result
        fields = list(services.RESULT_FIELDS)


@admin.register(Result)
class ResultAdmin(ServiceAdmin):
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
    inlines = [ResultFigureInline]
    readonly_fields = [
        "indicator_label",
        "quarter",
        "state_link",
        "version",
        "updated_at",
        "history",
    ]

    @admin.display(description=_("年度"), ordering="indicator__goal__year")
    def year(self, obj):
        return roc_year(obj.indicator.goal.year)

    @admin.display(description=_("異動紀錄"))
    def history(self, obj):
        return history_table(result_history(result=obj))

    @admin.display(description=_("狀態"))
    def state_link(self, obj):
        return format_html(
            '{} <a href="{}">{}</a>',
            obj.get_state_display(),
            reverse("result-entry", args=[obj.indicator_id, obj.quarter]),
            gettext("（狀態請在成果頁面以送出、審核或重新開放變更）"),
        )

    def has_add_permission(self, request):
        # A result starts as a draft on the entry page, the workbook or the API, which check
        # the window and the lock; the admin corrects what exists.
        return False

    def get_fields(self, request, obj=None):
        return [
            "indicator_label",
            "quarter",
            "state_link",
            *services.RESULT_FIELDS,
            *SERVICE_FIELDS,
            "version",
            "updated_at",
            "history",
        ]

    @admin.display(description=_("指標"))
    def indicator_label(self, obj):
        return indicator_label(obj.indicator)

    def write(self, request, form, formsets, change):
        data = form.cleaned_data
        fields = {name: data[name] for name in services.RESULT_FIELDS}
        result, version = form.instance, data["version_seen"]
        figures, published, delete = {}, {}, []
        for formset in formsets:
            for row in formset.forms:
                row_data = getattr(row, "cleaned_data", None)
                if not row_data or not row.has_changed():
                    continue
                old_key = row.instance.key if row.instance.pk else None
                if row_data.get("DELETE") or (old_key and old_key != row_data["key"]):
                    delete.append(old_key)
                if not row_data.get("DELETE"):
                    figures[row_data["key"]] = row_data["value"]
                    published[row_data["key"]] = row_data["published_rate"]
        return services.result_update(
            result=result,
            expected_version=version,
            user=request.user,
            reason=data["change_reason"],
            figures=figures,
            published=published,
            delete_figures=[key for key in delete if key],
            **fields,
        )

    def delete(self, request, obj, *, expected_version, reason):
        services.result_delete(
            result=obj, expected_version=expected_version, user=request.user, reason=reason
        )
