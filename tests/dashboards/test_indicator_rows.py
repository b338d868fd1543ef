"""An indicator's page's rows, written in Python (kpitrack/dashboards/indicator_rows.py): the same
characters as the templates' loops they replace, for every indicator and year of the seed, in
both languages, and for what the seed does not have (escaping, revisions, coded figures, no rate,
history by nobody)."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from budget.models import Agency
from kpitrack.core.engine.achievement import Status
from kpitrack.dashboards.indicator_rows import history_rows, part_rows, quarterly_rows, trend_rows
from kpitrack.dashboards.selectors import indicator_outcomes, indicator_page
from performance.models import Indicator, TargetPart
from performance.selectors import HistoryEntry

pytestmark = pytest.mark.django_db

# The loops of templates/dashboards/_indicator.html and _indicator_history.html before they were
# written in Python.
PARTS = """{% load i18n kpi %}{% with i=page.indicator %}{% for p in page.parts %}<tr><td>{{ p.label }}</td><td>{{ p.value|coded_figure:i|default:"—" }}{% if p.unit %} {{ p.unit }}{% endif %}</td><td>{% if p.is_revised %}{{ p.original_value|figure }}{% if p.unit %} {{ p.unit }}{% endif %}{% else %}{% translate "未修正" %}{% endif %}</td><td>{{ p.revision_reason|default:"—" }}</td></tr>{% endfor %}{% endwith %}"""  # noqa: E501
QUARTERLY = """{% load i18n kpi %}{% with i=page.indicator %}{% for p in page.quarterly %}<tr><th scope="row">{% blocktranslate with q=p.quarter %}第{{ q }}季{% endblocktranslate %}</th><td>{{ p.outcome.value|coded_figure:i|default:"—" }}</td><td>{{ p.judgement.text }}</td><td>{{ p.judgement.progress|percent|default:"—" }}</td><td>{{ p.outcome.rate|percent|default:"—" }}</td><td>{% include "dashboards/_light.html" with status=p.judgement.status %}</td></tr>{% endfor %}{% endwith %}"""  # noqa: E501
TREND = """{% load i18n kpi %}{% with i=page.indicator %}{% for p in page.trend %}<tr><th scope="row"><a href="?year={{ p.year }}">{{ p.year|roc_year }}</a></th><td>{% blocktranslate with q=p.quarter %}第{{ q }}季{% endblocktranslate %}</td><td>{{ p.outcome.value|coded_figure:i|default:"—" }}</td><td>{{ p.outcome.rate|percent|default:"—" }}</td><td>{% include "dashboards/_light.html" with status=p.outcome.status %}</td></tr>{% endfor %}{% endwith %}"""  # noqa: E501
HISTORY = """{% for e in history %}<tr><td>{{ e.when|date:"Y-m-d H:i" }}</td><td>{{ e.who|default:"—" }}</td><td>{{ e.what }}</td><td>{{ e.old|default:"—" }}</td><td>{{ e.new|default:"—" }}</td><td>{{ e.why|default:"—" }}</td></tr>{% endfor %}"""  # noqa: E501


def _same(page):
    context = Context({"page": page})
    assert part_rows(page) == Template(PARTS).render(context)
    assert quarterly_rows(page) == Template(QUARTERLY).render(context)
    assert trend_rows(page) == Template(TREND).render(context)


def _odd(page):
    """The page with what the seed lacks: markup in every text, a revised part and one without
    a unit or value, a figure coded as 達成, an outcome that cannot be computed."""
    i = page.indicator
    parts = [
        TargetPart(
            indicator=i,
            label='<b>"A" & B</b>',
            value=Decimal("1234.50"),
            original_value=Decimal("1000"),
            revision_reason="<調整> & 說明",
            unit="<件>",
        ),
        TargetPart(indicator=i, label="x", value=None, unit=""),
        TargetPart(indicator=i, label="y", value=Decimal("7"), original_value=Decimal("7")),
    ]
    points = [*page.quarterly, *page.trend]
    if not points:
        return page
    first = points[0]
    empty = replace(first.outcome, value=None, rate=None, status=Status.WHITE)
    odd = replace(first, quarter=3, outcome=empty)
    if first.judgement is not None:
        odd = replace(odd, judgement=replace(first.judgement, progress=None, status=Status.WHITE))
    return replace(
        page,
        parts=parts,
        quarterly=[*page.quarterly, odd] if page.quarterly else page.quarterly,
        trend=[*page.trend, replace(odd, judgement=None, year=2099)],
    )


@pytest.mark.parametrize("language", ["zh-hant", "en"])
def test_the_rows_are_the_templates_for_every_indicator_and_year(language):
    seen = 0
    with translation.override(language):
        for agency in Agency.objects.all():
            codes = set(
                Indicator.objects.filter(goal__agency=agency).values_list("code", flat=True)
            )
            for code in sorted(codes):
                by_year = indicator_outcomes(agency=agency, code=code)
                for year in by_year:
                    page = indicator_page(by_year=by_year, year=year)
                    _same(page)
                    _same(_odd(page))
                    seen += 1
    assert seen > 10


def test_coded_figures_read_the_same():
    """A rating's 1 and 0 read 達成 / 未達成, an ordinal's codes as its 衡量標準 words them."""
    indicator = Indicator.objects.filter(parts__isnull=False).first()
    by_year = indicator_outcomes(agency=indicator.goal.agency, code=indicator.code)
    page = indicator_page(by_year=by_year, year=indicator.goal.year)
    i = page.indicator
    i.measurement_standard = "0代表「均未達到 <x>」，1代表「達到1項」，7代表「達到 & 超過」"
    for method in ("rating", "ordinal"):
        i.method = method
        for value in (Decimal(0), Decimal(1), Decimal(7), Decimal("0.5")):
            parts = [TargetPart(indicator=i, label="p", value=value, unit="")]
            points = [replace(p, outcome=replace(p.outcome, value=value)) for p in page.quarterly]
            trend = [replace(p, outcome=replace(p.outcome, value=value)) for p in page.trend]
            _same(replace(page, parts=parts, quarterly=points, trend=trend))


@pytest.mark.parametrize("language", ["zh-hant", "en"])
def test_the_history_rows_are_the_templates(language):
    when = datetime(2026, 12, 31, 17, 5, tzinfo=UTC)  # 2027-01-01 01:05 in Taipei
    history = [
        HistoryEntry(when, "王 <大明>", "名稱", "舊 & 名", "新 <名>", '理由 "a"', "~", 1),
        HistoryEntry(when, "", "目標值「x」", "", "12", "", "+", None),
        HistoryEntry(datetime(2012, 3, 4, 5, 6, tzinfo=UTC), "bob", "<x>", "1", "", "", "-", 2),
    ]
    with translation.override(language):
        assert history_rows(history) == Template(HISTORY).render(Context({"history": history}))
        assert history_rows([]) == ""
