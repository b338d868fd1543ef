"""The validation warnings' arithmetic (kpitrack.core.engine.warnings): what asks for a second
look before saving, never a refusal."""

from decimal import Decimal as D

from kpitrack.core.engine.warnings import Check, PartFigures, entry_warnings


def _part(value, milestone=None, target=None, last=None):
    return PartFigures("v", None if value is None else D(value), milestone, target, last)


def _checks(part, cumulative=True):
    return [w.check for w in entry_warnings([part], cumulative=cumulative)]


def test_three_times_the_milestone_is_fine_more_asks():
    assert _checks(_part("75", milestone=D(25), target=D(100))) == []
    assert _checks(_part("75.01", milestone=D(25), target=D(100))) == [Check.ABOVE_MILESTONE]


def test_without_a_milestone_the_target_is_the_bound():
    assert _checks(_part("300", target=D(100))) == []
    assert _checks(_part("301", target=D(100))) == [Check.ABOVE_TARGET]


def test_a_zero_or_missing_bound_warns_of_nothing():
    assert _checks(_part("5", milestone=D(0), target=D(0))) == []
    assert _checks(_part(None, milestone=D(1))) == []


def test_a_cumulative_figure_below_last_quarter_asks():
    warning = entry_warnings([_part("40", milestone=D(50), last=D(45))], cumulative=True)
    assert [(w.check, w.value, w.bound) for w in warning] == [
        (Check.BELOW_LAST_QUARTER, D(40), D(45))
    ]
    assert _checks(_part("45", milestone=D(50), last=D(45))) == []


def test_a_figure_that_does_not_accumulate_may_fall():
    assert _checks(_part("40", milestone=D(50), last=D(45)), cumulative=False) == []
