"""The management screens (管理者, /manage/): windows and deadlines, entry exceptions, locking and
unlocking a quarter, reopening an approved result. Each a service with a reason and a history
row; each bad input answers the form again with a message at its field, 400 (409 stale, 423
frozen), and writes nothing."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from budget.models import Agency
from budget.services import agency_create, unit_create
from performance.models import EntryException, ReportingPeriod, Result
from performance.services import (
    entry_exception_grant,
    period_lock,
    result_final_approve,
    result_first_approve,
    result_save_draft,
    result_submit,
)

pytestmark = pytest.mark.django_db


def _url(name, flow, *args, quarter=None):
    return reverse(name, args=[flow.agency.code, flow.year, quarter or flow.quarter, *args])


def _day(days=0) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


@pytest.fixture
def admin(client, people):
    """The workflow agency's 管理者, signed in."""
    client.force_login(people["admin"])
    return people["admin"]


def _approved(flow, people):
    """The count indicator's result, entered and submitted by the unit's head, approved by
    初核 and 複核: each step by its own person."""
    result = result_save_draft(
        indicator=flow.count,
        quarter=flow.quarter,
        figures={"value": "120"},
        narrative={},
        expected_version=None,
        user=people["head"],
    )
    result = result_submit(result=result, expected_version=result.version, user=people["head"])
    result = result_first_approve(
        result=result, expected_version=result.version, user=people["planner"]
    )
    return result_final_approve(
        result=result, expected_version=result.version, user=people["director"]
    )


def _errors_at(response, field) -> str:
    """The messages the page shows at `field` (`None`: above the form)."""
    form = response.context["form"]
    errors = form.non_field_errors() if field is None else form.errors.get(field, [])
    return " ".join(str(e) for e in errors)


# --- entry windows -----------------------------------------------------------------------------


def _window(period, **overrides):
    data = {
        "opens_on": period.opens_on.isoformat(),
        "closes_on": period.closes_on.isoformat(),
        "first_review_due": period.first_review_due.isoformat(),
        "final_review_due": period.final_review_due.isoformat(),
        "version": period.version,
        "reason": "配合預算審議延後",
    }
    return {**data, **overrides}


def test_the_window_moves_with_a_reason_in_the_history(client, workflow, admin):
    period = workflow.period()
    page = client.get(_url("manage-quarter", workflow))
    assert page.status_code == 200
    assert f'value="{period.closes_on.isoformat()}"' in page.content.decode()
    later = (period.closes_on + timedelta(days=5)).isoformat()
    response = client.post(_url("manage-quarter", workflow), _window(period, closes_on=later))
    assert response.status_code == 302
    moved = ReportingPeriod.objects.get(pk=period.pk)
    assert moved.closes_on.isoformat() == later
    row = moved.history.latest()
    assert (row.history_user, row.history_change_reason) == (admin, "配合預算審議延後")
    page = client.get(_url("manage-quarter", workflow)).content.decode()
    assert "配合預算審議延後" in page and later in page


def test_a_quarter_nobody_asked_for_shows_the_defaults_and_is_created_on_save(
    client, workflow, admin
):
    url = _url("manage-quarter", workflow, quarter=3)
    page = client.get(url)
    assert page.status_code == 200
    assert "目前採機關預設日期" in page.content.decode()
    assert not ReportingPeriod.objects.filter(agency=workflow.agency, quarter=3).exists()
    form = page.context["form"]
    data = {name: form.initial[name].isoformat() for name in form.DATES}
    earlier = (form.initial["opens_on"] - timedelta(days=6)).isoformat()
    # A refused save (here a stale version) creates no period either.
    refused = client.post(url, {**data, "version": 7, "reason": "x"})
    assert refused.status_code == 409
    assert not ReportingPeriod.objects.filter(agency=workflow.agency, quarter=3).exists()
    data.update(version=form.initial["version"], reason="第三季提早開放", opens_on=earlier)
    assert client.post(url, data).status_code == 302
    period = ReportingPeriod.objects.get(agency=workflow.agency, year=workflow.year, quarter=3)
    assert period.opens_on.isoformat() == earlier
    assert period.history.latest().history_change_reason == "第三季提早開放"


