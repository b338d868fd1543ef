"""Notifications (issue 17): each review transition tells those concerned once, in the inbox and
by e-mail where they have an address; a rolled-back transition tells nobody; the page after
退回修正 says whom it told; the header's bell counts the unread; the inbox marks them read."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from budget.models import Membership
from budget.services import membership_create
from performance.models import Notification, Result
from performance.services import (
    notifications_for_transition,
    result_final_approve,
    result_first_approve,
    result_reopen,
    result_return,
    result_save_draft,
    result_submit,
)
from performance.services.notifications import notifications_email

pytestmark = pytest.mark.django_db
Kind = Notification.Kind


def _draft(workflow, people):
    return result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": Decimal("120")},
        narrative={"progress": "辦理完成"},
        expected_version=None,
        user=people["staff"],
    )


def _told(kind) -> list[str]:
    rows = Notification.objects.filter(kind=kind).order_by("recipient__username")
    return [n.recipient.username for n in rows]


def _mailed() -> list[str]:
    return sorted(a for message in mail.outbox for a in message.to)


def test_each_transition_tells_those_concerned_once_and_mails_them_on_commit(
    workflow, people, alice, django_capture_on_commit_callbacks
):
    result = _draft(workflow, people)
    with django_capture_on_commit_callbacks(execute=True):
        result = result_submit(result=result, expected_version=result.version, user=people["head"])
    assert _told(Kind.SUBMITTED) == ["planner"]
    assert _mailed() == ["planner@example.org"]
    assert [u.username for u in result.notified] == ["planner"]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = result_first_approve(
            result=result, expected_version=result.version, user=people["planner"]
        )
    # 複核 is on: the directors are told it waits for them, and the unit that it passed.
    assert _told(Kind.FIRST_APPROVED) == ["director", "head", "staff"]
    assert _mailed() == ["director@example.org", "head@example.org", "staff@example.org"]

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = result_return(
            result=result,
            expected_version=result.version,
            user=people["director"],
            comment="請補充佐證",
        )
    assert _told(Kind.RETURNED) == ["head", "staff"]  # not the other unit's staff
    assert _mailed() == ["head@example.org", "staff@example.org"]
    assert "請補充佐證" in mail.outbox[0].body

    # Submitted again: a new event, so the planner is told again (once more, not twice more).
    with django_capture_on_commit_callbacks(execute=True):
        result = result_submit(result=result, expected_version=result.version, user=people["head"])
    assert _told(Kind.SUBMITTED) == ["planner", "planner"]
    result = result_first_approve(
        result=result, expected_version=result.version, user=people["planner"]
    )
    result = result_final_approve(
        result=result, expected_version=result.version, user=people["director"]
    )
    assert _told(Kind.APPROVED) == ["head", "staff"]
    result = result_reopen(
        result=result, expected_version=result.version, user=people["admin"], reason="數字誤植"
    )
    # The unit and the reviewers who approved it; never the one who acted.
    assert _told(Kind.REOPENED) == ["director", "head", "planner", "staff"]
    assert "admin" not in {n.recipient.username for n in Notification.objects.all()}


def test_the_same_transition_told_twice_makes_no_second_notification(workflow, people):
    result = _draft(workflow, people)
    result = result_submit(result=result, expected_version=result.version, user=people["head"])
    again = notifications_for_transition(result=result, action="submit", actor=people["head"])
    assert again == []
    assert Notification.objects.filter(kind=Kind.SUBMITTED).count() == 1
    # The database holds "once" itself, whichever server writes.
    first = Notification.objects.get(kind=Kind.SUBMITTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            recipient=first.recipient, kind=first.kind, event=first.event, result=result
        )


def test_a_rolled_back_transition_tells_nobody(
    workflow, people, django_capture_on_commit_callbacks
):
    result = _draft(workflow, people)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            result_submit(result=result, expected_version=result.version, user=people["head"])
            raise RuntimeError("a later step of the same request failed")
    assert Notification.objects.count() == 0
    assert callbacks == [] and mail.outbox == []
    assert Result.objects.get(pk=result.pk).state == Result.State.DRAFT


def test_each_notification_is_mailed_once_and_only_where_there_is_an_address(
    workflow, people, django_capture_on_commit_callbacks
):
    people["head"].email = ""
    people["head"].save()
    result = _draft(workflow, people)
    result = result_submit(result=result, expected_version=result.version, user=people["head"])
    result = result_first_approve(
        result=result, expected_version=result.version, user=people["planner"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        result_return(
            result=result, expected_version=result.version, user=people["director"], comment="補"
        )
    assert _mailed() == ["staff@example.org"]  # the head has no address: inbox only
    assert _told(Kind.RETURNED) == ["head", "staff"]
    ids = Notification.objects.filter(kind=Kind.RETURNED).values_list("pk", flat=True)
    assert notifications_email(ids) == 0  # a second run mails nothing again
    assert _mailed() == ["staff@example.org"]
    staff = Notification.objects.get(kind=Kind.RETURNED, recipient=people["staff"])
    assert staff.emailed_at is not None


def test_the_mails_are_claimed_at_once_and_one_that_fails_is_released_for_the_next_run(
    workflow, people, monkeypatch
):
    from performance.services import notifications

    period = workflow.period()
    ids = [
        Notification.objects.create(
            recipient=people[name], kind=Kind.ENTRY_DUE_SOON, event="test", period=period
        ).pk
        for name in ("staff", "head", "planner")
    ]
    real = notifications.send_mail

    def send_mail(subject, body, sender, to):
        if to == ["head@example.org"]:
            raise OSError("mail server away")
        return real(subject, body, sender, to)

    monkeypatch.setattr(notifications, "send_mail", send_mail)
    assert notifications_email(ids) == 2
    assert _mailed() == ["planner@example.org", "staff@example.org"]
    waiting = Notification.objects.filter(pk__in=ids, emailed_at__isnull=True)
    assert [n.recipient.username for n in waiting] == ["head"]
    monkeypatch.setattr(notifications, "send_mail", real)
    assert notifications_email(ids) == 1  # only the one released
    assert _mailed() == ["head@example.org", "planner@example.org", "staff@example.org"]
    assert notifications._claim(ids) == set()  # all taken: nobody claims them again


def test_when_another_writer_wins_a_key_each_is_made_one_by_one(workflow, people, monkeypatch):
    """The one INSERT fails as a whole on the unique key (here forced, as another writer's row
    would make it fail): the rows are then made one by one, and exactly those this call made
    are returned, the transaction still usable."""
    from performance.services import notifications

    period = workflow.period()
    racer = Notification.objects.create(
        recipient=people["head"], kind=Kind.ENTRY_DUE_SOON, event="race", period=period
    )
    real = Notification.objects.bulk_create

    def lost_the_race(rows):
        monkeypatch.setattr(Notification.objects, "bulk_create", real)
        real([Notification(recipient=people["head"], kind=Kind.ENTRY_DUE_SOON, event="race")])

    monkeypatch.setattr(Notification.objects, "bulk_create", lost_the_race)
    users = [people["staff"], people["planner"], people["head"]]
    batch = (users, Kind.ENTRY_DUE_SOON, "race", {"period": period})
    [made] = notifications._create([batch])
    assert [n.recipient.username for n in made] == ["staff", "planner"]
    rows = Notification.objects.filter(event="race").order_by("pk")
    assert [(n.pk == racer.pk, n.recipient.username) for n in rows] == [
        (True, "head"),
        (False, "staff"),
        (False, "planner"),
    ]


def test_the_mail_is_in_chinese_with_the_english_below(
    workflow, people, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://kpi.example.org"
    result = _draft(workflow, people)
    with django_capture_on_commit_callbacks(execute=True):
        result_submit(result=result, expected_version=result.version, user=people["head"])
    (message,) = mail.outbox
    assert message.subject.startswith("【kpitrack】「指標count」")
    chinese, english = message.body.split("----")
    assert "等待初核" in chinese
    assert "waiting for first review" in english
    link = "https://kpi.example.org" + reverse(
        "result-entry", args=[workflow.count.pk, workflow.quarter]
    )
    assert link in chinese and link in english


# --- the page after 退回修正 ---------------------------------------------------------------------


def _submitted(workflow, people):
    result = _draft(workflow, people)
    return result_submit(result=result, expected_version=result.version, user=people["head"])


def _return(client, result):
    url = reverse("result-review", args=[result.indicator_id, result.quarter])
    return client.post(
        url, {"action": "return", "comment": "請補充", "version": result.version}, follow=True
    )


def test_after_returning_the_page_names_whom_it_told(client, workflow, people):
    result = _submitted(workflow, people)
    client.force_login(people["planner"])
    page = _return(client, result).content.decode()
    assert "已退回，並已通知 2 人修正：head、staff。" in page
    assert _told(Kind.RETURNED) == ["head", "staff"]


def test_after_returning_to_a_unit_with_nobody_the_page_says_so(client, workflow, people):
    result = _submitted(workflow, people)
    people["staff"].memberships.all().delete()
    people["head"].is_active = False
    people["head"].save()
    client.force_login(people["planner"])
    page = _return(client, result).content.decode()
    assert "已退回；填報單位沒有可通知的成員，請另行告知。" in page
    assert "並已通知" not in page
    assert Notification.objects.filter(kind=Kind.RETURNED).count() == 0


# --- the bell and the inbox --------------------------------------------------------------------


def test_the_bell_counts_the_unread_in_words_and_the_inbox_marks_them_read(
    client, workflow, people
):
    result = _submitted(workflow, people)
    result_return(
        result=result, expected_version=result.version, user=people["planner"], comment="補"
    )
    client.force_login(people["staff"])
    home = client.get(reverse("my-work")).content.decode()
    assert 'aria-label="通知，1 則未讀"' in home
    inbox = client.get(reverse("notifications")).content.decode()
    assert "「指標count」" in inbox and "已退回修正：補" in inbox
    assert reverse("result-entry", args=[workflow.count.pk, workflow.quarter]) in inbox
    mine = Notification.objects.get(recipient=people["staff"])
    assert client.post(reverse("notification-read", args=[mine.pk])).status_code == 302
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert 'aria-label="通知，0 則未讀"' in client.get(reverse("my-work")).content.decode()


def test_the_bell_counts_each_unread_of_the_users_own(client, workflow, people):
    # The count is read as one group (kpitrack.core.prepared): its number, not its rows.
    result = _submitted(workflow, people)
    result_return(
        result=result, expected_version=result.version, user=people["planner"], comment="補"
    )
    for event in ("again", "and again"):
        Notification.objects.create(
            recipient=people["staff"], kind=Notification.Kind.RETURNED, event=event, result=result
        )
    Notification.objects.filter(recipient=people["staff"], event="again").update(
        read_at=timezone.now()
    )
    client.force_login(people["staff"])
    home = client.get(reverse("my-work")).content.decode()
    assert 'aria-label="通知，2 則未讀"' in home  # the head's unread one is not counted


def test_mark_all_read_touches_only_the_users_own(client, workflow, people):
    result = _submitted(workflow, people)
    result_return(
        result=result, expected_version=result.version, user=people["planner"], comment="補"
    )
    client.force_login(people["staff"])
    client.post(reverse("notifications-read-all"))
    assert not Notification.objects.filter(recipient=people["staff"], read_at=None).exists()
    assert Notification.objects.filter(recipient=people["head"], read_at=None).exists()
    theirs = Notification.objects.get(recipient=people["head"])
    assert client.post(reverse("notification-read", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_inbox_lists_the_newest_first_a_page_at_a_time(client, workflow, people):
    for n in range(23):
        Notification.objects.create(
            recipient=people["staff"],
            kind=Kind.REMINDER,
            event=f"e{n}",
            params={"year": 2026, "quarter": 1, "actor": f"p{n:02}", "closes": "", "count": 1},
        )
    client.force_login(people["staff"])
    first = client.get(reverse("notifications")).content.decode()
    assert first.count("<li class=") == 20
    assert first.index("p22") < first.index("p21")
    second = client.get(reverse("notifications") + "?page=2").content.decode()
    assert second.count("<li class=") == 3 and "p00" in second


def test_the_bell_costs_the_signed_out_nothing_and_the_signed_in_one_query(
    client, people, django_assert_num_queries
):
    with django_assert_num_queries(0):
        client.get(reverse("login"))
    client.force_login(people["staff"])
    # session, user, the unread count; and the user's rights, read once for the menu's
    # 季別管理 and 審核清單 links (permissions, cached on the user for the request)
    with django_assert_num_queries(4):
        assert client.get(reverse("password_change")).status_code == 200


def test_nobody_is_told_of_their_own_act(workflow, people, alice):
    # The head is 初核 too: their own submission waits for 初核, but they are not told of it.
    membership_create(
        member=people["head"],
        agency=workflow.agency,
        role=Membership.Role.PLANNER,
        user=alice,
        reason="測試",
    )
    result = _submitted(workflow, people)
    assert _told(Kind.SUBMITTED) == ["planner"]
    assert [u.username for u in result.notified] == ["planner"]


def test_a_notification_missing_its_details_still_reads(client, people):
    # As a reminder carried over from before notifications (migration 0009) is stored.
    Notification.objects.create(
        recipient=people["staff"], kind=Kind.ENTRY_OVERDUE, event="period:1", params={}
    )
    client.force_login(people["staff"])
    response = client.get(reverse("notifications"))
    assert response.status_code == 200
    assert "績效填報已於 — 截止，尚有 — 項指標未送出。" in response.content.decode()
