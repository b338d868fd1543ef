"""Stored outcomes agree with freshly computed ones after every kind of write the services make
(and after a policy change, which stored outcomes take in when read)."""

from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

import pytest

from budget.models import AchievementPolicy, Agency
from budget.services import achievement_policy_set
from kpitrack.core.engine.calendar import QUARTERS
from performance import outcome_reads, selectors
from performance.models import Indicator, Outcome, Result, StrategicGoal
from performance.selectors import achievements_for_year, judgements_for_year
from performance.services import (
    indicator_delete,
    indicator_update,
    result_create,
    result_delete,
    result_figure_delete,
    result_state_set,
    result_update,
    strategic_goal_create,
    strategic_goal_update,
    target_part_revise,
)

pytestmark = pytest.mark.django_db


def _key(a):
    return (a.indicator.pk, a.outcome, a.parts, a.reason, a.published_rate, a.mismatch)


@contextmanager
def _indicators_read_once():
    """Within one comparison, nothing is written: the indicators (and results) of a year read
    for each quarter and for the achievements and the judgements alike are the same rows. Read
    once per agency and year instead of eight times, the comparison costs a fifth of its CPU;
    the first read is the selectors' own query, and the evaluation per quarter is unchanged."""
    read = {}
    query = selectors.indicators_for_years

    def once(**kwargs):
        key = tuple(
            (name, tuple(value) if isinstance(value, list) else getattr(value, "pk", value))
            for name, value in sorted(kwargs.items())
        )
        if key not in read:
            read[key] = query(**kwargs)
        return read[key]

    with mock.patch.object(selectors, "indicators_for_years", once):
        yield


def assert_stored_matches_fresh():
    with _indicators_read_once():
        _compare_stored_and_fresh()


def _compare_stored_and_fresh():
    pairs = set(StrategicGoal.objects.values_list("agency_id", "year"))
    for agency_id, year in sorted(pairs):
        agency = Agency.objects.get(pk=agency_id)
        for quarter in QUARTERS:
            fresh = achievements_for_year(year=year, through_quarter=quarter, agency=agency)
            stored = outcome_reads.stored_for_year(
                agency_ids=[agency_id], year=year, through_quarter=quarter
            )
            assert [_key(s.achievement) for s in stored] == [_key(a) for a in fresh], (
                agency.code,
                year,
                quarter,
            )
            # The quarter's judgement against its milestones (Q4: the annual target).
            judged = judgements_for_year(year=year, through_quarter=quarter, agency=agency)
            assert {s.achievement.indicator.pk: s.judgement for s in stored} == judged
            # The columns dashboards count and order by, stored under the policy in force: the
            # light is the quarter's judgement's, the rate the annual one.
            columns = Outcome.objects.filter(agency=agency, year=year, through_quarter=quarter)
            assert {(o.indicator_id, o.status, o.rate, o.progress) for o in columns} == {
                (
                    a.indicator.pk,
                    judged[a.indicator.pk].status.value,
                    a.outcome.rate,
                    judged[a.indicator.pk].progress,
                )
                for a in fresh
            }


def _indicator(code, year=2012):
    return Indicator.objects.get(code=code, goal__year=year, goal__agency__code="nia")


def _result(code, year=2012):
    return Result.objects.get(indicator=_indicator(code, year))


def test_the_loaded_documents_have_their_outcomes_stored():
    assert Outcome.objects.filter(indicator__goal__agency__code="nia").count() == 4 * (
        Indicator.objects.filter(goal__agency__code="nia").count()
    )
    assert_stored_matches_fresh()


def test_figures_narrative_and_new_quarters_refresh_the_outcome(alice):
    result = _result("pass-card")
    result_update(
        result=result,
        expected_version=result.version,
        user=alice,
        reason="更正",
        figures={"value": Decimal("120")},
    )
    assert_stored_matches_fresh()
    result_create(
        indicator=_indicator("pass-card"),
        quarter=3,
        user=alice,
        reason="第3季",
        state=Result.State.APPROVED,
        figures={"value": Decimal("170")},
    )
    assert_stored_matches_fresh()
    stored = outcome_reads.stored_for_year(
        agency_ids=[result.indicator.goal.agency_id], year=2012, through_quarter=3
    )
    assert next(s for s in stored if s.achievement.indicator.code == "pass-card").entered