@pytest.mark.parametrize(
    "overrides, field, message, status",
    [
        ({"closes_on": "2000-01-01"}, "closes_on", "填報截止日不可早於填報開始日", 400),
        ({"final_review_due": "2000-01-01"}, "final_review_due", "複核期限不可早於初核期限", 400),
        ({"opens_on": "2026/13/40"}, "opens_on", "必須是日期，格式為 YYYY-MM-DD", 400),
        ({"opens_on": "明天"}, "opens_on", "必須是日期", 400),
        ({"closes_on": ""}, "closes_on", "請填寫「填報截止日」", 400),
        ({"reason": "   "}, "reason", "請說明理由", 400),
        ({"version": ""}, "version", "請重新載入頁面", 400),
        ({"version": "abc"}, "version", "請重新載入頁面", 400),
        ({"stale": True}, None, "已被其他人修改", 409),
    ],
)
def test_a_bad_window_is_refused_at_its_field_and_nothing_changes(
    client, workflow, admin, overrides, field, message, status
):
    period = workflow.period()
    if overrides.pop("stale", False):
        overrides["version"] = period.version - 1 if period.version > 1 else period.version + 1
    before = (period.version, period.history.count())
    data = _window(period, **overrides)
    response = client.post(_url("manage-quarter", workflow), data)
    assert response.status_code == status
    assert message in _errors_at(response, field)
    after = ReportingPeriod.objects.get(pk=period.pk)
    assert (after.version, after.history.count()) == before
    assert after.closes_on == period.closes_on
    body = response.content.decode()
    assert 'role="alert"' in body and message in body


def test_a_stale_window_shows_what_is_stored_now(client, workflow, admin):
    period = workflow.period()
    stale = _window(period, closes_on=(period.closes_on + timedelta(days=1)).isoformat())
    assert client.post(_url("manage-quarter", workflow), _window(period)).status_code == 302
    response = client.post(_url("manage-quarter", workflow), stale)
    assert response.status_code == 409
    body = response.content.decode()
    assert 'data-testid="conflict"' in body and period.closes_on.isoformat() in body
    assert ReportingPeriod.objects.get(pk=period.pk).closes_on == period.closes_on


# --- entry exceptions --------------------------------------------------------------------------


def _grant(flow, **overrides):
    return {"unit": flow.unit.pk, "until": _day(7), "reason": "系統故障延誤", **overrides}


def test_an_exception_is_granted_listed_and_withdrawn_each_with_a_reason(client, workflow, admin):
    url = _url("manage-exceptions", workflow)
    assert client.post(url, _grant(workflow)).status_code == 302
    exception = EntryException.objects.get(agency=workflow.agency, unit=workflow.unit)
    assert (exception.until.isoformat(), exception.granted_by, exception.reason) == (
        _day(7),
        admin,
        "系統故障延誤",
    )
    page = client.get(url).content.decode()
    assert workflow.unit.name in page and "系統故障延誤" in page
    withdraw = _url("manage-exception-withdraw", workflow, exception.pk)
    assert withdraw in page
    assert client.get(withdraw).status_code == 200

    refused = client.post(withdraw, {"reason": ""})
    assert refused.status_code == 400
    assert "請說明理由" in _errors_at(refused, "reason")
    assert EntryException.objects.filter(pk=exception.pk).exists()

    assert client.post(withdraw, {"reason": "已補登完成"}).status_code == 302
    assert not EntryException.objects.filter(pk=exception.pk).exists()
    gone = EntryException.history.filter(id=exception.pk).latest()
    assert (gone.history_type, gone.history_user, gone.history_change_reason) == (
        "-",
        admin,
        "已補登完成",
    )
    history = client.get(_url("manage-quarter", workflow)).content.decode()
    assert "已補登完成" in history and "系統故障延誤" in history


