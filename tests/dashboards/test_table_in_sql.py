"""The indicator table sorted, filtered, counted and paged in the database (issue 16) gives the
same rows, in the same order, with the same counts, as the list it replaced: every indicator of
the scope read briefly, filtered in Python and sorted by django-tables2 (a stable sort of the
whole list). The reference below is that code, kept here only to compare against.

Compared on every filter, and on every sort key in both directions and with no sort, for an
agency and for a ministry (tests/factories.py SMALL and LARGE), on data with ties (names, units
and rates repeat across agencies), indicators without a unit, and results in several states or
missing."""

from collections.abc import Iterable

import pytest
from django.db import connection
from django.db.models.fields.json import KT
from django.test.utils import CaptureQueriesContext

from budget.models import Unit
from budget.selectors import achievement_policies
from kpitrack.core.engine.achievement import Status, status_for
from kpitrack.dashboards.selectors import NOT_ENTERED, SORTS, Row, scope_for
from kpitrack.dashboards.tables import IndicatorFilter, IndicatorTable, SqlRows
from kpitrack.dashboards.tables import state_choices as table_state_choices
from performance.models import Indicator, Outcome, Result, StrategicGoal
from performance.outcome_reads import Brief, number, rounded

from ..factories import LARGE, SMALL, build
from .test_query_counts import store

pytestmark = pytest.mark.django_db

QUARTER = 4


# --- the reference: the Python path the database path replaced --------------------------------


def reference_briefs(
    *, agency_ids: Iterable[int], year: int, through_quarter: int, unit_id: int | None = None
) -> list[Brief]:
    """performance.outcome_reads.briefs_for_year as it was (with milestones' 達成進度)."""
    agency_ids = list(agency_ids)
    outcomes = Outcome.objects.filter(
        agency_id__in=agency_ids, year=year, through_quarter=through_quarter
    )
    if unit_id is not None:
        outcomes = outcomes.filter(indicator__responsible_unit_id=unit_id)
    rows = outcomes.order_by(
        "agency__code", "indicator__goal__order", "indicator__order", "indicator_id"
    ).values_list(
        "indicator_id",
        "indicator__goal_id",
        "agency_id",
        "indicator__responsible_unit_id",
        "indicator__weight",
        KT("data__rate"),
        KT("data__projection__rate"),
        KT("data__judgement__rate"),
        KT("data__judgement__basis"),
        "indicator__name",
        "indicator__responsible_unit__name",
        "indicator__goal__title",
        "agency__name",
        "status",
    )
    policies = achievement_policies(pairs={(agency_id, year) for agency_id in agency_ids})
    briefs = []
    for (
        i,
        goal,
        agency,
        unit,
        weight,
        raw,
        projected,
        judged,
        judgement,
        name,
        unit_name,
        title,
        agency_name,
        stored_status,
    ) in rows:
        policy = policies[agency, year]
        # SQLite's ->> gives the text "null" for a JSON null where PostgreSQL gives NULL.
        raw, projected, judged = (
            None if x in (None, "null") else x for x in (raw, projected, judged)
        )
        rate = rounded(number(raw), policy)
        # Stored before milestones (until `rebuild_outcomes`): judged against the year.
        progress = rounded(number(judged), policy) if judgement not in (None, "null") else rate
        projected_rate = rounded(number(projected), policy)
        briefs.append(
            Brief(
                indicator_id=i,
                goal_id=goal,
                agency_id=agency,
                unit_id=unit,
                weight=weight,
                rate=rate,
                # The stored light: what the judgement says (a rating met is green with no rate).
                status=Status(stored_status) if stored_status else status_for(progress, policy),
                projected_rate=projected_rate,
                projected_status=None if projected is None else status_for(projected_rate, policy),
                name=name,
                unit_name=unit_name or "",
                goal_title=title,
                agency_name=agency_name,
                policy=policy,
                progress=progress,
            )
        )
    return briefs


