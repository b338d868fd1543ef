"""results_as_entered (the API's read, plain rows) answers what achievements_for_year answers
with every state counting: each indicator as the API names it, its result of the quarter and its
outcome. `unit_code` reads one unit's indicators alone (the API's `unit`, asked for before each
save under load, issue 16): what filtering the whole set by unit answers, last year's inputs of
a growth indicator included, whichever unit had it then."""

import pytest

from budget.models import Unit
from performance.models import Indicator, Result, ResultFigure
from performance.selectors import achievements_for_year, results_as_entered

from ..factories import SMALL, build

pytestmark = pytest.mark.django_db


def _as_entered(rows):
    return [
        (
            row.indicator,
            row.result and (row.result.row, row.result.figures),
            row.outcome,
        )
        for row in rows
    ]


def _as_achieved(rows, agency_code):
    answer = []
    for row in rows:
        indicator, result = row.indicator, row.result
        unit = indicator.responsible_unit
        named = (
            indicator.pk,
            agency_code,
            indicator.goal.year,
            indicator.code,
            indicator.name,
            indicator.method,
            unit.code if unit else None,
            unit.name if unit else None,
            tuple((i.key, i.label, i.unit) for i in indicator.inputs.all()),
            tuple((p.key, p.label, p.value, p.unit, p.weight) for p in indicator.parts.all()),
            indicator.labels(),
        )
        stored = None
        if result is not None:
            fields = ("state", "version", "review_comment", "progress", "benefit")
            fields += ("shortfall_reason", "improvement", "remarks")
            stored = (
                {name: getattr(result, name) for name in fields},
                {f.key: f.value for f in result.figures.all()},
            )
        answer.append((named, stored, row.outcome))
    return answer


def _named(rows):
    return [
        (
            (
                i.pk,
                i.agency_code,
                i.year,
                i.code,
                i.name,
                i.method,
                i.unit_code,
                i.unit_name,
                tuple((n.key, n.label, n.unit) for n in i.inputs),
                tuple((p.key, p.label, p.target, p.unit, p.weight) for p in i.parts),
                i.labels(),
            ),
            stored,
            outcome,
        )
        for i, stored, outcome in rows
    ]


def test_the_rows_are_what_achievements_for_year_answers_with_every_state():
    data = build(SMALL)
    agency, year = data.agencies[0], data.years[-1]
    # A draft with its narrative, a figure left empty, an indicator of no unit.
    draft = Result.objects.filter(indicator__goal__year=year).order_by("id").first()
    Result.objects.filter(pk=draft.pk).update(state="draft", progress="進度", version=3)
    emptied = ResultFigure.objects.filter(result__indicator__goal__year=year).order_by("id")[0]
    ResultFigure.objects.filter(pk=emptied.pk).update(value=None)
    orphan = Indicator.objects.filter(goal__year=year, method="multi").order_by("id")[0]
    Indicator.objects.filter(pk=orphan.pk).update(responsible_unit=None)
    for quarter in (1, 2, 3, 4):
        for which in (year - 1, year):
            entered = results_as_entered(year=which, quarter=quarter, agency=agency)
            achieved = achievements_for_year(
                year=which, through_quarter=quarter, agency=agency, include_unapproved=True
            )
            assert entered
            assert _named(_as_entered(entered)) == _as_achieved(achieved, agency.code)


def test_one_units_rows_are_the_whole_sets_rows_of_that_unit():
    data = build(SMALL)
    agency, year = data.agencies[0], data.years[-1]
    first = Unit.objects.get(agency=agency, code="u1")
    # This year u1 has the growth indicator (last year u2 had it) and one more; u2 the rest.
    Indicator.objects.filter(
        goal__agency=agency, goal__year=year, method__in=["growth", "multi"]
    ).update(responsible_unit=first)

    everything = results_as_entered(year=year, quarter=4, agency=agency)
    growth = next(r for r in everything if r.indicator.method == "growth")
    achieved = achievements_for_year(year=year, agency=agency, include_unapproved=True)
    used = next(r for r in achieved if r.indicator.pk == growth.indicator.pk)
    assert used.previous_year_used and growth.outcome == used.outcome
    for code in ("u1", "u2", "none"):
        mine = results_as_entered(year=year, quarter=4, agency=agency, unit_code=code)
        assert mine == [r for r in everything if r.indicator.unit_code == code]
    assert {r.indicator.method for r in everything if r.indicator.unit_code == "u1"} == {
        "growth",
        "multi",
    }
