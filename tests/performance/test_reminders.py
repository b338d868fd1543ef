"""manage.py send_reminders: units before and after the entry deadline, reviewers with work
waiting; never the same reminder twice."""

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from performance.models import Notification
from performance.services import (
    period_lock,
    reminders_send,
    result_first_approve,
    result_save_draft,
    result_submit,
)
from performance.services.reminders import _reminder_periods

from .cast import Role, member

pytestmark = pytest.mark.django_db


def _run() -> list[str]:
    """Runs the command; the addresses written to this time."""
    before = len(mail.outbox)
    call_command("send_reminders", stdout=None)
    return sorted(a for message in mail.outbox[before:] for a in message.to)


def _submitted(workflow, people, indicator=None, figures=None):
    """The quarter's result of `indicator` (the count), entered by the staff member and
    submitted by the head."""
    result = result_save_draft(
        indicator=indicator or workflow.count,
        quarter=workflow.quarter,
        figures=figures or {"value": "120"},
        narrative={},
        expected_version=None,
        user=people["staff"],
    )
    return result_submit(result=result, expected_version=result.version, user=people["head"])


def test_the_unit_is_reminded_once_as_the_deadline_nears(workflow, people, alice):
    workflow.set_window(alice, opens_in=-20, closes_in=2)
    assert _run() == ["head@example.org", "other_staff@example.org", "staff@example.org"]
    assert _run() == []
    message = next(m for m in mail.outbox if m.to == ["staff@example.org"])
    assert "將於" in message.subject and "截止" in message.subject
    assert "指標count" in message.body and "指標other" not in message.body
    assert Notification.objects.filter(kind="entry_due_soon").count() == 3


def test_no_reminder_while_the_deadline_is_far(workflow, people, alice):
    workflow.set_window(alice, opens_in=-1, closes_in=10)
    assert "staff@example.org" not in _run()


def test_after_the_deadline_an_overdue_reminder_goes_once_and_due_soon_does_not_repeat(
    workflow, people, alice
):
    workflow.set_window(alice, opens_in=-20, closes_in=1)
    assert "staff@example.org" in _run()
    workflow.set_window(alice, opens_in=-20, closes_in=-1)
    overdue = _run()
    assert overdue.count("staff@example.org") == 1
    assert "已於" in mail.outbox[-1].subject and "未送出" in mail.outbox[-1].subject
    assert _run() == []


def test_a_unit_that_submitted_everything_is_not_reminded(workflow, people, alice):
    _submitted(workflow, people)
    _submitted(workflow, people, workflow.ratio, {"num": "9", "den": "9"})
    workflow.set_window(alice, opens_in=-20, closes_in=1)
    sent = _run()
    assert "staff@example.org" not in sent and "head@example.org" not in sent
    assert "other_staff@example.org" in sent  # its indicator is still not entered


def test_reviewers_are_reminded_once_of_work_waiting(workflow, people, alice):
    result = _submitted(workflow, people)
    assert "planner@example.org" in _run()
    assert "planner@example.org" not in _run()
    assert "待初核" in next(m for m in mail.outbox if "planner@example.org" in m.to).subject
    result_first_approve(result=result, expected_version=result.version, user=people["planner"])
    assert _run() == ["director@example.org"]
    assert _run() == []


def test_a_locked_quarter_reminds_nobody(workflow, people, alice):
    workflow.set_window(alice, opens_in=-20, closes_in=1)
    period_lock(period=workflow.period(), user=alice, reason="結算")
    assert _run() == []


def test_how_long_before_the_deadline_is_a_setting(workflow, people, alice, settings):
    settings.REMIND_DAYS_BEFORE = 1
    workflow.set_window(alice, opens_in=-20, closes_in=2)
    assert "staff@example.org" not in _run()
    settings.REMIND_DAYS_BEFORE = 2
    assert "staff@example.org" in _run()


def test_each_reminder_is_in_the_inbox_too_even_without_an_address(workflow, people, alice):
    people["staff"].email = ""
    people["staff"].save()
    workflow.set_window(alice, opens_in=-20, closes_in=2)
    assert "staff@example.org" not in _run()
    told = Notification.objects.get(recipient=people["staff"], kind="entry_due_soon")
    assert told.read_at is None and told.emailed_at is None


# --- query counts ------------------------------------------------------------------------------


def _units(workflow, alice, django_user_model, n):
    """`n` more units of the workflow's agency, each with an indicator not entered and a staff
    member and a head who have an address."""
    for k in range(n):
        unit = workflow.add_unit(alice, code=f"r{k}", name=f"提醒單位{k}").responsible_unit
        for role in (Role.STAFF, Role.HEAD):
            member(django_user_model, workflow, role, unit=unit, name=f"{role}{k}")


# The periods to remind of (the agencies with indicators in the quarter that ended last but no
# period of it yet; the open periods), their indicators and results, the units' members and the
# planners, the notifications that exist already, the new ones inserted in one statement in a
# savepoint (3), then for the e-mails: the rows and their claim in one UPDATE. Before: a query
# per period for its indicators and one for its results, one for each unit's members, four for
# each notification and one for each e-mail.
REMINDERS = 12


@pytest.mark.parametrize("units", [2, 6])
def test_the_reminders_run_the_same_queries_for_few_units_or_many(
    workflow, people, alice, django_user_model, units
):
    _units(workflow, alice, django_user_model, units)
    workflow.set_window(alice, opens_in=-20, closes_in=2)
    _submitted(workflow, people)
    _reminder_periods(timezone.localdate())  # the default periods are made once, not counted
    with CaptureQueriesContext(connection) as queries:
        sent = reminders_send()
    # Each new unit's two, the other unit's staff (the workflow unit's indicator `ratio` is
    # not entered either: its staff and head), and the planner of the submitted one.
    assert sent == 2 * units + 3 + 1
    assert len(mail.outbox) == sent
    listing = "\n".join(q["sql"] for q in queries.captured_queries)
    assert len(queries) == REMINDERS, listing