def test_a_withdrawn_exception_closes_entry_again(client, workflow, admin, people):
    workflow.set_window(admin, opens_in=-20, closes_in=-10)
    assert client.post(_url("manage-exceptions", workflow), _grant(workflow)).status_code == 302
    draft = result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": "120"},
        narrative={},
        expected_version=None,
        user=people["staff"],
    )
    exception = EntryException.objects.get(agency=workflow.agency, unit=workflow.unit)
    withdraw = _url("manage-exception-withdraw", workflow, exception.pk)
    assert client.post(withdraw, {"reason": "已補登"}).status_code == 302
    client.force_login(people["staff"])
    entry = reverse("result-entry", args=[workflow.count.pk, workflow.quarter])
    response = client.post(entry, {"f_value": "130", "version": draft.version})
    assert response.status_code == 423


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"unit": "999999"}, "unit", "所選單位不存在或不屬於本機關"),
        ({"unit": "國際事務組"}, "unit", "所選單位不存在或不屬於本機關"),
        ({"unit": ""}, "unit", "請選擇要開放的單位"),
        ({"until": "2026-02-30"}, "until", "「開放至」必須是日期"),
        ({"until": ""}, "until", "請填寫「開放至」"),
        ({"until": "past"}, "until", "開放至日期不可早於今天"),
        ({"reason": ""}, "reason", "請說明理由"),
    ],
)
def test_a_bad_exception_is_refused_at_its_field_and_nothing_is_written(
    client, workflow, admin, overrides, field, message
):
    if overrides.get("until") == "past":
        overrides["until"] = _day(-1)
    response = client.post(_url("manage-exceptions", workflow), _grant(workflow, **overrides))
    assert response.status_code == 400
    assert message in _errors_at(response, field)
    assert not EntryException.objects.filter(agency=workflow.agency).exists()


def test_a_unit_of_another_agency_is_unknown_here(client, workflow, admin, alice):
    stranger = agency_create(user=alice, code="stranger", name="他署")
    foreign = unit_create(agency=stranger, user=alice, code="x", name="外單位")
    response = client.post(_url("manage-exceptions", workflow), _grant(workflow, unit=foreign.pk))
    assert response.status_code == 400
    assert "所選單位不存在或不屬於本機關" in _errors_at(response, "unit")
    assert not EntryException.objects.exists()


def test_an_exception_is_withdrawn_only_through_its_own_quarter_and_agency(
    client, workflow, admin, alice
):
    other_quarter = entry_exception_grant(
        agency=workflow.agency,
        unit=workflow.unit,
        year=workflow.year,
        quarter=2,
        until=timezone.localdate(),
        user=alice,
        reason="第二季",
    )
    nia = Agency.objects.get(code="nia")
    of_nia = entry_exception_grant(
        agency=nia,
        unit=nia.units.first(),
        year=workflow.year,
        quarter=workflow.quarter,
        until=timezone.localdate(),
        user=alice,
        reason="他機關",
    )
    for exception in (other_quarter, of_nia):
        url = _url("manage-exception-withdraw", workflow, exception.pk)  # wf's quarter 1
        assert client.get(url).status_code == 404
        assert client.post(url, {"reason": "x"}).status_code == 404
        assert EntryException.objects.filter(pk=exception.pk).exists()


# --- locking -----------------------------------------------------------------------------------


