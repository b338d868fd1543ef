"""The completion board (issue 17): per unit, the quarter's indicators not entered, in draft,
submitted, returned and approved, the days to the deadline and the on-time rate; for a ministry,
per agency; its 「提醒」 reminds a unit now, at most once a day; a fixed number of queries."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from budget.models import Agency, Membership
from budget.services import agency_create, membership_create, unit_create
from performance.completion import completion_board
from performance.models import Notification
from performance.services import (
    result_first_approve,
    result_return,
    result_save_draft,
    result_submit,
)

from .cast import member
from .test_html_valid import _check as _vnu_check
from .test_html_valid import _missing as _vnu_missing

pytestmark = pytest.mark.django_db


def _url(workflow, *rest):
    return reverse("board", args=[workflow.agency.code, workflow.year, workflow.quarter, *rest])


def _remind_url(workflow, unit):
    args = [workflow.agency.code, workflow.year, workflow.quarter, unit.pk]
    return reverse("board-remind", args=args)


def _draft(workflow, people, indicator, figures):
    return result_save_draft(
        indicator=indicator,
        quarter=workflow.quarter,
        figures=figures,
        narrative={},
        expected_version=None,
        user=people["staff"],
    )


def _rows(board):
    return {row.label: row for row in board.rows}


def test_the_board_counts_each_units_indicators_by_state(workflow, people, alice):
    workflow.set_window(alice, opens_in=-20, closes_in=5)
    result = _draft(workflow, people, workflow.count, {"value": "120"})
    result = result_submit(result=result, expected_version=result.version, user=people["head"])
    rows = _rows(completion_board(agency=workflow.agency, year=workflow.year, quarter=1))
    ops = rows["業務組"]
    assert ops.counts == {
        "not_entered": 1,  # the ratio
        "draft": 0,
        "submitted": 1,
        "returned": 0,
        "approved": 0,
    }
    assert ops.days_left == 5
    assert ops.on_time == 1 and ops.due == 2 and ops.on_time_rate == 0.5
    assert ops.pending == ["指標ratio"]
    assert rows["秘書室"].counts["not_entered"] == 1 and rows["秘書室"].on_time == 0

    result = result_return(
        result=result, expected_version=result.version, user=people["planner"], comment="補"
    )
    _draft(workflow, people, workflow.ratio, {"num": "9", "den": "9"})
    ops = _rows(completion_board(agency=workflow.agency, year=workflow.year, quarter=1))["業務組"]
    assert ops.counts["returned"] == 1 and ops.counts["draft"] == 1
    assert ops.on_time == 0  # sent back and not yet submitted again: not on time


def test_a_late_first_submission_is_not_on_time(workflow, people, alice):
    result = _draft(workflow, people, workflow.count, {"value": "120"})
    result = result_submit(result=result, expected_version=result.version, user=people["head"])
    result = result_first_approve(
        result=result, expected_version=result.version, user=people["planner"]
    )
    # The deadline is moved to before the submission (yesterday).
    workflow.set_window(alice, opens_in=-20, closes_in=-1)
    ops = _rows(completion_board(agency=workflow.agency, year=workflow.year, quarter=1))["業務組"]
    assert ops.counts["submitted"] == 1  # first-approved: still in a reviewer's hands
    assert ops.on_time == 0 and ops.days_left == -1


def test_the_page_shows_the_board_to_the_planner_and_refuses_the_unit(client, workflow, people):
    client.force_login(people["planner"])
    page = client.get(_url(workflow)).content.decode()
    assert "各單位填報進度" in page and "業務組" in page and "秘書室" in page
    assert "準時率" in page and "剩 " in page
    assert _remind_url(workflow, workflow.unit) in page
    client.force_login(people["staff"])
    assert client.get(_url(workflow)).status_code == 403


def test_the_board_links_the_quarterly_report_of_its_quarter(client, workflow, people):
    client.force_login(people["planner"])
    page = client.get(_url(workflow)).content.decode()
    report = reverse(
        "report-quarterly", args=[workflow.agency.code, workflow.year, workflow.quarter]
    )
    assert f'href="{report}" data-testid="quarterly-report"' in page
    assert client.get(report).status_code == 200


def test_a_bad_year_or_quarter_is_a_message_not_a_500(client, workflow, people):
    client.force_login(people["planner"])
    response = client.get(reverse("board", args=[workflow.agency.code, 1800, 1]))
    assert response.status_code == 400
    assert "年度" in response.content.decode()
    response = client.get(reverse("board", args=[workflow.agency.code, workflow.year, 7]))
    assert response.status_code == 400
    response = client.get(reverse("board-pick") + "?agency=a%20b&year=2026&quarter=1")
    assert response.status_code == 400 and "找不到機關代碼" in response.content.decode()


def test_remind_sends_now_once_a_day_per_unit(client, workflow, people):
    client.force_login(people["planner"])
    first = client.post(_remind_url(workflow, workflow.unit), follow=True).content.decode()
    assert "已提醒「業務組」2 人：head、staff。" in first
    assert sorted(a for m in mail.outbox for a in m.to) == [
        "head@example.org",
        "staff@example.org",
    ]
    assert "指標count" in mail.outbox[0].body and "指標other" not in mail.outbox[0].body
    assert "今天已提醒" in first  # the button gives way to the note
    again = client.post(_remind_url(workflow, workflow.unit), follow=True).content.decode()
    assert "「業務組」今天已提醒過，未重複寄送" in again
    assert len(mail.outbox) == 2
    assert Notification.objects.filter(kind=Notification.Kind.REMINDER).count() == 2
    # Another unit is another reminder.
    client.post(_remind_url(workflow, workflow.other_unit))
    assert [m.to for m in mail.outbox[2:]] == [["other_staff@example.org"]]


# The 「提醒」 POST, exact, however many people the unit has: session, user, the agency and
# memberships, the unit; the period (1; 3 while it was read in a savepoint); whether the unit
# was reminded today;
# the board (its children, periods, units, indicators, results and today's reminders); the
# unit's staff and head; the reminders that exist already, the new ones inserted in one
# statement in a savepoint (3); the e-mails' rows and their claim in one UPDATE. Before: four
# queries for each person reminded and one for each e-mail.
REMIND = 20


@pytest.mark.parametrize("more", [0, 5])
def test_remind_runs_the_same_queries_for_few_people_or_many(
    client, workflow, people, django_user_model, more
):
    for k in range(more):
        member(django_user_model, workflow, Membership.Role.STAFF, name=f"more{k}")
    client.force_login(people["planner"])
    with CaptureQueriesContext(connection) as queries:
        response = client.post(_remind_url(workflow, workflow.unit))
    assert response.status_code == 302
    assert len(mail.outbox) == 2 + more
    listing = "\n".join(q["sql"] for q in queries.captured_queries)
    assert len(queries) == REMIND, listing


def test_remind_refuses_a_unit_of_another_agency(client, workflow, people, alice):
    elsewhere = agency_create(user=alice, code="far", name="他署")
    unit = unit_create(agency=elsewhere, user=alice, code="x", name="他署單位")
    client.force_login(people["planner"])
    assert client.post(_remind_url(workflow, unit)).status_code == 404
    assert mail.outbox == []


def test_a_ministry_board_has_one_row_per_agency(client, workflow, people, alice):
    ministry = agency_create(user=alice, code="min", name="測試部")
    Agency.objects.filter(pk=workflow.agency.pk).update(parent=ministry)
    planner = people["planner"].__class__.objects.create_user("min-planner")
    membership_create(
        member=planner, agency=ministry, role=Membership.Role.PLANNER, user=alice, reason="測試"
    )
    client.force_login(planner)
    page = client.get(reverse("board", args=["min", workflow.year, 1])).content.decode()
    assert "各機關填報進度" in page and "流程測試署" in page
    assert "業務組" not in page and "board/min" not in page.split("<table")[1]  # no reminders
    board = completion_board(agency=ministry, year=workflow.year, quarter=1)
    assert _rows(board)["流程測試署"].counts["not_entered"] == 3


def _grow(workflow, alice, n):
    """`n` more units, each with an indicator and a submitted result."""
    for i in range(n):
        indicator = workflow.add_unit(alice, code=f"grow{i}", name=f"單位{i}")
        result = result_save_draft(
            indicator=indicator,
            quarter=1,
            figures={"value": "30"},
            narrative={},
            expected_version=None,
            user=alice,
        )
        result_submit(result=result, expected_version=result.version, user=alice)


def test_the_board_runs_the_same_queries_for_few_units_or_many(
    client, workflow, people, alice, django_assert_num_queries
):
    workflow.period()
    result = _draft(workflow, people, workflow.count, {"value": "120"})
    result_submit(result=result, expected_version=result.version, user=people["head"])
    client.force_login(people["planner"])
    # session, user, the agency, memberships; the years of goals; the board's children,
    # periods, units, indicators, results, first submissions and today's reminders; the bell;
    # the picker's agencies
    with django_assert_num_queries(14):
        assert client.get(_url(workflow)).status_code == 200
    _grow(workflow, alice, 6)
    with django_assert_num_queries(14):
        page = client.get(_url(workflow)).content.decode()
    assert "單位5" in page


def test_days_left_counts_to_the_period_the_agency_set(workflow, people, alice):
    period = workflow.set_window(alice, opens_in=-3, closes_in=12)
    board = completion_board(agency=workflow.agency, year=workflow.year, quarter=1)
    assert {row.closes_on for row in board.rows} == {period.closes_on}
    assert board.rows[0].days_left == (period.closes_on - timezone.localdate()).days == 12
    assert period.closes_on - timedelta(days=12) == timezone.localdate()


@pytest.mark.vnu
@pytest.mark.skipif(bool(_vnu_missing()), reason=_vnu_missing() or "ready")
def test_the_inbox_and_the_board_are_valid_html(client, workflow, people, tmp_path):
    result = _draft(workflow, people, workflow.count, {"value": "120"})
    result = result_submit(result=result, expected_version=result.version, user=people["head"])
    client.force_login(people["planner"])
    pages = {
        "board": client.get(_url(workflow)),
        "board-bad": client.get(reverse("board-pick") + "?agency=&year=1&quarter=9"),
        "inbox": client.get(reverse("notifications")),
    }
    client.force_login(people["staff"])
    pages["inbox-empty"] = client.get(reverse("notifications"))
    for name, response in pages.items():
        assert response.status_code in (200, 400), f"{name}: {response.status_code}"
    problems = _vnu_check({n: r.content.decode() for n, r in pages.items()}, tmp_path)
    assert problems == [], "\n".join(problems)
