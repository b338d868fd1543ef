"""achievements_for_year(unit_code=...) reads one unit's indicators alone (the API's `unit`,
asked for before each save under load, issue 16) and answers what filtering the whole set by
unit answers: last year's inputs of a growth indicator included, whichever unit had it then."""

import pytest

from budget.models import Unit
from performance.models import Indicator
from performance.selectors import achievements_for_year

from ..factories import SMALL, build

pytestmark = pytest.mark.django_db


def test_one_units_achievements_are_the_whole_sets_rows_of_that_unit():
    data = build(SMALL)
    agency, year = data.agencies[0], data.years[-1]
    first = Unit.objects.get(agency=agency, code="u1")
    # This year u1 has the growth indicator (last year u2 had it) and one more; u2 the rest.
    Indicator.objects.filter(
        goal__agency=agency, goal__year=year, method__in=["growth", "multi"]
    ).update(responsible_unit=first)

    def shown(rows):
        return [(r.indicator.pk, r.outcome, r.previous_year_used) for r in rows]

    everything = achievements_for_year(year=year, through_quarter=4, agency=agency)
    assert any(r.previous_year_used for r in everything)
    for code in ("u1", "u2", "none"):
        mine = achievements_for_year(year=year, through_quarter=4, agency=agency, unit_code=code)
        assert shown(mine) == shown(
            [r for r in everything if r.indicator.responsible_unit.code == code]
        )
    assert {r.indicator.method for r in everything if r.indicator.responsible_unit == first} == {
        "growth",
        "multi",
    }
