"""The overview page: the period it opens on, counts per light, goals, attention, a ministry."""

import re
from collections import Counter
from decimal import Decimal

import pytest

from kpitrack.core.engine.achievement import round_decimal
from performance.selectors import achievements_for_year, judgements_for_year

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


def test_it_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/dashboards/nia/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_menu_link_opens_the_top_agency_the_user_may_see(client, alice, bob):
    client.force_login(alice)
    assert client.get("/dashboards/")["Location"] == "/dashboards/moi/"
    client.force_login(bob)
    assert client.get("/dashboards/")["Location"] == "/dashboards/nia/"


def test_it_opens_on_the_latest_quarter_with_approved_data(signed_in):
    # 2013 has indicators but no results; 2012 has approved results through Q2 only.
    response = signed_in.get("/dashboards/nia/")
    assert (response.context["period"].year, response.context["period"].quarter) == (2012, 2)
    assert "資料截至第2季" in response.text


def test_a_year_without_approved_data_says_so(signed_in):
    response = signed_in.get("/dashboards/nia/?year=2013")
    assert response.status_code == 200
    assert "這個年度尚無已核定的資料。" in response.text


def test_the_counts_per_light_are_the_engines(signed_in):
    """Through Q2 a light judges the quarter against its milestone (分季目標): repatriation's
    5,650 is 80.21% of the year's 7,043 (yellow against the year) but 160.42% of the default Q2
    milestone 3,522, so it counts green."""
    response = signed_in.get("/dashboards/nia/")
    engine = Counter(
        j.status.value for j in judgements_for_year(year=2012, through_quarter=2).values()
    )
    assert response.context["ov"].counts == {"green": 6, "yellow": 0, "red": 1, "white": 4}
    assert response.context["ov"].counts == {
        k: engine.get(k, 0) for k in response.context["ov"].counts
    }


def test_each_goal_is_its_indicators_rates_weighted_and_capped_at_100(signed_in):
    """Through Q3 the rates are 達成進度, against each quarter's milestone."""
    response = signed_in.get("/dashboards/nia/")
    expected = {}
    judged = judgements_for_year(year=2012, through_quarter=2)
    for a in achievements_for_year(year=2012, through_quarter=2):
        progress = judged[a.indicator.pk].progress
        if progress is not None:
            rates = expected.setdefault(a.goal.title, [])
            rates.append((a.indicator.weight, min(progress, Decimal(100))))
    goals = {g.title: g for g in response.context["ov"].goals}
    assert len(goals) == 11
    for title, rates in expected.items():
        weighted = sum(w * r for w, r in rates) / sum(w for w, _r in rates)
        assert goals[title].rate == round_decimal(weighted, 2, "half_up")
    # The 1,573.77% of the snakehead indicator counts as 100% in its goal.
    assert goals["打擊人口販運，提升人蛇防制及查緝績效"].rate == Decimal("100.00")
    unevaluated = [g for g in goals.values() if g.rate is None]
    assert {g.status.value for g in unevaluated} == {"white"}


def test_the_red_indicator_comes_first_among_those_needing_attention(signed_in):
    response = signed_in.get("/dashboards/nia/")
    attention = response.context["ov"].attention
    assert attention[0].indicator.code == "auto-gate"
    assert attention[0].attention == ("red",)
    assert "開發自動查驗通關系統及建置自動查驗通關設備" in response.text
    assert "7.14%" in response.text


def test_a_ministry_covers_the_agencies_under_it(admin):
    response = admin.get("/dashboards/moi/")
    ov = response.context["ov"]
    assert [a.code for a in ov.scope.agencies] == ["moi", "nia"]
    assert ov.counts == {"green": 6, "yellow": 0, "red": 1, "white": 4}
    assert [(s.agency.code, s.total) for s in ov.agencies] == [("nia", 11)]
    assert "入出國及移民署" in response.text


def test_a_bad_year_is_answered_with_the_period_forms_message(signed_in):
    response = signed_in.get("/dashboards/nia/?year=abc")
    assert response.status_code == 400
    assert "年度必須是西元年的數字" in response.text
    response = signed_in.get("/dashboards/nia/?year=2012&quarter=9")
    assert response.status_code == 400
    assert "季別必須是 1 到 4 的整數。" in response.text


def test_an_unknown_agency_is_not_found(signed_in):
    assert signed_in.get("/dashboards/nowhere/").status_code == 404


def test_an_agency_that_is_not_the_users_is_forbidden(signed_in):
    # bob reads nia only, not the ministry above it.
    assert signed_in.get("/dashboards/moi/").status_code == 403
    assert signed_in.get("/dashboards/moi/indicators/").status_code == 403


def test_anyone_signed_in_without_a_membership_sees_nothing(client, charlie):
    client.force_login(charlie)
    assert client.get("/dashboards/nia/").status_code == 403
    assert "尚無可檢視的機關" in client.get("/dashboards/").text


def test_attention_judges_the_quarter_against_its_milestone(signed_in, alice):
    """Issue 17: an indicator on pace is not listed red; one behind its planned progress is,
    though the annual rate alone would not make it red."""
    from performance.models import Indicator
    from performance.services import milestone_set

    def red():
        rows = signed_in.get("/dashboards/nia/").context["ov"].attention
        return [row.indicator.code for row in rows if "red" in row.attention]

    assert red() == ["auto-gate"]
    repatriation = Indicator.objects.get(code="repatriation", goal__year=2012)
    # 5,650 of a planned 10,000 through Q2: 56.50%, red (80.21% of the year: yellow).
    milestone_set(
        indicator=repatriation, quarter=2, value=Decimal("10000"), user=alice, reason="計畫"
    )
    # Red ones by their 達成進度, lowest first: auto-gate's 14.29% before 56.50%.
    assert red() == ["auto-gate", "repatriation"]


def test_a_cached_ministry_overview_changes_with_the_outcomes(admin, alice):
    """Issue 16: a ministry's figures are cached per version of the stored outcomes; a write
    that refreshes them is seen at once by the page and the API, never the figures before it."""
    from performance.models import Indicator
    from performance.services import milestone_set

    def reds():
        # Read off the page itself: a cached page renders no context (issue 16 caches its body).
        html = admin.get("/dashboards/moi/").content.decode()
        red = int(re.search(r'class="count red">.*?<span class="n">(\d+)<', html).group(1))
        attention = html.split('id="attention-h"', 1)[1].split("</section>", 1)[0]
        api = admin.get("/api/v1/dashboards/moi/").json()
        return red, api["counts"]["red"], attention.count("<tr>") - 1  # less the header's

    before = reds()
    assert before[:2] == (1, 1)
    assert reds() == before  # served again (from the cache) unchanged
    repatriation = Indicator.objects.get(code="repatriation", goal__year=2012)
    milestone_set(
        indicator=repatriation, quarter=2, value=Decimal("10000"), user=alice, reason="計畫"
    )
    assert reds()[:2] == (2, 2)


def test_with_the_shared_cache_down_the_overview_is_read_from_the_database(admin, settings):
    """Redis down with REDIS_URL set: the page and the API still answer (a 500 before), and
    the figures are those of the database."""
    from django.core.cache import caches

    expected = admin.get("/api/v1/dashboards/moi/").json()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/1",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    try:
        page = admin.get("/dashboards/moi/")
        api = admin.get("/api/v1/dashboards/moi/")
    finally:
        caches.close_all()
    assert page.status_code == 200
    assert page.context["ov"].counts["red"] == expected["counts"]["red"]
    assert api.status_code == 200
    assert api.json()["counts"] == expected["counts"]
    assert api.json()["goals"] == expected["goals"]
