"""Every dashboard page and API answer runs the same number of queries at both data sizes of
tests/factories.py, counted exactly (a query per agency, indicator or year fails on LARGE)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from performance.services import outcomes

from ..factories import LARGE, SMALL, build

pytestmark = pytest.mark.django_db

SIZES = [pytest.param(SMALL, id="small"), pytest.param(LARGE, id="large")]


def store(built):
    """The factories write in bulk, past the services: store their outcomes as a load would."""
    outcomes.refresh(pairs={(a.pk, year) for a in built.agencies for year in built.years})


# Every signed-in request starts with 2 (session, user), then the scope: the agency with the
# agencies under it (1; 2 before issue 16's load read them together). A period is the years (1)
# and the latest quarter with approved data (1). The indicator table counts its rows in the
# database and reads only the page shown, in full, with the results' states: count, page,
# policies (3).
# An HTML page adds 1: the header bell's unread notifications (issue 17); the API answers do
# not.
QUERIES = {
    # + period, the quarter's outcomes (counts, goals' lines and attention list from one read:
    # issue 16 made them one query instead of three) and policies, the attention list's rows in
    # full. The API answer comes second for the same scope and version: its figures are cached
    # (not the two reads). The pages and the API read their agencies' outcomes' versions (their
    # cache key, issue 16) with the scope, in its query (one more each while it was read alone:
    # the API until the versions were per agency, 8).
    "overview": 10,
    "overview-api": 7,
    # + period (the years: the address gives the quarter), the table, the chosen agency's unit
    # and goal choices; the HTML page also the header bell's unread notifications (1)
    "indicators": 10,
    "indicators-api": 7,
    # + the unit, period, the unit's outcomes (one read for counts, goals and attention, as the
    # overview: issue 16), policies; the attention list's rows (nothing needs attention in the
    # factories' unit: none read)
    "unit": 8,
    # + the code's outcomes and policies, the narrative, the target parts, history (3)
    "indicator": 11,
    "indicator-api": 10,
}


def _pages(built):
    ministry, agency, year = built.ministry.code, built.agency.code, built.last_year
    period = f"?year={year}&quarter=4"
    return {
        "overview": f"/dashboards/{ministry}/",
        "overview-api": f"/api/v1/dashboards/{ministry}/",
        "indicators": f"/dashboards/{ministry}/indicators/{period}",
        "indicators-api": f"/api/v1/dashboards/{ministry}/indicators/{period}",
        "unit": f"/dashboards/{agency}/units/u1/{period}",
        "indicator": f"/dashboards/{agency}/indicators/growth-2/",
        "indicator-api": f"/api/v1/dashboards/{agency}/indicators/growth-2/",
    }


# A page asked for again before the outcomes change is served from the cache (issue 16): the
# session, the user, the scope with the outcomes' version (1; 2 while the version was read
# alone), the header bell; the unit's page also finds the unit first. The indicator's history is
# kept with the body; naming its people anew takes 1 more where it names anybody (nobody here);
# it read its history again (3) before issue 16's load.
CACHED = {"overview": 4, "indicators": 4, "unit": 5, "indicator": 4}


@pytest.mark.parametrize("size", SIZES)
def test_each_page_runs_a_fixed_number_of_queries(client, alice, size):
    built = build(size, prefix=f"q{size.agencies}")
    store(built)
    client.force_login(alice)
    counted = {}
    for name, url in _pages(built).items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (name, response.content[:300])
        counted[name] = len(queries)
    assert counted == QUERIES
    again = {}
    for name, url in _pages(built).items():
        if name in CACHED:
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            again[name] = len(queries)
    assert again == CACHED