def test_locking_and_unlocking_a_quarter(client, workflow, admin, people):
    approved = _approved(workflow, people)
    draft = result_save_draft(
        indicator=workflow.ratio,
        quarter=workflow.quarter,
        figures={"num": "9", "den": "10"},
        narrative={},
        expected_version=None,
        user=people["staff"],
    )
    page = client.get(_url("manage-lock", workflow)).content.decode()
    assert "鎖定代表什麼" in page and "已核定：<strong>1</strong>" in page

    refused = client.post(_url("manage-lock", workflow), {"reason": " "})
    assert refused.status_code == 400 and "請說明理由" in _errors_at(refused, "reason")
    assert not workflow.period().locked

    assert client.post(_url("manage-lock", workflow), {"reason": "年度結算"}).status_code == 302
    period = workflow.period()
    assert period.locked
    assert period.history.latest().history_change_reason == "年度結算"
    states = dict(Result.objects.filter(pk__in=[approved.pk, draft.pk]).values_list("pk", "state"))
    assert states == {approved.pk: "locked", draft.pk: "locked"}
    page = client.get(_url("manage-lock", workflow)).content.decode()
    assert _url("manage-unlock", workflow) in page and "解除鎖定" in page
    history = client.get(_url("manage-quarter", workflow)).content.decode()
    # The history table's cells carry their header for the phone's stacked cards (data-label).
    cells = re.sub(r' data-label="[^"]*"', "", history)
    assert "<td>未鎖定</td><td>已鎖定</td><td>年度結算</td>" in cells

    again = client.post(_url("manage-lock", workflow), {"reason": "再鎖一次"})
    assert again.status_code == 423 and "本季已經鎖定" in _errors_at(again, None)

    refused = client.post(_url("manage-unlock", workflow), {"reason": ""})
    assert refused.status_code == 400 and workflow.period().locked

    assert client.post(_url("manage-unlock", workflow), {"reason": "補正資料"}).status_code == 302
    period = workflow.period()
    assert not period.locked
    assert period.history.latest().history_change_reason == "補正資料"
    rows = Result.objects.filter(pk__in=[approved.pk, draft.pk]).values_list("pk", "state")
    assert dict(rows) == {approved.pk: "approved", draft.pk: "draft"}
    unlocked = Result.objects.get(pk=draft.pk).history.latest()
    assert (unlocked.history_user, unlocked.history_change_reason) == (admin, "補正資料")

    stale = client.post(_url("manage-unlock", workflow), {"reason": "再解除一次"})
    assert stale.status_code == 409 and "本季並未鎖定" in _errors_at(stale, None)


def test_unlocking_leaves_a_reopened_result_as_it_is(client, workflow, admin, people):
    approved = _approved(workflow, people)
    client.post(_url("manage-lock", workflow), {"reason": "年度結算"})
    locked = Result.objects.get(pk=approved.pk)
    reopen = _url("manage-reopen", workflow, locked.pk)
    assert client.post(reopen, {"version": locked.version, "reason": "數字有誤"}).status_code == 302
    client.post(_url("manage-unlock", workflow), {"reason": "補正"})
    assert Result.objects.get(pk=approved.pk).state == "returned"


def test_unlock_takes_no_get(client, workflow, admin):
    assert client.get(_url("manage-unlock", workflow)).status_code == 405


# --- reopening ---------------------------------------------------------------------------------


def test_an_approved_result_is_found_in_the_list_and_reopened_with_a_reason(
    client, workflow, admin, people
):
    result = _approved(workflow, people)
    page = client.get(_url("manage-results", workflow)).content.decode()
    reopen = _url("manage-reopen", workflow, result.pk)
    assert workflow.count.name in page and reopen in page
    assert client.get(reopen).status_code == 200

    refused = client.post(reopen, {"version": result.version, "reason": ""})
    assert refused.status_code == 400 and "請說明理由" in _errors_at(refused, "reason")
    stale = client.post(reopen, {"version": result.version - 1, "reason": "數字有誤"})
    assert stale.status_code == 409 and "已被其他人修改" in _errors_at(stale, None)
    assert Result.objects.get(pk=result.pk).state == "approved"

    assert client.post(reopen, {"version": result.version, "reason": "數字有誤"}).status_code == 302
    reopened = Result.objects.get(pk=result.pk)
    assert (reopened.state, reopened.review_comment) == ("returned", "數字有誤")
    row = reopened.history.latest()
    assert (row.history_user, row.history_change_reason) == (admin, "數字有誤")
    assert reopen not in client.get(_url("manage-results", workflow)).content.decode()

    again = client.post(reopen, {"version": reopened.version, "reason": "再一次"})
    assert again.status_code == 423 and "不能執行這個動作" in _errors_at(again, None)


