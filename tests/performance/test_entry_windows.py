"""The entry window at its edges: entry is open ON the opening day and ON the closing day, and
refused the day before it opens and the day after it closes — for one result, for many at once,
for submitting, and on the entry page — and an exception is open through its last day."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from performance.models import Result
from performance.services import (
    DraftEntry,
    DraftsRefused,
    WindowClosed,
    entry_exception_grant,
    indicator_create,
    period_update,
    result_save_draft,
    result_submit,
    results_save_drafts,
    strategic_goal_create,
)

pytestmark = pytest.mark.django_db

MET = {"progress": "依計畫辦理"}

# (opens_in, closes_in) in days from today
OPENS_TODAY = (0, 10)
CLOSES_TODAY = (-20, 0)
ONE_DAY_WINDOW = (0, 0)
OPENS_TOMORROW = (1, 10)
CLOSED_YESTERDAY = (-20, -1)


def _window(flow, user, days):
    opens_in, closes_in = days
    return flow.set_window(user, opens_in=opens_in, closes_in=closes_in)


def _save(flow, user, indicator=None, version=None):
    return result_save_draft(
        indicator=indicator or flow.count,
        quarter=flow.quarter,
        figures={"value": "120"},
        narrative=MET,
        expected_version=version,
        user=user,
        reason="第一季填報",
    )


def _save_many(flow, user, *indicators):
    results_save_drafts(
        quarter=flow.quarter,
        entries=[DraftEntry(i.pk, {"value": "120"}, MET, None) for i in indicators],
        user=user,
        reason="整批填報",
    )


def _grant(flow, user, until_in: int, unit=None):
    return entry_exception_grant(
        agency=flow.agency,
        unit=unit or flow.unit,
        year=flow.year,
        quarter=flow.quarter,
        until=timezone.localdate() + timedelta(days=until_in),
        user=user,
        reason="系統故障補登",
    )


# --- one result ------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [OPENS_TODAY, CLOSES_TODAY, ONE_DAY_WINDOW])
def test_entry_is_open_on_the_opening_and_on_the_closing_day(workflow, alice, days):
    _window(workflow, alice, days)
    assert _save(workflow, alice).state == Result.State.DRAFT


def test_entry_the_day_before_the_window_opens_is_refused(workflow, alice):
    period = _window(workflow, alice, OPENS_TOMORROW)
    assert period.opens_on == timezone.localdate() + timedelta(days=1)
    with pytest.raises(WindowClosed) as excinfo:
        _save(workflow, alice)
    assert "尚未開放" in excinfo.value.message
    assert not Result.objects.filter(indicator=workflow.count).exists()


def test_entry_the_day_after_the_window_closes_is_refused(workflow, alice):
    period = _window(workflow, alice, CLOSED_YESTERDAY)
    with pytest.raises(WindowClosed) as excinfo:
        _save(workflow, alice)
    assert f"已於 {period.closes_on.isoformat()} 截止" in excinfo.value.message
    assert not Result.objects.filter(indicator=workflow.count).exists()


def test_the_refusal_says_the_year_the_quarter_the_window_and_today_exactly(workflow, alice):
    # The whole sentence the page shows, not a fragment of it: the year in the ROC calendar with
    # the Gregorian year, the quarter, both dates and today (a mutation run found a message that
    # lost its year, or gained text, still matching the fragments above).
    today = timezone.localdate()
    year = f"民國{workflow.year - 1911}年（{workflow.year}）"
    period = _window(workflow, alice, OPENS_TOMORROW)
    window = f"{period.opens_on.isoformat()} 至 {period.closes_on.isoformat()}"
    with pytest.raises(WindowClosed) as early:
        _save(workflow, alice)
    assert early.value.message == (
        f"{year}第{workflow.quarter}季的填報期間為 {window}，"
        f"尚未開放（今天是 {today.isoformat()}）。"
    )
    period = _window(workflow, alice, CLOSED_YESTERDAY)
    window = f"{period.opens_on.isoformat()} 至 {period.closes_on.isoformat()}"
    with pytest.raises(WindowClosed) as late:
        _save(workflow, alice)
    assert late.value.message == (
        f"{year}第{workflow.quarter}季的填報期間為 {window}，"
        f"已於 {period.closes_on.isoformat()} 截止"
        f"（今天是 {today.isoformat()}）；如需逾期填報，請洽管理者開放例外。"
    )


def test_a_window_may_not_close_before_it_opens_but_may_be_one_day(workflow, alice):
    today = timezone.localdate()
    period = workflow.period()
    dates = {"first_review_due": today, "final_review_due": today}
    with pytest.raises(ValidationError) as excinfo:
        period_update(
            period=period,
            expected_version=period.version,
            user=alice,
            reason="調整",
            opens_on=today,
            closes_on=today - timedelta(days=1),
            **dates,
        )
    assert "closes_on" in excinfo.value.message_dict
    period = period_update(
        period=period,
        expected_version=period.version,
        user=alice,
        reason="調整",
        opens_on=today,
        closes_on=today,
        **dates,
    )
    assert period.opens_on == period.closes_on == today


# --- exceptions ------------------------------------------------------------------------------


def test_an_exception_is_open_through_its_last_day(workflow, alice):
    _window(workflow, alice, CLOSED_YESTERDAY)
    _grant(workflow, alice, until_in=0)
    assert _save(workflow, alice).state == Result.State.DRAFT


def test_an_exception_that_ended_yesterday_opens_nothing(workflow, alice):
    _window(workflow, alice, CLOSED_YESTERDAY)
    _grant(workflow, alice, until_in=-1)
    with pytest.raises(WindowClosed):
        _save(workflow, alice)


def test_an_exception_opens_a_window_that_has_not_opened_yet_for_its_unit_only(workflow, alice):
    _window(workflow, alice, OPENS_TOMORROW)
    _grant(workflow, alice, until_in=0)
    assert _save(workflow, alice).state == Result.State.DRAFT
    with pytest.raises(WindowClosed):
        _save(workflow, alice, indicator=workflow.elsewhere)


def test_an_exception_of_another_quarter_opens_nothing(workflow, alice):
    _window(workflow, alice, CLOSED_YESTERDAY)
    entry_exception_grant(
        agency=workflow.agency,
        unit=workflow.unit,
        year=workflow.year,
        quarter=workflow.quarter + 1,
        until=timezone.localdate() + timedelta(days=5),
        user=alice,
        reason="補登",
    )
    with pytest.raises(WindowClosed):
        _save(workflow, alice)


# --- many results at once (the workbook and the API) -----------------------------------------


@pytest.mark.parametrize("days", [OPENS_TODAY, CLOSES_TODAY])
def test_many_at_once_are_open_on_the_opening_and_on_the_closing_day(workflow, alice, days):
    _window(workflow, alice, days)
    _save_many(workflow, alice, workflow.count, workflow.elsewhere)
    assert Result.objects.filter(indicator__goal__agency=workflow.agency).count() == 2


@pytest.mark.parametrize("days", [OPENS_TOMORROW, CLOSED_YESTERDAY])
def test_many_at_once_are_refused_outside_the_window(workflow, alice, days):
    _window(workflow, alice, days)
    with pytest.raises(DraftsRefused) as excinfo:
        _save_many(workflow, alice, workflow.count)
    assert isinstance(excinfo.value.refusals[0], WindowClosed)


def test_many_at_once_honour_an_exception_through_its_last_day(workflow, alice):
    _window(workflow, alice, CLOSED_YESTERDAY)
    _grant(workflow, alice, until_in=0)
    _save_many(workflow, alice, workflow.count)
    with pytest.raises(DraftsRefused) as excinfo:
        _save_many(workflow, alice, workflow.elsewhere)
    assert isinstance(excinfo.value.refusals[0], WindowClosed)


# --- submitting a draft ----------------------------------------------------------------------


def test_a_draft_is_submitted_on_the_closing_day_but_not_the_day_after(workflow, alice):
    draft = _save(workflow, alice)
    _window(workflow, alice, CLOSES_TODAY)
    submitted = result_submit(result=draft, expected_version=draft.version, user=alice)
    assert submitted.state == Result.State.SUBMITTED

    late = _save(workflow, alice, indicator=workflow.elsewhere)
    _window(workflow, alice, CLOSED_YESTERDAY)
    with pytest.raises(WindowClosed):
        result_submit(result=late, expected_version=late.version, user=alice)
    assert Result.objects.get(pk=late.pk).state == Result.State.DRAFT


# --- the entry page --------------------------------------------------------------------------


def _post(client, indicator, quarter=1):
    return client.post(
        reverse("result-entry", args=[indicator.pk, quarter]),
        {"version": "", "action": "save", "f_value": "150"},
    )


@pytest.mark.parametrize("days", [OPENS_TODAY, CLOSES_TODAY])
def test_the_page_saves_on_the_opening_and_on_the_closing_day(client, alice, workflow, days):
    client.force_login(alice)
    _window(workflow, alice, days)
    assert _post(client, workflow.count).status_code == 302
    assert Result.objects.get(indicator=workflow.count).state == Result.State.DRAFT


@pytest.mark.parametrize(
    ("days", "message"), [(OPENS_TOMORROW, "尚未開放"), (CLOSED_YESTERDAY, "截止")]
)
def test_the_page_refuses_the_day_before_opening_and_after_closing(
    client, alice, workflow, days, message
):
    client.force_login(alice)
    _window(workflow, alice, days)
    response = _post(client, workflow.count)
    assert response.status_code == 423
    assert message in response.content.decode()
    assert not Result.objects.filter(indicator=workflow.count).exists()


def test_the_page_honours_an_exception_through_its_last_day(client, alice, workflow):
    client.force_login(alice)
    _window(workflow, alice, CLOSED_YESTERDAY)
    _grant(workflow, alice, until_in=0)
    assert _post(client, workflow.count).status_code == 302
    assert _post(client, workflow.elsewhere).status_code == 423


def test_an_exception_opens_its_own_year_only_also_in_a_batch_of_two_years(workflow, alice):
    """An exception is for one agency, year and quarter: in a batch that enters last year's
    quarter and this year's, it opens this year's alone, whichever comes first."""
    goal = strategic_goal_create(
        user=alice, agency=workflow.agency, year=workflow.year - 1, code="g0", title="去年目標"
    )
    last_year = indicator_create(
        user=alice,
        goal=goal,
        code="count",
        name="去年件數",
        method="count",
        responsible_unit=workflow.unit,
        inputs=[{"key": "value", "label": "件數"}],
        parts=[{"key": "value", "label": "件數", "value": Decimal("100")}],
    )
    _window(workflow, alice, CLOSED_YESTERDAY)  # this year's; last year's closed long ago
    _grant(workflow, alice, until_in=5)
    with pytest.raises(DraftsRefused) as excinfo:
        _save_many(workflow, alice, last_year, workflow.count)
    assert set(excinfo.value.refusals) == {0}
    assert isinstance(excinfo.value.refusals[0], WindowClosed)
    _save_many(workflow, alice, workflow.count)
    assert Result.objects.filter(indicator=workflow.count).exists()


def test_a_batch_of_two_years_checks_each_years_own_window(workflow, alice):
    goal = strategic_goal_create(
        user=alice, agency=workflow.agency, year=workflow.year - 1, code="g0", title="去年目標"
    )
    last_year = indicator_create(
        user=alice,
        goal=goal,
        code="count",
        name="去年件數",
        method="count",
        responsible_unit=workflow.unit,
        inputs=[{"key": "value", "label": "件數"}],
        parts=[{"key": "value", "label": "件數", "value": Decimal("100")}],
    )
    _window(workflow, alice, CLOSES_TODAY)  # this year's is open; last year's closed long ago
    with pytest.raises(DraftsRefused) as excinfo:
        _save_many(workflow, alice, last_year, workflow.count)
    assert set(excinfo.value.refusals) == {0}