def reference_rows(scope, year, quarter, *, agency=None, unit=None, goal=None, light, state):
    """rows_for, then IndicatorFilter.keep, as they were (the agency filter is new)."""
    states = dict(
        Result.objects.filter(
            indicator__goal__agency_id__in=scope.ids, indicator__goal__year=year, quarter=quarter
        ).values_list("indicator_id", "state")
    )
    rows = [
        Row(brief=b, state=states.get(b.indicator_id))
        for b in reference_briefs(agency_ids=scope.ids, year=year, through_quarter=quarter)
    ]
    ids = None
    if unit or goal:
        narrowed = Indicator.objects.filter(goal__agency_id__in=scope.ids, goal__year=year)
        if unit:
            narrowed = narrowed.filter(responsible_unit=unit)
        if goal:
            narrowed = narrowed.filter(goal=goal)
        ids = set(narrowed.values_list("pk", flat=True))
    return [
        row
        for row in rows
        if (ids is None or row.brief.indicator_id in ids)
        and (agency is None or row.brief.agency_id == agency.pk)
        and (not light or row.status.value == light)
        and (not state or (row.state or NOT_ENTERED) == state)
    ]


def reference_sorted(rows, scope, sort):
    """django-tables2's own sort of the list, as the table did it."""
    table = IndicatorTable(rows, ministry=scope.is_ministry)
    if sort:
        table.order_by = sort
    return list(table.data.data)


# --- the data ----------------------------------------------------------------------------------


def _vary(built):
    """States other than approved, quarters with nothing entered, indicators in the other unit
    or in none; the stored outcomes stay as they were (both paths read the same ones)."""
    year = built.last_year
    indicators = list(
        Indicator.objects.filter(goal__agency__in=built.agencies, goal__year=year).order_by("pk")
    )
    for n, indicator in enumerate(indicators):
        if n % 3 == 1:
            indicator.responsible_unit = Unit.objects.get(agency=indicator.goal.agency, code="u1")
        elif n % 3 == 2:
            indicator.responsible_unit = None
    Indicator.objects.bulk_update(indicators, ["responsible_unit"])
    results = Result.objects.filter(indicator__in=indicators, quarter=QUARTER).order_by("pk")
    for n, result in enumerate(results):
        if n % 4 == 1:
            result.state = Result.State.RETURNED
        elif n % 4 == 2:
            result.state = Result.State.DRAFT
    Result.objects.bulk_update(results, ["state"])
    Result.objects.filter(indicator__in=indicators[::7], quarter=QUARTER).delete()
    # Rates that cannot be computed (white, no rate), stored as a refresh would store them.
    cannot = list(Outcome.objects.filter(indicator__in=indicators[1::6], through_quarter=QUARTER))
    for outcome in cannot:
        outcome.rate, outcome.progress, outcome.status = None, None, "white"
        judgement = outcome.data.get("judgement")
        if judgement is not None:
            parts = [{**part, "rate": None} for part in judgement["parts"]]
            judgement = {**judgement, "rate": None, "parts": parts}
        outcome.data = {**outcome.data, "rate": None, "value": None, "judgement": judgement}
    Outcome.objects.bulk_update(cannot, ["rate", "progress", "status", "data"])


@pytest.fixture(scope="module", params=[SMALL, LARGE], ids=["small", "large"])
def built(request, django_db_setup, django_db_blocker):
    """Each size's ministry, stored and varied once for the two tests that read it (tests/
    conftest.py rows_for_the_module): neither writes to it, and they read only its codes and
    year, so the Python objects may be shared."""
    from tests.conftest import rows_for_the_module

    with rows_for_the_module(django_db_blocker):
        built = build(request.param, prefix=f"s{request.param.agencies}")
        store(built)
        _vary(built)
        yield built