def test_the_result_page_links_its_administrator_to_the_reopening(client, workflow, people):
    result = _approved(workflow, people)
    entry = reverse("result-entry", args=[workflow.count.pk, workflow.quarter])
    reopen = _url("manage-reopen", workflow, result.pk)
    client.force_login(people["admin"])
    assert reopen in client.get(entry).content.decode()
    client.force_login(people["director"])
    assert reopen not in client.get(entry).content.decode()


def test_a_result_is_reopened_only_through_its_own_agency_year_and_quarter(
    client, workflow, admin, alice, people
):
    result = _approved(workflow, people)
    for url in (
        _url("manage-reopen", workflow, result.pk, quarter=2),
        reverse("manage-reopen", args=[workflow.agency.code, workflow.year - 1, 1, result.pk]),
    ):
        assert client.get(url).status_code == 404
        assert client.post(url, {"version": result.version, "reason": "x"}).status_code == 404
    nia_result = Result.objects.filter(indicator__goal__agency__code="nia").first()
    url = reverse(
        "manage-reopen",
        args=[
            workflow.agency.code,
            nia_result.indicator.goal.year,
            nia_result.quarter,
            nia_result.pk,
        ],
    )
    assert client.post(url, {"version": nia_result.version, "reason": "x"}).status_code == 404
    assert Result.objects.get(pk=nia_result.pk).state == nia_result.state
    assert Result.objects.get(pk=result.pk).state == "approved"


# --- addresses, the agency page and the menu ---------------------------------------------------


def test_another_agencys_screens_are_refused(client, workflow, admin):
    """The workflow agency's administrator manages nothing of nia."""
    assert client.get("/manage/nia/").status_code == 403
    assert client.post("/manage/nia/2013/q1/lock/", {"reason": "x"}).status_code == 403
    assert not ReportingPeriod.objects.filter(agency__code="nia", locked=True).exists()
    assert client.get("/manage/no-such-agency/").status_code == 404


@pytest.mark.parametrize("year, quarter", [(1800, 1), (2999, 1), (2013, 5), (2013, 0)])
def test_a_year_or_quarter_that_does_not_exist_is_404(client, workflow, admin, year, quarter):
    url = reverse("manage-quarter", args=[workflow.agency.code, year, quarter])
    assert client.get(url).status_code == 404
    assert client.post(url, {}).status_code == 404


def test_the_agency_page_lists_the_quarters_of_a_year(client, workflow, admin):
    period = period_lock(period=workflow.period(), user=admin, reason="結算")
    url = reverse("manage-agency", args=[workflow.agency.code])
    page = client.get(f"{url}?year={workflow.year}").content.decode()
    for quarter in (1, 2, 3, 4):
        assert _url("manage-quarter", workflow, quarter=quarter) in page
    assert period.closes_on.isoformat() in page and "已鎖定" in page
    assert "機關預設" in page  # quarters 2-4 were never adjusted
    assert ReportingPeriod.objects.filter(agency=workflow.agency).count() == 1


@pytest.mark.parametrize("year", ["abc", "1800", "２０２６"])
def test_a_bad_year_on_the_agency_page_is_400_with_a_message(client, workflow, admin, year):
    url = reverse("manage-agency", args=[workflow.agency.code])
    response = client.get(url, {"year": year})
    assert response.status_code == 400
    assert "年度" in response.content.decode() and 'role="alert"' in response.content.decode()


def test_the_menu_offers_management_to_administrators_only(client, workflow, people):
    client.force_login(people["admin"])
    assert 'href="/manage/"' in client.get("/work/").content.decode()
    index = client.get("/manage/").content.decode()
    assert f'href="/manage/{workflow.agency.code}/"' in index
    client.force_login(people["staff"])
    assert 'href="/manage/"' not in client.get("/work/").content.decode()
    assert client.get("/manage/").status_code == 403


def test_the_screens_read_in_english(client, workflow, admin):
    client.cookies["django_language"] = "en"
    page = client.get(_url("manage-lock", workflow), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "What locking means" in page and "Lock this quarter" in page
    period = workflow.period()
    response = client.post(
        _url("manage-quarter", workflow),
        _window(period, opens_on="soon"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "“Entry opens on” must be a date written YYYY-MM-DD" in response.content.decode()
