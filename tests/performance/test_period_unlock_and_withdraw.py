"""The services the management screens added: unlocking a quarter and withdrawing an entry
exception. Only the agency's administrator; a reason each; a history row each."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kpitrack.core.refusals import Conflict
from performance.models import EntryException, ReportingPeriod, Result
from performance.services import (
    WindowClosed,
    entry_exception_grant,
    entry_exception_withdraw,
    period_lock,
    period_unlock,
    result_create,
    result_save_draft,
)

pytestmark = pytest.mark.django_db


def _grant(flow, user, **kw):
    return entry_exception_grant(
        agency=flow.agency,
        unit=flow.unit,
        year=flow.year,
        quarter=flow.quarter,
        until=timezone.localdate() + timedelta(days=3),
        user=user,
        reason="補登",
        **kw,
    )


def test_only_the_agencys_administrator_unlocks_or_withdraws(workflow, alice, people):
    period = period_lock(period=workflow.period(), user=alice, reason="結算")
    exception = _grant(workflow, alice)
    for role in ("staff", "head", "planner", "director"):
        with pytest.raises(PermissionDenied):
            period_unlock(period=period, user=people[role], reason="x")
        with pytest.raises(PermissionDenied):
            entry_exception_withdraw(exception=exception, user=people[role], reason="x")
    assert ReportingPeriod.objects.get(pk=period.pk).locked
    assert EntryException.objects.filter(pk=exception.pk).exists()
    period_unlock(period=period, user=people["admin"], reason="補正")
    entry_exception_withdraw(exception=exception, user=people["admin"], reason="已補登")
    assert not ReportingPeriod.objects.get(pk=period.pk).locked
    assert not EntryException.objects.filter(pk=exception.pk).exists()


def test_each_needs_a_reason(workflow, alice):
    period = period_lock(period=workflow.period(), user=alice, reason="結算")
    exception = _grant(workflow, alice)
    with pytest.raises(ValidationError):
        period_unlock(period=period, user=alice, reason=" ")
    with pytest.raises(ValidationError):
        entry_exception_withdraw(exception=exception, user=alice, reason="")
    assert ReportingPeriod.objects.get(pk=period.pk).locked
    assert EntryException.objects.filter(pk=exception.pk).exists()


def test_unlocking_gives_each_result_back_the_state_the_lock_kept(workflow, alice):
    draft = result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": "120"},
        narrative={},
        expected_version=None,
        user=alice,
    )
    # Loaded as locked, with no state remembered: it goes back to the unit, never promoted.
    loaded = result_create(
        indicator=workflow.ratio,
        quarter=workflow.quarter,
        state=Result.State.LOCKED,
        user=alice,
        reason="載入",
    )
    period = period_lock(period=workflow.period(), user=alice, reason="結算")
    assert Result.objects.get(pk=draft.pk).locked_from == "draft"
    period_unlock(period=period, user=alice, reason="補正")
    states = dict(Result.objects.filter(pk__in=[draft.pk, loaded.pk]).values_list("pk", "state"))
    assert states == {draft.pk: "draft", loaded.pk: "returned"}
    assert Result.objects.get(pk=draft.pk).locked_from == ""
    row = Result.objects.get(pk=draft.pk).history.latest()
    assert (row.state, row.history_user, row.history_change_reason) == ("draft", alice, "補正")
    period_row = ReportingPeriod.objects.get(pk=period.pk).history.latest()
    assert (period_row.locked, period_row.history_change_reason) == (False, "補正")


def test_unlocking_a_quarter_that_is_not_locked_is_a_conflict(workflow, alice):
    period = workflow.period()
    with pytest.raises(Conflict):
        period_unlock(period=period, user=alice, reason="x")
    assert ReportingPeriod.objects.get(pk=period.pk).version == period.version


def test_a_withdrawn_exception_is_in_the_history_and_cannot_be_withdrawn_twice(workflow, alice):
    workflow.set_window(alice, opens_in=-20, closes_in=-10)
    exception = _grant(workflow, alice)
    entry_exception_withdraw(exception=exception, user=alice, reason="已補登")
    row = EntryException.history.filter(id=exception.pk).latest()
    assert (row.history_type, row.history_user, row.history_change_reason) == (
        "-",
        alice,
        "已補登",
    )
    with pytest.raises(ValidationError) as excinfo:
        entry_exception_withdraw(exception=exception, user=alice, reason="再撤一次")
    assert "已被撤回" in excinfo.value.messages[0]
    with pytest.raises(WindowClosed):
        result_save_draft(
            indicator=workflow.count,
            quarter=workflow.quarter,
            figures={"value": "120"},
            narrative={},
            expected_version=None,
            user=alice,
        )
