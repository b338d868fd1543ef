"""Reporting periods: defaults, moving the window, exceptions, locking a quarter."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import override

from budget.services import agency_create, unit_create
from kpitrack.core.versioning import ConcurrentEditError
from performance.models import EntryException, ReportingPeriod, Result
from performance.selectors import achievements_for_year
from performance.services import (
    ResultLocked,
    entry_exception_grant,
    period_get_or_create,
    period_lock,
    period_update,
    result_final_approve,
    result_first_approve,
    result_reopen,
    result_save_draft,
    result_submit,
)

pytestmark = pytest.mark.django_db


def test_a_period_is_created_with_the_agency_defaults(workflow):
    period = period_get_or_create(agency=workflow.agency, year=2031, quarter=2)
    assert (
        period.opens_on,
        period.closes_on,
        period.first_review_due,
        period.final_review_due,
        period.locked,
    ) == (date(2031, 7, 1), date(2031, 7, 31), date(2031, 8, 10), date(2031, 8, 20), False)
    assert period_get_or_create(agency=workflow.agency, year=2031, quarter=2).pk == period.pk
    assert ReportingPeriod.objects.filter(agency=workflow.agency, year=2031).count() == 1


def test_the_fourth_quarter_opens_in_the_next_year(workflow):
    period = period_get_or_create(agency=workflow.agency, year=2031, quarter=4)
    assert period.opens_on == date(2032, 1, 1)


def test_a_quarter_outside_one_to_four_is_refused(workflow):
    with pytest.raises(ValidationError) as excinfo:
        period_get_or_create(agency=workflow.agency, year=2031, quarter=5)
    assert "quarter" in excinfo.value.message_dict


@pytest.mark.parametrize(
    ("year", "quarter", "refused"),
    [
        (1911, 1, {"year": ["年度必須介於 1912 與 2200 之間。"]}),
        (2201, 4, {"year": ["年度必須介於 1912 與 2200 之間。"]}),
        (2031, 0, {"quarter": ["季別必須是 1 至 4。"]}),
        (2031, 5, {"quarter": ["季別必須是 1 至 4。"]}),
        (
            1911,
            5,
            {"year": ["年度必須介於 1912 與 2200 之間。"], "quarter": ["季別必須是 1 至 4。"]},
        ),
    ],
)
def test_a_year_or_quarter_out_of_range_is_refused_saying_which_and_why(
    workflow, alice, year, quarter, refused
):
    """Both services that take a year and a quarter refuse one out of range, each field with its
    own sentence (the management pages check the address before calling them, so these are the
    service's own words, for any other caller)."""
    with pytest.raises(ValidationError) as excinfo:
        period_get_or_create(agency=workflow.agency, year=year, quarter=quarter)
    assert excinfo.value.message_dict == refused
    with pytest.raises(ValidationError) as excinfo:
        entry_exception_grant(
            agency=workflow.agency,
            unit=workflow.unit,
            year=year,
            quarter=quarter,
            until=timezone.localdate(),
            user=alice,
            reason="補登",
        )
    assert excinfo.value.message_dict == refused
    assert not ReportingPeriod.objects.filter(agency=workflow.agency, year=year).exists()
    assert not EntryException.objects.filter(agency=workflow.agency, year=year).exists()


def test_the_year_and_quarter_refusals_read_in_english(workflow):
    with override("en"), pytest.raises(ValidationError) as excinfo:
        period_get_or_create(agency=workflow.agency, year=2201, quarter=0)
    assert excinfo.value.message_dict == {
        "year": ["The year must be between 1912 and 2200."],
        "quarter": ["The quarter must be 1 to 4."],
    }


def test_the_first_and_the_last_year_are_accepted(workflow):
    assert period_get_or_create(agency=workflow.agency, year=1912, quarter=1).year == 1912
    assert period_get_or_create(agency=workflow.agency, year=2200, quarter=4).year == 2200


def test_moving_the_window_is_kept_in_the_history(workflow, alice):
    period = workflow.period()
    moved = period_update(
        period=period,
        expected_version=period.version,
        user=alice,
        reason="配合預算審議延後",
        closes_on=period.closes_on + timedelta(days=5),
    )
    assert moved.closes_on == period.closes_on + timedelta(days=5)
    row = moved.history.latest()
    assert (row.history_user, row.history_change_reason) == (alice, "配合預算審議延後")


def test_a_stale_or_unreasoned_or_backwards_window_is_refused(workflow, alice):
    period = workflow.period()
    with pytest.raises(ValidationError):
        period_update(period=period, expected_version=period.version, user=alice, reason="")
    with pytest.raises(ValidationError) as excinfo:
        period_update(
            period=period,
            expected_version=period.version,
            user=alice,
            reason="x",
            closes_on=period.opens_on - timedelta(days=1),
        )
    assert "填報截止日不可早於填報開始日" in excinfo.value.message_dict["closes_on"][0]
    with pytest.raises(ConcurrentEditError):
        period_update(period=period, expected_version=period.version - 1, user=alice, reason="x")
    assert ReportingPeriod.objects.get(pk=period.pk).closes_on == period.closes_on


def test_only_an_administrator_moves_windows_grants_exceptions_and_locks(workflow, bob):
    period = workflow.period()
    with pytest.raises(PermissionDenied):
        period_update(period=period, expected_version=period.version, user=bob, reason="x")
    with pytest.raises(PermissionDenied):
        entry_exception_grant(
            agency=workflow.agency,
            unit=workflow.unit,
            year=workflow.year,
            quarter=1,
            until=timezone.localdate(),
            user=bob,
            reason="x",
        )
    with pytest.raises(PermissionDenied):
        period_lock(period=period, user=bob, reason="x")
    assert not ReportingPeriod.objects.get(pk=period.pk).locked


def test_an_exception_needs_a_reason_and_a_unit_of_the_agency(workflow, alice):
    def grant(unit, reason):
        return entry_exception_grant(
            agency=workflow.agency,
            unit=unit,
            year=workflow.year,
            quarter=1,
            until=timezone.localdate(),
            user=alice,
            reason=reason,
        )

    with pytest.raises(ValidationError):
        grant(workflow.unit, " ")
    stranger = agency_create(user=alice, code="other", name="他署")
    foreign = unit_create(agency=stranger, user=alice, code="x", name="外單位")
    with pytest.raises(ValidationError) as excinfo:
        grant(foreign, "補登")
    assert "unit" in excinfo.value.message_dict
    granted = grant(workflow.unit, "補登")
    assert (granted.granted_by, granted.history.latest().history_change_reason) == (alice, "補登")
    assert EntryException.objects.count() == 1


def _approved(flow, user):
    result = result_save_draft(
        indicator=flow.count,
        quarter=flow.quarter,
        figures={"value": "120"},
        narrative={},
        expected_version=None,
        user=user,
    )
    for step in (result_submit, result_first_approve, result_final_approve):
        result = step(result=result, expected_version=result.version, user=user)
    return result


def test_locking_a_quarter_freezes_every_result_remembering_its_state(workflow, alice):
    approved = _approved(workflow, alice)
    draft = result_save_draft(
        indicator=workflow.ratio,
        quarter=workflow.quarter,
        figures={"num": "9", "den": "10"},
        narrative={},
        expected_version=None,
        user=alice,
    )
    period_lock(period=workflow.period(), user=alice, reason="年度結算")
    approved, draft = Result.objects.get(pk=approved.pk), Result.objects.get(pk=draft.pk)
    assert (approved.state, approved.locked_from) == ("locked", "approved")
    assert (draft.state, draft.locked_from) == ("locked", "draft")
    assert draft.history.latest().history_change_reason == "年度結算"
    with pytest.raises(ResultLocked):
        result_save_draft(
            indicator=workflow.ratio,
            quarter=workflow.quarter,
            figures={"num": "1"},
            narrative={},
            expected_version=draft.version,
            user=alice,
        )
    with pytest.raises(ResultLocked):
        period_lock(period=workflow.period(), user=alice, reason="again")


def test_reads_count_a_locked_result_only_if_it_was_approved(workflow, alice):
    _approved(workflow, alice)
    result_save_draft(
        indicator=workflow.ratio,
        quarter=workflow.quarter,
        figures={"num": "9", "den": "10"},
        narrative={},
        expected_version=None,
        user=alice,
    )
    period_lock(period=workflow.period(), user=alice, reason="年度結算")
    rows = achievements_for_year(
        year=workflow.year, through_quarter=workflow.quarter, agency=workflow.agency
    )
    by_code = {row.indicator.code: row for row in rows}
    assert by_code["count"].state == "locked"
    assert by_code["count"].outcome.rate == 120
    assert by_code["ratio"].result is None


def test_a_locked_result_reopens_for_correction(workflow, alice):
    result = _approved(workflow, alice)
    period_lock(period=workflow.period(), user=alice, reason="年度結算")
    result = Result.objects.get(pk=result.pk)
    reopened = result_reopen(
        result=result, expected_version=result.version, user=alice, reason="審計部更正"
    )
    assert (reopened.state, reopened.locked_from) == ("returned", "")
    fixed = result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": "110"},
        narrative={},
        expected_version=reopened.version,
        user=alice,
    )
    assert fixed.figures.get().value == 110