def _filters(scope, year, built):
    """Every filter alone, and a few together, as the table's GET parameters, each marked True
    where it is compared on every sort. A filter is the query's WHERE and a sort its ORDER BY:
    every sort under every filter (1,600 comparisons, a quarter of a minute of CPU on each
    database) compared the same ORDER BY again and again under WHEREs of the same shape; every
    sort is compared on the whole list and under two filters together, and every filter under
    no sort, the lights, and two keys."""
    units = Unit.objects.filter(agency_id__in=scope.ids).order_by("pk")
    goals = StrategicGoal.objects.filter(agency_id__in=scope.ids, year=year).order_by("pk")
    yield {}, True
    if scope.is_ministry:
        for agency in scope.agencies:
            yield {"in_agency": agency.code}, False
    for unit in units:
        yield {"unit": str(unit.pk)}, False
    for goal in goals:
        yield {"goal": str(goal.pk)}, False
    for light in ("green", "yellow", "red", "white"):
        yield {"light": light}, False
    for state, _label in table_state_choices():
        yield {"state": state}, False
    yield {"light": "red", "state": Result.State.RETURNED}, True
    yield {"unit": str(units.last().pk), "state": NOT_ENTERED}, False
    yield {"goal": str(goals.first().pk), "light": "green"}, False


def _sorts(every: bool):
    """Every sort key in both directions, or (every=False) the lights and a rate descending."""
    yield ()
    if every:
        for name in SORTS:
            yield (name,)
            yield ("-" + name,)
    else:
        yield ("status",)
        yield ("-rate",)
    yield ("status", "-rate")


def _key(row):
    return (row.brief, row.state)


def test_the_table_in_the_database_is_todays_list_on_every_filter_and_sort(built, alice):
    year = built.last_year
    scopes = [
        scope_for(user=alice, code=built.ministry.code),
        scope_for(user=alice, code=built.agencies[0].code),
    ]
    compared = 0
    for scope in scopes:
        for params, every in _filters(scope, year, built):
            filters = IndicatorFilter(params, scope=scope, year=year)
            assert filters.is_valid(), (params, filters.form.errors)
            data = filters.form.cleaned_data
            code = data.get("in_agency")
            expected_rows = reference_rows(
                scope,
                year,
                QUARTER,
                agency=next(a for a in scope.agencies if a.code == code) if code else None,
                unit=data.get("unit"),
                goal=data.get("goal"),
                light=data.get("light"),
                state=data.get("state"),
            )
            for sort in _sorts(every):
                expected = [_key(r) for r in reference_sorted(expected_rows, scope, sort)]
                rows = SqlRows(filters.rows(QUARTER, sort=sort))
                assert len(rows) == len(expected), (params, sort)
                assert [_key(r) for r in rows[0 : len(expected)]] == expected, (params, sort)
                # A page is the same slice of the same order.
                assert [_key(r) for r in rows[2:5]] == expected[2:5], (params, sort)
                compared += 1
    assert compared > 100
    # The data has what the comparison needs: ties, rows without a unit, rows not entered.
    all_rows = reference_rows(scopes[0], year, QUARTER, light=None, state=None)
    assert any(row.brief.unit_name == "" for row in all_rows)
    assert any(row.state is None for row in all_rows)
    assert any(row.brief.rate is None for row in all_rows)
    if len(built.agencies) > 1:
        assert len({row.brief.name for row in all_rows}) < len(all_rows)


def test_a_sort_through_the_table_is_the_same_and_only_known_columns_sort(built, alice, client):
    """Through the page: `sort` (as django-tables2 reads it) orders the page the same way, and
    an unknown or unsortable column is ignored as it was."""
    client.force_login(alice)
    year = built.last_year
    scope = scope_for(user=alice, code=built.ministry.code)
    rows = reference_rows(scope, year, QUARTER, light=None, state=None)
    url = f"/dashboards/{built.ministry.code}/indicators/?year={year}&quarter={QUARTER}"
    for sort in ("-rate", "unit", "-state", "target", "nonsense"):
        response = client.get(url + f"&sort={sort}")
        assert response.status_code == 200
        shown = [bound.record for bound in response.context["table"].page.object_list]
        known = (sort,) if sort.removeprefix("-") in SORTS else ()
        expected = reference_sorted(rows, scope, known)[:25]
        assert [_key(r) for r in shown] == [_key(r) for r in expected], sort
        assert response.context["count"] == len(rows)


