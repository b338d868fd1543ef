"""My work's table rows, written in Python: the HTML the template wrote, character for
character, without rendering a template per row (and an include per light). My work is the page
everybody opens (issue 16's load); a planner's list has hundreds of rows.
tests/performance/test_work_rows.py compares them with the template they replace."""

from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from kpitrack.core.formatting import coded_figure, percent

from .reasons import status_label
from .selectors import WorkRow

_SHAPES = {"green": "●", "yellow": "▲", "red": "■"}


def light_html(status) -> SafeString:
    """templates/dashboards/_light.html, in Python (its final newline too)."""
    value = conditional_escape(status.value)
    shape = _SHAPES.get(status.value, "○")
    label = conditional_escape(status_label(status))
    return mark_safe(
        f'<span class="light {value}"><span aria-hidden="true">{shape}</span> {label}</span>\n'
    )


def _number(value) -> str:
    # As a template prints a variable.
    return conditional_escape(localize(value))


def _latest(row: WorkRow) -> str:
    if not row.last_figures:
        return "—"
    i = row.indicator
    return "；".join(
        f"{conditional_escape(label)} "
        + conditional_escape(coded_figure(value, method=i.method, standard=i.measurement_standard))
        for label, value in row.last_figures
    )


def _judgement(row: WorkRow, annual: str) -> str:
    j = row.judgement
    if not j:
        return "—"
    html = f"{light_html(j.status)} {conditional_escape(j.text)}"
    if j.basis == "milestone":
        rate = "—" if j.annual_rate is None else conditional_escape(percent(j.annual_rate))
        html += f"<br><small>{annual} {rate}</small>"
    return html


def _days(row: WorkRow) -> str:
    if row.days_left is None:
        return "—"
    if row.days_left < 0:
        return _("已逾期 %(n)s 天") % {"n": _number(row.overdue)}
    return _("剩 %(n)s 天") % {"n": _number(row.days_left)}


def work_rows_html(rows: tuple[WorkRow, ...], quarter: int) -> SafeString:
    """The table's rows, each as the template wrote it: its indicator (linked to its entry),
    unit, target, latest figures, the quarter's judgement, state and days left."""
    # Unescaped, as the template's {% translate %} of its own text wrote them.
    target, latest, progress = _("目標值"), _("最近填報"), _("本季進度")
    state, days, annual = _("狀態"), _("剩餘天數"), _("全年達成率")
    html = []
    for row in rows:
        i = row.indicator
        url = conditional_escape(reverse("result-entry", args=[i.pk, quarter]))
        unit = i.responsible_unit
        html.append(
            "\n    <tr>\n"
            f'      <th scope="row"><a href="{url}">{conditional_escape(i.name)}</a>'
            + (f"<br><small>{conditional_escape(unit.name)}</small>" if unit else "")
            + "</th>\n"
            f'      <td data-label="{target}">{conditional_escape(i.target)}</td>\n'
            f'      <td data-label="{latest}">{_latest(row)}</td>\n'
            f'      <td data-label="{progress}" data-testid="judgement">'
            f"{_judgement(row, annual)}</td>\n"
            f'      <td data-label="{state}"><strong>{conditional_escape(row.state_label)}'
            "</strong></td>\n"
            f'      <td data-label="{days}">{_days(row)}</td>\n'
            "    </tr>"
        )
    return mark_safe("".join(html))
