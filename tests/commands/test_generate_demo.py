"""generate_demo: a synthetic ministry with every method, valid shapes, approved results and
stored outcomes."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from kpitrack.core.engine.achievement import Method
from kpitrack.core.engine.shape import indicator_shape_problems
from performance.models import Indicator, Outcome, Result

pytestmark = pytest.mark.django_db


def test_it_builds_every_method_with_valid_shapes_and_approved_results():
    call_command("generate_demo", agencies=2, indicators=9, years=3, last_year=2050, prefix="g")
    indicators = Indicator.objects.filter(goal__agency__parent__code="g").prefetch_related(
        "inputs", "parts"
    )
    assert indicators.count() == 2 * 9 * 3
    assert {i.method for i in indicators} == {m.value for m in Method}
    for i in indicators:
        problems = indicator_shape_problems(
            method=i.method,
            aggregation=i.aggregation,
            inputs=[x.key for x in i.inputs.all()],
            parts=[(p.key, p.value, p.weight) for p in i.parts.all()],
            formula=i.formula or None,
            baseline=i.baseline,
        )
        assert problems == [], (i.code, problems)
    results = Result.objects.filter(indicator__in=indicators)
    assert set(results.values_list("state", flat=True)) == {Result.State.APPROVED}
    # Every quarter of the earlier years, the first two of the last.
    assert results.count() == 2 * 9 * (4 + 4 + 2)
    assert Outcome.objects.filter(indicator__in=indicators).count() == 4 * indicators.count()


def test_it_refuses_a_prefix_in_use():
    call_command("generate_demo", agencies=1, indicators=1, years=1, prefix="dup")
    with pytest.raises(CommandError, match="已存在"):
        call_command("generate_demo", agencies=1, indicators=1, years=1, prefix="dup")


@pytest.mark.parametrize("prefix", ["../x y", "x" * 300, "", "示範", "a/b", "x" * 21, "-x"])
def test_it_refuses_a_prefix_that_is_not_a_short_slug(prefix):
    from budget.models import Agency

    before = Agency.objects.count()
    with pytest.raises(CommandError, match="--prefix"):
        call_command("generate_demo", agencies=1, indicators=1, years=1, prefix=prefix)
    assert Agency.objects.count() == before


def test_a_slug_of_twenty_characters_is_accepted():
    prefix = "Demo_2-" + "x" * 13
    call_command("generate_demo", agencies=1, indicators=1, years=1, prefix=prefix)
    assert Indicator.objects.filter(goal__agency__code=f"{prefix}-01").exists()


def _planned_rows(model) -> float:
    """What PostgreSQL's planner believes the table holds (pg_class.reltuples, set by ANALYZE;
    -1 for a table never analysed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
        )
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL statistics")
def test_the_tables_it_filled_have_statistics_at_once():
    """ANALYZE after the load: the rows it wrote are in the planner's statistics straight away
    (autovacuum cannot see them before this test's transaction ends)."""
    call_command("generate_demo", agencies=2, indicators=9, years=2, last_year=2050, prefix="st")
    for model in (Indicator, Result, Outcome):
        assert _planned_rows(model) == model.objects.count(), model


def test_each_agency_is_built_the_same_whatever_the_number_of_agencies():
    """Built one at a time, each from its own seed: the first agency of a ministry of three is
    the first of a ministry of one."""

    def first_agency(prefix):
        return sorted(
            Outcome.objects.filter(agency__code=f"{prefix}-01").values_list(
                "indicator__code", "year", "through_quarter", "status", "rate"
            )
        )

    call_command("generate_demo", agencies=1, indicators=9, years=2, last_year=2050, prefix="one")
    call_command("generate_demo", agencies=3, indicators=9, years=2, last_year=2050, prefix="three")
    assert first_agency("one") == first_agency("three")
    assert Outcome.objects.filter(agency__code="three-03").count() == 9 * 2 * 4


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL visibility map")
@pytest.mark.django_db(transaction=True)
def test_the_outcomes_it_stored_can_be_read_from_their_index_alone():
    """Issue 16: VACUUM after the load (outside a transaction, as the command runs) marks the
    outcome table's pages all-visible, so the overview reads a ministry's outcomes from their
    covering index without visiting the table."""
    call_command("generate_demo", agencies=2, indicators=9, years=2, last_year=2050, prefix="vm")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpages, relallvisible FROM pg_class WHERE oid = %s::regclass",
            [Outcome._meta.db_table],
        )
        pages, visible = cursor.fetchone()
    assert pages > 0
    assert visible == pages
