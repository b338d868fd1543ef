"""The indicator table (django-tables2) and its filters (django-filter), sorted, filtered and
paged in the database (`selectors.TableRows`)."""

import django_filters
import django_tables2 as tables
from django.core.exceptions import ImproperlyConfigured
from django.forms import ModelChoiceField
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext_lazy as _
from django_tables2.data import TableData
from django_tables2.utils import signature

from budget.models import Unit
from kpitrack.core.formatting import figure, percent
from performance.models import Indicator, Result, StrategicGoal
from performance.reasons import STATUS_LABELS

from .selectors import LIGHTS, NOT_ENTERED, Scope, TableRows


def state_choices():
    return [*Result.State.choices, (NOT_ENTERED, _("未填報"))]


class IndicatorFilter(django_filters.FilterSet):
    """What the table's filters accept (`rows` applies them in the database). A ministry's table
    also filters by agency; the unit and goal lists offer the chosen agency's (by default the
    scope's own agency, or the chosen unit's or goal's), not the whole ministry's, while any unit
    or goal of the scope is accepted."""

    in_agency = django_filters.ChoiceFilter(
        label=_("機關"), empty_label=_("全部"), choices=(), method="applied_in_rows"
    )
    unit = django_filters.ModelChoiceFilter(
        label=_("主辦單位"), queryset=Unit.objects.none(), method="applied_in_rows"
    )
    goal = django_filters.ModelChoiceFilter(
        label=_("策略目標"), queryset=StrategicGoal.objects.none(), method="applied_in_rows"
    )
    light = django_filters.ChoiceFilter(
        label=_("燈號"),
        empty_label=_("全部"),
        choices=[(light.value, STATUS_LABELS[light.value]) for light in LIGHTS],
        method="applied_in_rows",
    )
    state = django_filters.ChoiceFilter(
        label=_("狀態"), choices=state_choices, method="applied_in_rows", empty_label=_("全部")
    )

    class Meta:
        model = Indicator
        fields = ["in_agency", "unit", "goal", "light", "state"]

    def __init__(self, data, *, scope: Scope, year: int):
        self.scope, self.year = scope, year
        super().__init__(data, queryset=Indicator.objects.none())
        if scope.is_ministry:
            self.filters["in_agency"].extra["choices"] = [(a.code, a.name) for a in scope.agencies]
        else:
            del self.filters["in_agency"]
        self.filters["unit"].queryset = Unit.objects.filter(agency_id__in=scope.ids)
        self.filters["goal"].queryset = StrategicGoal.objects.filter(
            agency_id__in=scope.ids, year=year
        )
        for name in ("unit", "goal"):
            self.form.fields[name].empty_label = _("全部")
        for name, form_field in self.form.fields.items():
            form_field.widget.attrs["id"] = f"filter-{name}"

    def applied_in_rows(self, queryset, name, value):
        return queryset  # `rows` applies every filter to the stored outcomes

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if valid:
            self._offer_the_chosen_agencys()
        return valid

    def _chosen_agency_id(self) -> int:
        data = self.form.cleaned_data
        code = data.get("in_agency")
        if code:
            return next(a.pk for a in self.scope.agencies if a.code == code)
        if data.get("unit"):
            return data["unit"].agency_id
        if data.get("goal"):
            return data["goal"].agency_id
        return self.scope.agency.pk

    def _offer_the_chosen_agencys(self):
        # Only the options change: validation still accepts any unit or goal of the scope. The
        # choices are read when the form is rendered (the API never reads them).
        agency_id = self._chosen_agency_id()
        offered = {
            "unit": Unit.objects.filter(agency_id=agency_id).order_by("order", "id"),
            "goal": StrategicGoal.objects.filter(agency_id=agency_id, year=self.year).order_by(
                "order", "id"
            ),
        }
        for name, queryset in offered.items():
            self.form.fields[name].widget.choices = ModelChoiceField(
                queryset=queryset, empty_label=_("全部")
            ).choices

    def rows(self, quarter: int, *, sort=()) -> TableRows:
        """The rows that pass every filter, for `quarter` (valid filters only)."""
        data = self.form.cleaned_data
        code = data.get("in_agency")
        return TableRows(
            scope=self.scope,
            year=self.year,
            quarter=quarter,
            agency_id=next(a.pk for a in self.scope.agencies if a.code == code) if code else None,
            unit_id=data["unit"].pk if data.get("unit") else None,
            goal_id=data["goal"].pk if data.get("goal") else None,
            light=data.get("light") or None,
            state=data.get("state") or None,
        ).sorted_by(sort)

    @property
    def message(self) -> str:
        return next(str(m) for errors in self.form.errors.values() for m in errors)


