"""An indicator's page's table rows, written in Python: the HTML its templates wrote, character
for character, without a template node per cell (and an include per light). Most visits of an
indicator's page build it (issue 16's load: 100 pages over five workers' own caches).
tests/dashboards/test_indicator_rows.py compares them with the templates' loops they replace."""

from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import gettext as _

from kpitrack.core.formatting import coded_figure, figure, percent, roc_year
from performance.selectors import HistoryEntry
from performance.work_rows import light_html

from .selectors import IndicatorPage


def _text(value) -> str:
    # As a template prints a variable.
    return conditional_escape(localize(value))


def _or_dash(text) -> str:
    # `|default:"—"`: an empty value reads as a dash.
    return _text(text) if text else "—"


def _quarter(quarter: int) -> str:
    return _("第%(q)s季") % {"q": _text(quarter)}


def part_rows(page: IndicatorPage) -> SafeString:
    """The 目標值 table's rows: each target part, its original value when revised."""
    i = page.indicator
    not_revised = _("未修正")
    html = []
    for p in page.parts:
        unit = f" {_text(p.unit)}" if p.unit else ""
        value = _or_dash(coded_figure(p.value, method=i.method, standard=i.measurement_standard))
        original = f"{_text(figure(p.original_value))}{unit}" if p.is_revised else not_revised
        html.append(
            f"<tr><td>{_text(p.label)}</td><td>{value}{unit}</td><td>{original}</td>"
            f"<td>{_or_dash(p.revision_reason)}</td></tr>"
        )
    return mark_safe("".join(html))  # noqa: S308 (every value escaped above)


def quarterly_rows(page: IndicatorPage) -> SafeString:
    """The 各季累計 table's rows (but its projection's): each quarter with approved figures."""
    i = page.indicator
    html = []
    for p in page.quarterly:
        value = coded_figure(p.outcome.value, method=i.method, standard=i.measurement_standard)
        html.append(
            f'<tr><th scope="row">{_quarter(p.quarter)}</th><td>{_or_dash(value)}</td>'
            f"<td>{_text(p.judgement.text)}</td><td>{_or_dash(percent(p.judgement.progress))}</td>"
            f"<td>{_or_dash(percent(p.outcome.rate))}</td>"
            f"<td>{light_html(p.judgement.status)}</td></tr>"
        )
    return mark_safe("".join(html))  # noqa: S308


def trend_rows(page: IndicatorPage) -> SafeString:
    """The 歷年比較 table's rows: each year's latest quarter with approved figures."""
    i = page.indicator
    html = []
    for p in page.trend:
        value = coded_figure(p.outcome.value, method=i.method, standard=i.measurement_standard)
        html.append(
            f'<tr><th scope="row"><a href="?year={_text(p.year)}">{_text(roc_year(p.year))}</a>'
            f"</th><td>{_quarter(p.quarter)}</td><td>{_or_dash(value)}</td>"
            f"<td>{_or_dash(percent(p.outcome.rate))}</td>"
            f"<td>{light_html(p.outcome.status)}</td></tr>"
        )
    return mark_safe("".join(html))  # noqa: S308


def history_rows(history: list[HistoryEntry]) -> SafeString:
    """The 異動紀錄 table's rows, newest first as given."""
    html = []
    for e in history:
        # `|date:"Y-m-d H:i"`, each part as django.utils.dateformat pads it: written here, as
        # every cached visit writes these rows anew (its people named anew).
        t = template_localtime(e.when)
        when = f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}"
        html.append(
            f"<tr><td>{_text(when)}</td><td>{_or_dash(e.who)}</td><td>{_text(e.what)}</td>"
            f"<td>{_or_dash(e.old)}</td><td>{_or_dash(e.new)}</td><td>{_or_dash(e.why)}</td></tr>"
        )
    return mark_safe("".join(html))  # noqa: S308
