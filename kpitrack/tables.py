import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kpitrack.core.formatting import coded_figure, figure, percent
from performance.reasons import status_label


def _column(label, **kwargs) -> tables.Column:
    """A column whose cells carry their header as `data-label`, which a phone shows above
    each value once the table is stacked into cards (static/css/site.css, `table.stack`)."""
    return tables.Column(label, attrs={"td": {"data-label": label}}, **kwargs)


class AchievementTable(tables.Table):
    goal = _column(_("策略目標"), accessor="indicator__goal__title")
    indicator = _column(_("績效指標"), accessor="indicator__name")
    target = _column(_("目標值"), accessor="indicator__target_text", orderable=False)
    value = _column(_("實際值"), accessor="outcome__value", orderable=False)
    rate = _column(_("達成率"), accessor="outcome__rate")
    status = _column(_("燈號"), accessor="outcome__status", orderable=False)
    # empty_values=() so a row whose mismatch is only in its parts still shows the warning.
    published = _column(_("原發布"), accessor="published_rate", orderable=False, empty_values=())

    class Meta:
        orderable = False
        attrs = {"class": "data stack"}

    def render_value(self, value, record):
        indicator = record.indicator
        return coded_figure(value, method=indicator.method, standard=indicator.measurement_standard)

    def render_rate(self, value):
        return percent(value)

    def render_status(self, value, record):
        label = status_label(value)
        if record.reason:
            return format_html(
                '<span class="light {}">{}</span><br><small>{}</small>',
                value.value,
                label,
                record.reason,
            )
        return format_html('<span class="light {}">{}</span>', value.value, label)

    def render_published(self, value, record):
        text = ""
        if value is not None:
            text = percent(value) if record.published_basis == "rate" else figure(value)
        if record.mismatch:
            return format_html('{} <strong class="mismatch">{}</strong>', text, _("與重算不符"))
        return text