class SqlRows(TableData):
    """django-tables2's data as `TableRows`: its sorting becomes the query's order, its
    paginator counts in one query and reads only the page shown."""

    def __init__(self, rows: TableRows):
        super().__init__(rows)
        self._count = None

    def __len__(self):
        if self._count is None:
            self._count = self.data.count()
        return self._count

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self.data.rows(key.start, key.stop)
        return self.data.rows(key, key + 1)[0]

    def __iter__(self):
        return iter(self.data.rows())

    def order_by(self, aliases):
        self.data = self.data.sorted_by(list(aliases))


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
        # django-tables2's table.html, but for the body: rendered by `body_html`.
        template_name = "dashboards/_indicator_table.html"
        per_page = 25

    def __init__(self, *args, ministry: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not ministry:
            self.columns.hide("agency")

    def body_html(self):
        """The rows, as django-tables2's table.html writes them, without its work per cell: a
        ministry's page of 25 rows x 11 cells spent most of its time there (issue 16,
        bench/requests.py), in the template's loop, each cell's attributes computed again, and
        each render method's signature read again. Ours are the same for every row (a column's
        label and its render method), so they are read once per column; a cell is then what
        django-tables2 makes of it (BoundRow.get_cell): the accessor's value, the column's
        default when that is empty, else its render method's answer."""
        columns = list(self.columns)
        cells = [self._cell_of(column) for column in columns]
        rows = []
        for row in self.paginated_rows:
            record = row.record
            html = "".join(
                f"{td}{conditional_escape(localize(template_localtime(cell(record))))}</td>"
                for td, cell in cells
            )
            rows.append(format_html("<tr {}>{}</tr>", row.attrs.as_html(), mark_safe(html)))
        if not rows and self.empty_text:
            return format_html('<tr><td colspan="{}">{}</td></tr>', len(columns), self.empty_text)
        return mark_safe("\n".join(rows))

    def _cell_of(self, bound):
        """(the cell's opening tag, record -> the cell's content) of the bound column."""
        column = bound.column
        # Our columns' attributes are constants, our records no models (whose choices fields
        # django-tables2 would print by label), and no column links: a column that had any of
        # these would need django-tables2's own path per cell.
        if column.link or any(callable(v) for v in column.attrs.get("td", {}).values()):
            raise ImproperlyConfigured(f"column {bound.name!r} needs django-tables2's own cells")
        accessor, empty, default = bound.accessor, column.empty_values, bound.default
        names, catch_all = signature(bound.render)
        given = {"column": column, "bound_column": bound, "table": self}
        if catch_all is not None or not set(names) <= {"value", "record", *given}:
            raise ImproperlyConfigured(f"column {bound.name!r} renders with other arguments")

        def cell(record):
            try:
                value = accessor.resolve(record)
            except Exception:  # noqa: BLE001 - as django-tables2: a value it cannot reach is empty
                value = None
            if value in empty:
                return default
            arguments = {"value": value, "record": record, **given}
            return bound.render(**{name: arguments[name] for name in names})

        return format_html("<td {}>", bound.attrs["td"].as_html()), cell

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
