"""The stored outcomes (what the dashboards read) after each review transition: submit, 初核,
複核, return, reopen and locking the quarter. After every step the stored outcome equals a fresh
computation (what reports and the API read), and both count the quarter's figures only while
the result is approved (or locked having been approved).

The transitions run inside `django_capture_on_commit_callbacks(execute=True)`, so the checks
hold whether the refresh runs inside the service or once on commit."""

from decimal import Decimal

import pytest

from kpitrack.core.engine.achievement import Status
from kpitrack.core.engine.calendar import QUARTERS
from performance import outcome_reads as outcomes
from performance.models import Outcome, Result
from performance.selectors import achievements_for_year
from performance.services import (
    period_lock,
    result_final_approve,
    result_first_approve,
    result_reopen,
    result_return,
    result_save_draft,
    result_submit,
)

pytestmark = pytest.mark.django_db


def _key(a):
    return (a.indicator.pk, a.outcome, a.parts, a.reason, a.published_rate, a.mismatch)


def _assert_stored_equals_fresh(flow):
    for quarter in QUARTERS:
        fresh = achievements_for_year(year=flow.year, through_quarter=quarter, agency=flow.agency)
        stored = outcomes.stored_for_year(
            agency_ids=[flow.agency.pk], year=flow.year, through_quarter=quarter
        )
        assert [_key(s.achievement) for s in stored] == [_key(a) for a in fresh], quarter
        # The columns the dashboards count and sort by.
        columns = Outcome.objects.filter(
            agency=flow.agency, year=flow.year, through_quarter=quarter
        )
        assert {(o.indicator_id, o.status, o.rate) for o in columns} == {
            (a.indicator.pk, a.outcome.status.value, a.outcome.rate) for a in fresh
        }


def _shown(flow):
    """The count indicator's quarter-1 rate as the dashboards (stored) and the reports (fresh)
    show it, and whether the dashboards mark the quarter as entered."""
    stored = outcomes.stored_for_year(
        agency_ids=[flow.agency.pk], year=flow.year, through_quarter=1
    )
    mine = next(s for s in stored if s.achievement.indicator.pk == flow.count.pk)
    fresh = achievements_for_year(year=flow.year, through_quarter=1, agency=flow.agency)
    theirs = next(a for a in fresh if a.indicator.pk == flow.count.pk)
    assert theirs.outcome.rate == mine.achievement.outcome.rate
    row = Outcome.objects.get(indicator=flow.count, through_quarter=1)
    assert row.rate == mine.achievement.outcome.rate
    return mine.achievement.outcome.rate, mine.entered


COUNTED = (Decimal("120.00"), True)
NOT_COUNTED = (None, False)


@pytest.fixture
def step(workflow, django_capture_on_commit_callbacks):
    """Runs one transition as a request would (its on-commit work done), then checks that what
    is stored equals what is computed fresh; returns the result as saved."""

    def run(service, result, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            saved = service(result=result, expected_version=result.version, **kwargs)
        _assert_stored_equals_fresh(workflow)
        return Result.objects.get(pk=saved.pk)

    return run


@pytest.fixture
def draft(workflow, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = result_save_draft(
            indicator=workflow.count,
            quarter=workflow.quarter,
            figures={"value": "120"},
            narrative={},
            expected_version=None,
            user=alice,
        )
    _assert_stored_equals_fresh(workflow)
    return result


def test_figures_count_from_the_final_approval_until_they_are_reopened(
    workflow, alice, draft, step
):
    assert _shown(workflow) == NOT_COUNTED
    result = step(result_submit, draft, user=alice)
    assert result.state == Result.State.SUBMITTED
    assert _shown(workflow) == NOT_COUNTED
    result = step(result_first_approve, result, user=alice, reason="初核")
    assert result.state == Result.State.FIRST_APPROVED
    assert _shown(workflow) == NOT_COUNTED  # 複核 still to come
    result = step(result_final_approve, result, user=alice, reason="複核")
    assert result.state == Result.State.APPROVED
    assert _shown(workflow) == COUNTED
    stored = Outcome.objects.get(indicator=workflow.count, through_quarter=1)
    assert stored.status == Status.GREEN
    result = step(result_reopen, result, user=alice, reason="數字有誤")
    assert result.state == Result.State.RETURNED
    assert _shown(workflow) == NOT_COUNTED


def test_a_return_at_either_level_leaves_nothing_counted(workflow, alice, draft, step):
    result = step(result_submit, draft, user=alice)
    result = step(result_return, result, user=alice, comment="附件不足")
    assert result.state == Result.State.RETURNED
    assert _shown(workflow) == NOT_COUNTED
    result = step(result_submit, result, user=alice)
    result = step(result_first_approve, result, user=alice)
    result = step(result_return, result, user=alice, comment="複核退回")
    assert result.state == Result.State.RETURNED
    assert _shown(workflow) == NOT_COUNTED


def test_without_second_review_the_first_approval_counts_at_once(workflow, alice, draft, step):
    workflow.agency.second_review = False
    workflow.agency.save()
    result = step(result_submit, draft, user=alice)
    result = step(result_first_approve, result, user=alice)
    assert result.state == Result.State.APPROVED
    assert _shown(workflow) == COUNTED
    result = step(result_reopen, result, user=alice, reason="更正")
    assert _shown(workflow) == NOT_COUNTED


def test_locking_keeps_an_approved_result_counted_until_it_is_reopened(
    workflow, alice, draft, step, django_capture_on_commit_callbacks
):
    result = step(result_submit, draft, user=alice)
    result = step(result_first_approve, result, user=alice)
    result = step(result_final_approve, result, user=alice)
    with django_capture_on_commit_callbacks(execute=True):
        period_lock(period=workflow.period(), user=alice, reason="年度結算")
    _assert_stored_equals_fresh(workflow)
    result = Result.objects.get(pk=result.pk)
    assert result.state == Result.State.LOCKED
    assert _shown(workflow) == COUNTED
    result = step(result_reopen, result, user=alice, reason="更正")
    assert _shown(workflow) == NOT_COUNTED


def test_locking_a_submitted_result_does_not_count_it(
    workflow, alice, draft, step, django_capture_on_commit_callbacks
):
    step(result_submit, draft, user=alice)
    with django_capture_on_commit_callbacks(execute=True):
        period_lock(period=workflow.period(), user=alice, reason="年度結算")
    _assert_stored_equals_fresh(workflow)
    assert _shown(workflow) == NOT_COUNTED
