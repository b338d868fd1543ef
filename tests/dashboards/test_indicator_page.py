"""An indicator's page: definition, targets and revisions, charts, trend, projection, history."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from performance.models import Indicator
from performance.services import target_part_revise

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, bob):
    """bob reads nia (檢視)."""
    client.force_login(bob)
    return client


@pytest.fixture
def admin(client, alice):
    """alice, a superuser, reads every agency, the ministry too."""
    client.force_login(alice)
    return client


def test_it_shows_the_definition_and_the_quarter_reached(signed_in):
    response = signed_in.get("/dashboards/nia/indicators/pass-card/?year=2012")
    text = response.text
    assert "外籍專業人士申請核發就業PASS卡" in text
    assert "衡量標準" in text
    indicator = Indicator.objects.get(code="pass-card", goal__year=2012)
    assert indicator.measurement_standard.splitlines()[0] in text
    page = response.context["page"]
    assert [(p.quarter, p.outcome.rate) for p in page.quarterly] == [(2, Decimal("103.13"))]


def test_the_newest_year_is_the_default_and_the_trend_spans_the_years(signed_in):
    response = signed_in.get("/dashboards/nia/indicators/intl-cooperation/")
    page = response.context["page"]
    assert page.year == 2013
    assert [(p.year, p.quarter, p.outcome.rate) for p in page.trend] == [
        (2011, 4, page.trend[0].outcome.rate),
        (2012, 2, Decimal("116.67")),
    ]


def test_charts_are_svg_with_a_title_a_description_and_text_labels(signed_in):
    response = signed_in.get("/dashboards/nia/indicators/pass-card/?year=2012")
    text = response.text
    assert '<svg class="chart" id="quarterly-chart"' in text
    assert '<title id="quarterly-chart-title">各季累計達成率</title>' in text
    assert "第2季：103.13% 綠燈" in text  # the description reads out every bar
    assert "Noto Sans CJK TC" in text
    # Status as a word and a symbol beside the colour.
    assert "● 103.13% 綠燈" in text
    # The data table repeats the chart's values for those who cannot see it.
    assert "<caption>各季累計達成率</caption>" in text


def test_a_revised_target_shows_the_original_and_the_reason(signed_in, alice):
    indicator = Indicator.objects.get(code="pass-card", goal__year=2012)
    target_part_revise(
        part=indicator.parts.get(),
        value=Decimal("200"),
        expected_version=indicator.version,
        user=alice,
        reason="業務量調整",
    )
    response = signed_in.get("/dashboards/nia/indicators/pass-card/?year=2012")
    assert "業務量調整" in response.text
    assert response.context["page"].quarterly[0].outcome.rate == Decimal("82.50")
    history = response.context["history"]
    assert history and history[0].why == "業務量調整"
    assert "alice" in response.text


def test_a_flow_indicator_shows_its_projection_as_projected(admin):
    signed_in = admin
    call_command("generate_demo", agencies=1, indicators=9, years=2, last_year=2041, prefix="pj")
    response = signed_in.get("/dashboards/pj-01/indicators/k000/?year=2041")
    page = response.context["page"]
    assert page.quarter == 2 and page.projection is not None
    assert page.indicator.aggregation == "sum"
    assert "全年預估" in response.text
    assert "預估（非實績）" in response.text
    # The projection is its own bar, never one of the quarters' actuals.
    assert [p.quarter for p in page.quarterly] == [1, 2]


def test_an_unknown_indicator_or_year_is_answered_clearly(signed_in):
    assert signed_in.get("/dashboards/nia/indicators/nothing/").status_code == 404
    response = signed_in.get("/dashboards/nia/indicators/pass-card/?year=2010")
    assert response.status_code == 400
    assert "這個指標在 2010 年沒有資料。" in response.text


def test_each_quarter_is_judged_against_its_milestone_beside_the_annual_rate(signed_in, alice):
    """Issue 17: repatriation's 5,650 through Q2 is 80.21% of the year's 7,044 (yellow against
    the year) and 160.42% of the Q2 milestone 3,522 (the default, half the target): green."""
    from performance.services import milestone_set

    url = "/dashboards/nia/indicators/repatriation/?year=2012"
    page = signed_in.get(url).content.decode()
    row = page.split("第2季預定 3,522（預設），實際 5,650，超前進度", 1)[1].split("</tr>")[0]
    assert "160.42%" in row and "80.21%" in row
    assert 'class="light green"' in row  # the chart beside plots the annual rate, yellow
    # A planned 7,000 through Q2 puts it behind: 80.71%, yellow.
    indicator = Indicator.objects.get(code="repatriation", goal__year=2012)
    milestone_set(indicator=indicator, quarter=2, value=Decimal("7000"), user=alice, reason="計畫")
    page = signed_in.get(url).content.decode()
    row = page.split("第2季預定 7,000，實際 5,650，落後進度", 1)[1].split("</tr>")[0]
    assert "80.71%" in row and 'class="light yellow"' in row
