"""My work's page around its rows, written in Python (performance/work_page.py): the same
characters as the template it replaced, for each kind of person, filter and refusal, in both
languages, with what needs escaping."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from budget.models import Unit
from performance.services import result_save_draft

pytestmark = pytest.mark.django_db

# templates/performance/my_work.html's content before it was written in Python.
TEMPLATE = """{% load i18n kpi static %}
<link rel="stylesheet" href="{% static 'css/work.css' %}">
<h1>{% translate "我的工作" %}{% if year %}：{{ year|roc_year }} {% blocktranslate with q=quarter %}第{{ q }}季{% endblocktranslate %}{% endif %}</h1>
{% if user|reviews_any %}<p><a href="{% url 'review-queue' %}">{% translate "前往審核清單：一次檢視並核准等待您初核或複核的成果" %}</a></p>{% endif %}
{% if form.errors %}<ul class="errorlist" role="alert">{% for errors in form.errors.values %}{% for e in errors %}<li>{{ e }}</li>{% endfor %}{% endfor %}</ul>{% endif %}
<form method="get" class="inline">
  <label for="year">{% translate "年度" %}</label>
  <select id="year" name="year">{% for y in years %}<option value="{{ y }}"{% if y == year %} selected{% endif %}>{{ y|roc_year }}</option>{% endfor %}</select>
  <label for="quarter">{% translate "季別" %}</label>
  <select id="quarter" name="quarter">{% for q in quarter_numbers %}<option value="{{ q }}"{% if q == quarter %} selected{% endif %}>{% blocktranslate %}第{{ q }}季{% endblocktranslate %}</option>{% endfor %}</select>
  <label for="{{ form.unit.id_for_label }}">{{ form.unit.label }}</label>
  {{ form.unit }}
  <label for="{{ form.state.id_for_label }}">{{ form.state.label }}</label>
  {{ form.state }}
  <button type="submit">{% translate "查詢" %}</button>
</form>
{% if unit_pages %}<ul class="inline-list unit-pages" aria-label="{% translate '本季本單位全部指標' %}">{% for code, unit in unit_pages %}<li><a href="{% url 'unit-quarter' code unit.code year quarter %}" data-testid="unit-page">{% blocktranslate with name=unit.name %}{{ name }}：本季全部指標一頁填報{% endblocktranslate %}</a></li>{% endfor %}</ul>{% endif %}
{% if work %}
<p><a href="{{ workbook_link }}">{% if unit %}{% blocktranslate with unit=unit.name %}以 Excel 活頁簿填報{{ unit }}這一季{% endblocktranslate %}{% else %}{% translate "以 Excel 活頁簿填報" %}{% endif %}</a></p>
<ul class="counts" aria-label="{% translate '各狀態件數' %}">{% for count, link in count_links %}<li><a href="{{ link }}"{% if count.state == state %} aria-current="true"{% endif %}>{{ count.label }}：<strong>{{ count.count }}</strong></a></li>{% endfor %}{% if state %}<li><a href="{{ all_states_link }}">{% translate "全部狀態" %}</a></li>{% endif %}</ul>
{% if work.rows %}
<table class="data work">
  <caption>{% translate "指標清單" %}</caption>
  <thead><tr><th scope="col">{% translate "指標" %}</th><th scope="col">{% translate "目標值" %}</th><th scope="col">{% translate "最近填報" %}</th><th scope="col">{% translate "本季進度" %}</th><th scope="col">{% translate "狀態" %}</th><th scope="col">{% translate "剩餘天數" %}</th></tr></thead>
  <tbody>{{ work_rows }}
  </tbody>
</table>
{% elif state or unit %}<p>{% translate "沒有符合篩選條件的指標。" %}</p>{% else %}<p>{% translate "這一季沒有需要您填報或審核的指標。" %}</p>{% endif %}
{% endif %}
"""  # noqa: E501


@pytest.mark.parametrize("language", ["zh-hant", "en"])
def test_the_page_is_what_the_template_wrote(client, workflow, people, alice, language):
    Unit.objects.filter(pk=workflow.unit.pk).update(name='<單位> & "甲"')
    result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("120")},
        narrative={},
        expected_version=None,
        user=alice,
    )
    unit, other = workflow.unit.pk, workflow.other_unit.pk
    cases = [
        ("staff", {}, 200),
        ("staff", {"state": "draft"}, 200),
        ("staff", {"state": "none", "unit": unit}, 200),
        ("planner", {}, 200),
        ("planner", {"unit": other}, 200),
        ("planner", {"unit": other, "state": "approved"}, 200),  # none: the filters' message
        ("planner", {"quarter": 2}, 200),
        ("planner", {"state": '<b>&"'}, 400),  # refused, the value in the message
        ("planner", {"unit": "abc", "quarter": "9"}, 400),
        ("planner", {"year": "abc"}, 400),
        ("other_staff", {"quarter": 4}, 200),
        (None, {}, 200),  # alice, who enters and reviews everything
    ]
    for name, params, status in cases:
        client.force_login(people[name] if name else alice)
        query = {"year": workflow.year, "quarter": 1, **params}
        response = client.get(reverse("my-work"), query, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == status
        context = {key: response.context[key] for key in response.context.keys()}
        with translation.override(language):
            assert response.context["page"] == Template(TEMPLATE).render(Context(context))
