"""My work's rows, written in Python (performance/work_rows.py): the same characters as the
template they replace, for every judgement the demo makes and the cases it does not."""

from dataclasses import replace
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.template import Context, Template
from django.utils import translation

from kpitrack.core.engine.achievement import Status
from performance.selectors import my_work
from performance.work_rows import light_html, work_rows_html

# templates/performance/my_work.html's rows before they were written in Python.
TEMPLATE = """{% load i18n kpi %}{% translate '目標值' as l_target %}{% translate '最近填報' as l_latest %}{% translate '本季進度' as l_progress %}{% translate '狀態' as l_state %}{% translate '剩餘天數' as l_days %}{% translate "全年達成率" as l_annual %}{% for row in rows %}
    <tr>
      <th scope="row"><a href="{% url 'result-entry' row.indicator.pk quarter %}">{{ row.indicator.name }}</a>{% if row.indicator.responsible_unit %}<br><small>{{ row.indicator.responsible_unit.name }}</small>{% endif %}</th>
      <td data-label="{{ l_target }}">{{ row.indicator.target }}</td>
      <td data-label="{{ l_latest }}">{% for label, value in row.last_figures %}{{ label }} {{ value|coded_figure:row.indicator }}{% if not forloop.last %}；{% endif %}{% empty %}—{% endfor %}</td>
      <td data-label="{{ l_progress }}" data-testid="judgement">{% with j=row.judgement %}{% if j %}{% include "dashboards/_light.html" with status=j.status %} {{ j.text }}{% if j.basis == "milestone" %}<br><small>{{ l_annual }} {% if j.annual_rate is not None %}{{ j.annual_rate|percent }}{% else %}—{% endif %}</small>{% endif %}{% else %}—{% endif %}{% endwith %}</td>
      <td data-label="{{ l_state }}"><strong>{{ row.state_label }}</strong></td>
      <td data-label="{{ l_days }}">{% if row.days_left is None %}—{% elif row.days_left < 0 %}{% blocktranslate with n=row.overdue %}已逾期 {{ n }} 天{% endblocktranslate %}{% else %}{% blocktranslate with n=row.days_left %}剩 {{ n }} 天{% endblocktranslate %}{% endif %}</td>
    </tr>{% endfor %}"""  # noqa: E501


def _odd_cases(rows):
    """What the demo does not make: escaping, no unit, coded figures, deadlines either side."""
    first = rows[0]
    i = first.indicator
    judged = next(row for row in rows if row.judgement is not None)
    return [
        replace(
            first,
            indicator=replace(i, name='<b>"A" & B</b>', target="1 < 2 & 3", responsible_unit=None),
            last_figures=(("<x>", Decimal("1234.50")), ("y&z", None)),
            state_label="<草稿>",
            days_left=-3,
        ),
        replace(
            first,
            indicator=replace(i, method="rating"),
            last_figures=(("評定", Decimal(1)), ("評定", Decimal(0))),
            days_left=None,
        ),
        replace(
            first,
            indicator=replace(
                i, method="ordinal", measurement_standard="0代表「未達」，2代表「<全部>」"
            ),
            last_figures=(("等級", Decimal(2)), ("等級", Decimal(1))),
            days_left=0,
        ),
        replace(judged, judgement=replace(judged.judgement, annual_rate=None)),
        *(replace(judged, judgement=replace(judged.judgement, status=status)) for status in Status),
    ]


@pytest.mark.parametrize("quarter", [1, 2, 3, 4])
def test_the_rows_are_what_the_template_wrote(django_user_model, quarter):
    call_command("generate_demo", agencies=1, indicators=20, years=2, last_year=2042, prefix="wr")
    user = django_user_model.objects.create_superuser("wr-admin")
    rows = my_work(user=user, year=2042, quarter=quarter).rows
    assert any(row.judgement for row in rows) == (quarter in (1, 2))  # the demo enters Q1, Q2
    if quarter in (1, 2):
        rows = (*rows, *_odd_cases(rows))
    for language in ("zh-hant", "en"):
        with translation.override(language):
            template = Template(TEMPLATE).render(Context({"rows": rows, "quarter": quarter}))
            assert work_rows_html(rows, quarter) == template


@pytest.mark.parametrize("status", list(Status))
def test_a_light_is_what_its_template_writes(status):
    from django.template.loader import render_to_string

    assert light_html(status) == render_to_string("dashboards/_light.html", {"status": status})
