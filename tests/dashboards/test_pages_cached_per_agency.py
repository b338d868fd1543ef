"""A dashboard page is cached per version of the agencies it shows (issue 16): a save in one
agency rebuilds that agency's pages and its ministry's, and leaves every other agency's cached
pages served as they were (with one version for all, a ministry's saves every few seconds left
no page cached)."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budget.models import Agency, Unit
from budget.services import agency_create, unit_update
from kpitrack.dashboards import views
from performance.models import AgencyOutcomesVersion, Indicator, TargetPart
from performance.services import outcomes, target_part_revise

from ..factories import LARGE, build

pytestmark = pytest.mark.django_db

WHY = "測試"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture
def built():
    built = build(LARGE, prefix="pa")
    outcomes.refresh(pairs={(a.pk, year) for a in built.agencies for year in built.years})
    return built


@pytest.fixture
def stored(monkeypatch) -> list[str]:
    """The keys of the page bodies built and stored from now on."""
    keys = []
    cache_set = views.cache_set

    def spy(key, value, timeout):
        keys.append(key)
        cache_set(key, value, timeout)

    monkeypatch.setattr(views, "cache_set", spy)
    return keys


def _pages(built) -> dict[str, str]:
    (a, b), year = built.agencies[:2], built.last_year
    period = f"?year={year}&quarter=4"
    return {
        "a-indicator": f"/dashboards/{a.code}/indicators/count-3/?year={year}",
        "a-unit": f"/dashboards/{a.code}/units/u2/{period}",
        "b-overview": f"/dashboards/{b.code}/{period}",
        "b-indicators": f"/dashboards/{b.code}/indicators/{period}",
        "b-indicator": f"/dashboards/{b.code}/indicators/count-3/?year={year}",
        "b-unit": f"/dashboards/{b.code}/units/u2/{period}",
        "ministry": f"/dashboards/{built.ministry.code}/{period}",
        "ministry-indicators": f"/dashboards/{built.ministry.code}/indicators/{period}",
    }


def _visit(client, pages, stored) -> tuple[dict[str, str], set[str]]:
    """Each page's body, and which pages were built (not served from the cache)."""
    answers, built = {}, set()
    for name, url in pages.items():
        before = len(stored)
        response = client.get(url)
        assert response.status_code == 200, (name, response.content[:300])
        answers[name] = TOKEN.sub("", response.content.decode())
        if len(stored) > before:
            built.add(name)
    return answers, built


def test_a_save_in_one_agency_rebuilds_its_pages_and_its_ministrys_alone(
    client, alice, built, stored
):
    client.force_login(alice)
    pages = _pages(built)
    first, built_first = _visit(client, pages, stored)
    assert built_first == set(pages)
    assert _visit(client, pages, stored)[1] == set()  # all cached
    a = built.agencies[0]
    indicator = Indicator.objects.get(goal__agency=a, goal__year=built.last_year, code="count-3")
    part = TargetPart.objects.get(indicator=indicator)
    target_part_revise(
        part=part, value=Decimal("987"), expected_version=indicator.version, user=alice, reason=WHY
    )
    served, rebuilt = _visit(client, pages, stored)
    assert rebuilt == {"a-indicator", "a-unit", "ministry", "ministry-indicators"}
    assert "987" in served["a-indicator"] and "987" not in first["a-indicator"]
    for name in ("b-overview", "b-indicators", "b-indicator", "b-unit"):
        assert served[name] == first[name]


def test_a_unit_renamed_rebuilds_its_agencys_pages_and_its_ministrys_alone(
    client, alice, built, stored
):
    """No outcome changes: a new version alone, of the unit's agency."""
    client.force_login(alice)
    pages = _pages(built)
    first, _built = _visit(client, pages, stored)
    unit = Unit.objects.get(agency=built.agencies[0], code="u2")
    unit_update(unit=unit, expected_version=unit.version, user=alice, reason=WHY, name="新名稱科")
    served, rebuilt = _visit(client, pages, stored)
    assert rebuilt == {"a-indicator", "a-unit", "ministry", "ministry-indicators"}
    assert "新名稱科" in served["a-unit"] and "新名稱科" in served["ministry-indicators"]
    for name in ("b-overview", "b-indicators", "b-indicator", "b-unit"):
        assert served[name] == first[name]


def test_a_ministry_page_is_rebuilt_when_any_agency_under_it_changes(client, alice, built, stored):
    client.force_login(alice)
    ministry = {"ministry": _pages(built)["ministry"]}
    _visit(client, ministry, stored)
    for agency in built.agencies:
        assert _visit(client, ministry, stored)[1] == set()
        outcomes.versions_renew(agency_ids={agency.pk})
        assert _visit(client, ministry, stored)[1] == {"ministry"}
    # The ministry's own version (its row made now: the factories made none).
    assert not AgencyOutcomesVersion.objects.filter(agency=built.ministry).exists()
    outcomes.versions_renew(agency_ids={built.ministry.pk})
    assert AgencyOutcomesVersion.objects.filter(agency=built.ministry).exists()
    assert _visit(client, ministry, stored)[1] == {"ministry"}


def test_what_a_write_touches_says_whose_version_changes():
    assert outcomes.targets_of({outcomes.version_of(7), ("agency", 8)}) == (set(), set(), {7, 8})
    # A write that cannot say which agency's pages it changed: every agency's.
    assert outcomes.targets_of({outcomes.VERSION_ONLY, (3, 2030)}) == ({(3, 2030)}, set(), None)


def test_a_refresh_changes_the_version_of_the_agencies_it_refreshed_in_one_statement(built):
    a, b, c = built.agencies[:3]
    tokens = dict(AgencyOutcomesVersion.objects.values_list("agency_id", "token"))
    with CaptureQueriesContext(connection) as queries:
        outcomes.refresh(pairs={(a.pk, built.last_year)}, agencies={b.pk})
    written = [q["sql"] for q in queries.captured_queries if "outcomesversion" in q["sql"]]
    assert len(written) == 1, written
    now = dict(AgencyOutcomesVersion.objects.values_list("agency_id", "token"))
    assert now[a.pk] != tokens[a.pk] and now[b.pk] != tokens[b.pk]
    assert now[c.pk] == tokens[c.pk]


def test_an_agency_made_gets_a_version_and_one_gone_is_no_error(alice):
    """An agency made by the service gets its row from what its save touched (its pages are
    then keyed by a token of their own); a touched agency deleted since is left out, not
    written with a row that would name no agency."""
    agency = agency_create(user=alice, code="new-agency", name="新機關")
    first = AgencyOutcomesVersion.objects.get(agency=agency).token
    outcomes.versions_renew(agency_ids={agency.pk})
    assert AgencyOutcomesVersion.objects.get(agency=agency).token != first
    gone = agency.pk
    Agency.objects.filter(pk=gone).delete()
    outcomes.versions_renew(agency_ids={gone})
    outcomes.refresh(pairs={(gone, 2030)})
    assert not AgencyOutcomesVersion.objects.filter(agency_id=gone).exists()
