"""The indicator table (django-tables2) and its filters (django-filter)."""

import django_filters
import django_tables2 as tables
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from budget.models import Unit
from kpitrack.core.formatting import figure, percent
from performance.models import Indicator, Result, StrategicGoal
from performance.reasons import STATUS_LABELS

from .selectors import LIGHTS, Row

NOT_ENTERED = "none"


def state_choices():
    return [*Result.State.choices, (NOT_ENTERED, _("未填報"))]


class IndicatorFilter(django_filters.FilterSet):
    """Unit and goal narrow the indicators in the database; light and state are read from each
    row's computed outcome (`keep`)."""

    unit = django_filters.ModelChoiceFilter(
        label=_("主辦單位"), field_name="responsible_unit", queryset=Unit.objects.none()
    )
    goal = django_filters.ModelChoiceFilter(
        label=_("策略目標"), field_name="goal", queryset=StrategicGoal.objects.none()
    )
    light = django_filters.ChoiceFilter(
        label=_("燈號"),
        empty_label=_("全部"),
        choices=[(light.value, STATUS_LABELS[light.value]) for light in LIGHTS],
        method="by_outcome",
    )
    state = django_filters.ChoiceFilter(
        label=_("狀態"), choices=state_choices, method="by_outcome", empty_label=_("全部")
    )

    class Meta:
        model = Indicator
        fields = ["unit", "goal", "light", "state"]

    def __init__(self, data, *, scope, year):
        queryset = Indicator.objects.filter(goal__agency_id__in=scope.ids, goal__year=year)
        super().__init__(data, queryset=queryset)
        self.filters["unit"].queryset = Unit.objects.filter(agency_id__in=scope.ids).order_by(
            "agency__code", "order", "id"
        )
        self.filters["goal"].queryset = StrategicGoal.objects.filter(
            agency_id__in=scope.ids, year=year
        ).order_by("agency__code", "order")
        for name in ("unit", "goal"):
            self.form.fields[name].empty_label = _("全部")
        for name, form_field in self.form.fields.items():
            form_field.widget.attrs["id"] = f"filter-{name}"

    def by_outcome(self, queryset, name, value):
        return queryset  # applied to the rows in `keep`, where the outcome is known

    def keep(self, rows: list[Row]) -> list[Row]:
        """The rows that pass every filter. One query (the indicators unit and goal allow)."""
        data = self.form.cleaned_data
        narrowed = data.get("unit") or data.get("goal")
        ids = set(self.qs.values_list("pk", flat=True)) if narrowed else None
        light, state = data.get("light"), data.get("state")
        return [
            row
            for row in rows
            if (ids is None or row.brief.indicator_id in ids)
            and (not light or row.status.value == light)
            and (not state or (row.state or NOT_ENTERED) == state)
        ]

    @property
    def message(self) -> str:
        return next(str(m) for errors in self.form.errors.values() for m in errors)


def _labelled(label, **kwargs) -> tables.Column:
    """A column whose cells carry their header, so a phone shows each row as a labelled card."""
    return tables.Column(label, attrs={"td": {"data-label": label}}, **kwargs)


class IndicatorTable(tables.Table):
    agency = _labelled(_("機關"), accessor="brief__agency_name")
    goal = _labelled(_("策略目標"), accessor="brief__goal_title")
    indicator = _labelled(_("績效指標"), accessor="brief__name")
    unit = _labelled(_("主辦單位"), accessor="unit_key", empty_values=())
    target = _labelled(_("目標值"), accessor="brief__name", orderable=False, empty_values=())
    value = _labelled(_("實際值"), accessor="brief__rate", orderable=False, empty_values=())
    rate = _labelled(_("達成進度／達成率"), accessor="rate_key", empty_values=())
    status = _labelled(_("燈號"), accessor="status_key", empty_values=())
    state = _labelled(_("狀態"), accessor="state_key", empty_values=())
    projection = _labelled(
        _("全年預估"), accessor="brief__projected_rate", orderable=False, empty_values=()
    )
    published = _labelled(
        _("原發布／重算"), accessor="brief__name", orderable=False, empty_values=()
    )

    class Meta:
        attrs = {"class": "data indicators"}
        template_name = "django_tables2/table.html"
        per_page = 25

    def __init__(self, *args, ministry: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not ministry:
            self.columns.hide("agency")

    def render_indicator(self, value, record):
        i = record.indicator
        url = reverse("dashboards:indicator", args=[i.goal.agency.code, i.code])
        return format_html('<a href="{}?year={}">{}</a>', url, i.goal.year, value)

    def render_unit(self, value):
        return value or "—"

    def render_target(self, value, record):
        return render_to_string("dashboards/_target.html", {"row": record})

    def render_value(self, value, record):
        return render_to_string("dashboards/_value.html", {"row": record})

    def render_rate(self, value, record):
        return render_to_string("dashboards/_rate.html", {"row": record})

    def render_status(self, value, record):
        return render_to_string("dashboards/_light.html", {"status": record.status})

    def render_state(self, value, record):
        if record.state is None:
            return _("未填報")
        return Result.State(record.state).label

    def render_projection(self, value, record):
        if value is None:
            return "—"
        return format_html('<span class="projected">{} {}</span>', _("預估"), percent(value))

    def render_published(self, value, record):
        a = record.achievement
        value = a.published_rate
        if value is None:
            return "—"
        printed = figure(value) + ("%" if a.published_basis == Result.Basis.RATE else "")
        return render_to_string(
            "dashboards/_published.html", {"printed": printed, "row": record, "a": a}
        )