def test_a_state_change_and_deletions_refresh_the_outcome(alice):
    result = _result("pass-card")
    result_state_set(
        result=result,
        state=Result.State.RETURNED,
        expected_version=result.version,
        user=alice,
        reason="退回",
    )
    assert_stored_matches_fresh()
    result = _result("intl-cooperation")
    figure = result.figures.first()
    result_figure_delete(figure=figure, expected_version=result.version, user=alice, reason="刪")
    assert_stored_matches_fresh()
    result = _result("repatriation")
    result_delete(result=result, expected_version=result.version, user=alice, reason="刪除")
    assert_stored_matches_fresh()


def test_targets_and_definitions_refresh_the_outcome(alice):
    indicator = _indicator("pass-card")
    target_part_revise(
        part=indicator.parts.get(),
        value=Decimal("200"),
        expected_version=indicator.version,
        user=alice,
        reason="修正目標",
    )
    assert_stored_matches_fresh()
    indicator.refresh_from_db()
    indicator_update(
        indicator=indicator,
        expected_version=indicator.version,
        user=alice,
        reason="改為越低越好",
        method="lower",
    )
    assert_stored_matches_fresh()


def test_an_indicator_moved_to_another_year_is_stored_there_and_gone_from_its_old_year(alice):
    indicator = _indicator("pass-card")
    old_goal = indicator.goal
    later = strategic_goal_create(
        user=alice, agency=old_goal.agency, year=old_goal.year + 1, code="moved", title="改列"
    )
    indicator_update(
        indicator=indicator,
        expected_version=indicator.version,
        user=alice,
        reason="改列次年度",
        goal=later,
    )
    assert_stored_matches_fresh()
    assert set(Outcome.objects.filter(indicator=indicator).values_list("year", flat=True)) == {
        later.year
    }


def test_last_years_actuals_refresh_this_years_growth(alice):
    this_year = _result("anti-trafficking")
    result_update(
        result=this_year,
        expected_version=this_year.version,
        user=alice,
        reason="填報",
        figures={"value": Decimal("60")},
    )

    def growth():
        stored = outcome_reads.stored_for_year(
            agency_ids=[this_year.indicator.goal.agency_id], year=2012, through_quarter=2
        )
        return next(
            s.achievement.outcome.value
            for s in stored
            if s.achievement.indicator.code == "anti-trafficking"
        )

    assert growth() is None  # last year's figure is missing
    result = _result("anti-trafficking", 2011)
    result_update(
        result=result,
        expected_version=result.version,
        user=alice,
        reason="更正上年度",
        figures={"value": Decimal("50")},
    )
    assert growth() == Decimal("20.00")
    assert_stored_matches_fresh()
    last_year = _indicator("anti-trafficking", 2011)
    indicator_delete(
        indicator=last_year, expected_version=last_year.version, user=alice, reason="刪除"
    )
    assert_stored_matches_fresh()


def test_moving_a_goal_to_another_year_moves_its_outcomes(alice):
    goal = _indicator("pass-card").goal
    strategic_goal_update(
        goal=goal, expected_version=goal.version, user=alice, reason="移至2014", year=2014
    )
    assert_stored_matches_fresh()


def test_a_policy_change_reaches_the_stored_outcomes_when_read(alice):
    nia = Agency.objects.get(code="nia")
    current = AchievementPolicy.objects.filter(agency=nia, year=2012).first()
    achievement_policy_set(
        agency=nia,
        year=2012,
        expected_version=current.version if current else None,
        user=alice,
        reason="門檻調整",
        rate_decimals=0,
        green_threshold=Decimal("150"),
    )
    assert_stored_matches_fresh()
