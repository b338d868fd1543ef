"""The dashboards' cached pages are never older than the data (issue 16 caches a page's body per
version of the stored outcomes): after every public service of
tests/performance/test_outcomes_stay_fresh.py, each page asked for before the write answers
what it answers with nothing cached."""

import re

import pytest
from django.core.cache import cache, caches

from performance.models import Result
from tests.performance.test_outcomes_stay_fresh import (  # noqa: F401 (a fixture)
    CASES,
    World,
    _approved_row,
)

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def _pages(flow) -> list[str]:
    code, period = flow.agency.code, f"?year={flow.year}&quarter={flow.quarter}"
    return [
        f"/dashboards/{code}/{period}",
        f"/dashboards/{code}/indicators/{period}",
        f"/dashboards/{code}/indicators/{period}&state=draft",
        f"/dashboards/{code}/indicators/{flow.count.code}/?year={flow.year}",
        f"/dashboards/{code}/indicators/{flow.ratio.code}/?year={flow.year}",
        f"/dashboards/{code}/units/{flow.unit.code}/{period}",
    ]


def _answers(client, pages, hits=(), cached=None) -> dict:
    """Each page's answer; into `cached`, the pages whose request found anything in the cache
    (`hits`: a list that `cache_hits` fills)."""
    answers = {}
    for url in pages:
        found = len(hits)
        response = client.get(url)
        answers[url] = (response.status_code, TOKEN.sub("", response.content.decode()))
        if cached is not None and len(hits) > found:
            cached.add(url)
    return answers


@pytest.fixture
def cache_hits(monkeypatch) -> list:
    """The keys found in the cache, in order, from now to the test's end."""
    backend, hits = caches["default"], []
    get = backend.get

    def recording(key, default=None, version=None):
        found = get(key, default, version)
        if found is not default:
            hits.append(key)
        return found

    monkeypatch.setattr(backend, "get", recording)
    return hits


@pytest.fixture
def world(workflow, alice, _approved_row) -> World:  # noqa: F811 (the fixture imported above)
    return World(workflow, alice, Result.objects.get(pk=_approved_row))


@pytest.mark.parametrize("case", list(CASES))
def test_a_page_cached_before_a_write_is_not_served_after_it(
    world, case, client, alice, cache_hits
):
    setup, write, _changes = CASES[case]
    given = None if setup is None else setup(world)
    client.force_login(alice)
    pages = _pages(world.flow)
    before = _answers(client, pages)  # cached now
    cached = set()
    assert _answers(client, pages, cache_hits, cached) == before
    assert cached == set(pages)  # and the hits are seen
    if setup is None:
        write(world)
    else:
        write(world, given)
    cached = set()
    served = _answers(client, pages, cache_hits, cached)
    cache.clear()
    # A page that found nothing in the cache was built from the data as they are now, as it
    # would be again: only what came from the cache can be stale, and is asked for again.
    assert served == {**served, **_answers(client, [url for url in pages if url in cached])}


def test_a_unit_renamed_is_named_anew_on_the_cached_pages(world, client, alice):
    """No outcome depends on a unit's name, but the dashboards show it: a new version alone."""
    from budget.models import Unit
    from budget.services import unit_update

    client.force_login(alice)
    pages = _pages(world.flow)
    before = _answers(client, pages)
    unit = Unit.objects.get(pk=world.flow.unit.pk)
    unit_update(
        unit=unit, expected_version=unit.version, user=alice, reason="改名", name="新名稱科"
    )
    served = _answers(client, pages)
    assert served != before
    assert "新名稱科" in served[pages[-1]][1]  # the unit's own page
    cache.clear()
    assert served == _answers(client, pages)


def test_a_person_renamed_is_named_anew_in_a_cached_indicator_pages_history(world, client, alice):
    """An indicator page's history is kept with its body, but people are named as they are now:
    a rename (the admin's auth screens) makes no new version."""
    from django.contrib.auth import get_user_model

    client.force_login(alice)
    page = _pages(world.flow)[3]
    before = _answers(client, [page])[page][1]
    assert "<td>alice</td>" in before  # the factories' indicators were written by alice
    user = get_user_model().objects.get(pk=alice.pk)
    user.first_name, user.last_name = "愛麗絲", "王"
    user.save()
    served = _answers(client, [page])[page][1]
    assert "<td>alice</td>" not in served and "<td>愛麗絲 王</td>" in served
    cache.clear()
    assert served == _answers(client, [page])[page][1]
