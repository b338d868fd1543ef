"""The management screens' lists (django-tables2). Each cell carries its header, so a phone
shows a row as a labelled card (static/css/work.css, table.work)."""

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kpitrack.core.formatting import roc_year


def _column(label, **kwargs) -> tables.Column:
    return tables.Column(label, attrs={"td": {"data-label": label}}, **kwargs)


class _Meta:
    orderable = False
    attrs = {"class": "data work"}
    template_name = "django_tables2/table.html"


def _window_state(period, today) -> str:
    if period.locked:
        return _("已鎖定")
    if today < period.opens_on:
        return _("尚未開放")
    if today > period.closes_on:
        return _("已截止")
    return _("開放填報中")


class QuarterTable(tables.Table):
    """The four quarters of a year: window, deadlines, lock, open exceptions, frozen results."""

    class Meta(_Meta):
        pass

    quarter = _column(_("季別"), empty_values=())
    window = _column(_("填報期間"), empty_values=())
    first_review_due = _column(_("初核期限"), accessor="period__first_review_due")
    final_review_due = _column(_("複核期限"), accessor="period__final_review_due")
    state = _column(_("狀態"), empty_values=())
    exceptions = _column(_("逾期填報例外"))
    frozen = _column(_("已核定或鎖定成果"))

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency
        self.today = timezone.localdate()

    def render_quarter(self, record):
        period = record.period
        url = reverse("manage-quarter", args=[self.agency.code, period.year, period.quarter])
        return format_html(
            '<a href="{}">{} {}</a>',
            url,
            roc_year(period.year),
            _("第%(q)s季") % {"q": period.quarter},
        )

    def render_window(self, record):
        period = record.period
        text = format_html("{} ～ {}", period.opens_on.isoformat(), period.closes_on.isoformat())
        if period.pk is None:
            return format_html("{}<br><small>{}</small>", text, _("機關預設"))
        return text

    def render_first_review_due(self, value):
        return value.isoformat()

    def render_final_review_due(self, value):
        return value.isoformat()

    def render_state(self, record):
        return _window_state(record.period, self.today)


class ExceptionTable(tables.Table):
    """A quarter's entry exceptions, each with its withdrawal."""

    class Meta(_Meta):
        pass

    unit = _column(_("單位"), accessor="unit__name")
    until = _column(_("開放至"))
    reason = _column(_("理由"))
    granted = _column(_("核准"), empty_values=())
    withdraw = _column(_("撤回"), empty_values=())

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency
        self.today = timezone.localdate()

    def render_until(self, value):
        if value < self.today:
            return format_html("{}<br><small>{}</small>", value.isoformat(), _("已過期"))
        return value.isoformat()

    def render_granted(self, record):
        who = record.granted_by.get_username() if record.granted_by else "—"
        return format_html(
            "{}<br><small>{}</small>",
            who,
            timezone.localtime(record.granted_at).strftime("%Y-%m-%d %H:%M"),
        )

    def render_withdraw(self, record):
        url = reverse(
            "manage-exception-withdraw",
            args=[self.agency.code, record.year, record.quarter, record.pk],
        )
        return format_html(
            '<a href="{}">{}<span class="visually-hidden">{}</span></a>',
            url,
            _("撤回"),
            format_html("：{}", record.unit.name),
        )


class FrozenResultTable(tables.Table):
    """A quarter's approved and locked results, each with its reopening."""

    class Meta(_Meta):
        pass

    indicator = _column(_("指標"), accessor="indicator__name")
    unit = _column(_("主辦單位"), accessor="indicator__responsible_unit__name", default="—")
    state = _column(_("狀態"), empty_values=())
    updated_at = _column(_("最後異動"))
    reopen = _column(_("重新開放"), empty_values=())

    def __init__(self, *args, agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency

    def render_indicator(self, value, record):
        url = reverse("result-entry", args=[record.indicator_id, record.quarter])
        return format_html('<a href="{}">{}</a>', url, value)

    def render_state(self, record):
        if record.locked_from:
            return format_html(
                "{}<br><small>{}</small>",
                record.get_state_display(),
                _("鎖定前：%(state)s") % {"state": record.get_locked_from_display()},
            )
        return record.get_state_display()

    def render_updated_at(self, value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")

    def render_reopen(self, record):
        url = reverse(
            "manage-reopen",
            args=[self.agency.code, record.indicator.goal.year, record.quarter, record.pk],
        )
        return format_html(
            '<a href="{}">{}<span class="visually-hidden">{}</span></a>',
            url,
            _("重新開放"),
            format_html("：{}", record.indicator.name),
        )