# session, user, scope (1: the agency with those under it, and the outcomes' version, the page's
# cache key, issue 16: 11 while the version was read alone), years, count, page, policies, unit
# and goal lists, the bell
PAGE_QUERIES = 10
API_QUERIES = 7  # the same without the lists and the bell


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["small", "large"])
def test_a_filtered_sorted_page_runs_the_same_queries_at_both_sizes(size, alice, client):
    built = build(size, prefix=f"c{size.agencies}")
    store(built)
    client.force_login(alice)
    year = built.last_year
    unit = Unit.objects.get(agency=built.agencies[0], code="u2")
    period = f"?year={year}&quarter={QUARTER}"
    for base, expected in (
        (f"/dashboards/{built.ministry.code}/indicators/", PAGE_QUERIES),
        (f"/api/v1/dashboards/{built.ministry.code}/indicators/", API_QUERIES),
    ):
        # A unit or goal asked for is one lookup more (is it the scope's?).
        for extra, more in (
            ("", 0),
            ("&sort=-rate&light=green&page=1", 0),
            (f"&unit={unit.pk}&state=approved&sort=unit", 1),
        ):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(base + period + extra)
            assert response.status_code == 200, response.content[:300]
            counted = len(queries)
            assert counted == expected + more, (base, extra, [q["sql"][:80] for q in queries])


def test_the_unit_and_goal_lists_offer_the_chosen_agencys_only(alice, client):
    built = build(LARGE, prefix="opt")
    store(built)
    client.force_login(alice)
    year = built.last_year
    first, second = built.agencies[0], built.agencies[1]
    url = f"/dashboards/{built.ministry.code}/indicators/?year={year}&quarter={QUARTER}"

    def offered(response, name):
        return [v for v, _label in response.context["filters"].form.fields[name].widget.choices]

    def ids(queryset):
        return [str(pk) for pk in queryset.values_list("pk", flat=True)]

    response = client.get(url + f"&in_agency={second.code}")
    units = [str(v) for v in offered(response, "unit") if v]
    goals = [str(v) for v in offered(response, "goal") if v]
    assert units == ids(Unit.objects.filter(agency=second).order_by("order", "id"))
    assert goals == ids(StrategicGoal.objects.filter(agency=second, year=year).order_by("order"))
    assert f'<option value="{second.code}" selected>' in response.text
    assert all(row.agency_name == second.name for row in _briefs(response))

    # A unit of an agency under the ministry is still accepted, and its agency's list is shown.
    unit = Unit.objects.get(agency=first, code="u2")
    response = client.get(url + f"&unit={unit.pk}")
    assert [str(v) for v in offered(response, "unit") if v] == ids(
        Unit.objects.filter(agency=first).order_by("order", "id")
    )
    assert f'<option value="{unit.pk}" selected>' in response.text
    assert response.context["count"] == LARGE.indicators

    # Nothing chosen: the ministry's own units (it has none here), not its agencies'.
    response = client.get(url)
    assert [v for v in offered(response, "unit") if v] == []


def _briefs(response):
    return [bound.record.brief for bound in response.context["table"].page.object_list]


def test_an_agency_not_under_the_ministry_is_a_clear_400(alice, client):
    built = build(SMALL, prefix="bad")
    store(built)
    client.force_login(alice)
    url = f"/dashboards/{built.ministry.code}/indicators/?year={built.last_year}&in_agency=nia"
    response = client.get(url)
    assert response.status_code == 400
    assert "nia" in response.text
    api = client.get(url.replace("/dashboards/", "/api/v1/dashboards/"))
    assert api.status_code == 400 and "nia" in api.json()["error"]
