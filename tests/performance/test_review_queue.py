"""The review queue (issue 17): the results waiting for the user's 初核 or 複核, grouped by unit
with what the decision needs inline; the ticked ones approved at once (all or none, a stale row
refused by name), one returned with a comment; each a service call with its history row; query
counts that do not grow with the results."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from budget.models import Membership
from budget.services import agency_create, membership_create
from performance.models import Notification, Result
from performance.services import (
    evidence_add,
    indicator_create,
    period_lock,
    period_unlock,
    result_first_approve,
    result_save_draft,
    result_submit,
)
from performance.services.review_bulk import ApprovalsRefused, results_approve

from .cast import Role, keep_review_duties_together, member

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _submitted(indicator, user, value="120", evidence=None, **narrative):
    result = result_save_draft(
        indicator=indicator,
        quarter=1,
        figures={"value": Decimal(value)},
        narrative={"progress": "辦理完成", **narrative},
        expected_version=None,
        user=user,
    )
    if evidence:
        evidence_add(
            result=result, upload=SimpleUploadedFile(evidence, PDF), user=user, reason="佐證"
        )
        result = Result.objects.get(pk=result.pk)
    return result_submit(result=result, expected_version=result.version, user=user)


def _extra(workflow, alice, n, *, start=0, both_units=False):
    """`n` more count indicators of the workflow's goal, of its unit (or, `both_units`, of
    either)."""
    return [
        indicator_create(
            user=alice,
            goal=workflow.count.goal,
            code=f"x{k}",
            name=f"加測指標{k}",
            method="count",
            responsible_unit=workflow.other_unit if both_units and k % 2 else workflow.unit,
            inputs=[{"key": "value", "label": "辦理件數", "unit": "件"}],
            parts=[{"key": "value", "label": "件數", "value": Decimal("100")}],
        )
        for k in range(start, start + n)
    ]


def _url(workflow, name="review-queue-agency"):
    return reverse(name, args=[workflow.agency.code])


def _period(workflow, stage="first"):
    return {"year": workflow.year, "quarter": 1, "stage": stage}


def _approve(client, workflow, results, stage="first", versions=None):
    data = {**_period(workflow, stage), "result": [r.pk for r in results]}
    for r in results:
        data[f"version-{r.pk}"] = (versions or {}).get(r.pk, r.version)
    return client.post(_url(workflow, "review-queue-approve"), data)


def _state(result):
    return Result.objects.get(pk=result.pk).state


@pytest.fixture
def planner(django_user_model, workflow):
    return member(django_user_model, workflow, Role.PLANNER)


@pytest.fixture
def director(django_user_model, workflow):
    return member(django_user_model, workflow, Role.DIRECTOR)


@pytest.fixture
def head(django_user_model, workflow):
    return member(django_user_model, workflow, Role.HEAD)


# --- the page --------------------------------------------------------------------------------


def test_the_planner_sees_every_submitted_result_by_unit_with_what_to_decide_on(
    client, workflow, alice, planner, head
):
    behind = _submitted(
        workflow.count,
        head,
        value="10",
        evidence="核卡清冊.pdf",
        shortfall_reason="颱風停班",
        improvement="加班趕辦",
    )
    other = _extra(workflow, alice, 2, both_units=True)[1]  # of 秘書室
    _submitted(other, alice)
    result_save_draft(  # a draft waits for nobody
        indicator=workflow.elsewhere,
        quarter=1,
        figures={"value": Decimal("1")},
        narrative={},
        expected_version=None,
        user=alice,
    )
    client.force_login(planner)
    response = client.get(_url(workflow))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('data-testid="queue-row"') == 2
    # Grouped by unit, in the units' order by name: 業務組 and 秘書室.
    assert page.index("業務組") < page.index("指標count") < page.index("秘書室")
    assert page.index("秘書室") < page.index("加測指標1")
    assert "辦理件數 <strong>10</strong> 件" in page
    assert "第1季分季目標" in page and "（預設）" in page  # the default milestone says it is
    assert "颱風停班" in page and "加班趕辦" in page
    assert "核卡清冊.pdf" in page
    assert 'class="light red"' in page and "落後進度" in page  # the light says it in words
    assert f'name="version-{behind.pk}" value="{behind.version}"' in page
    assert "指標other" not in page


def test_the_director_sees_first_approved_results_less_those_duties_keep_apart(
    client, django_user_model, workflow, alice, planner, head
):
    mixed = member(django_user_model, workflow, Role.DIRECTOR, name="mixed")
    membership_create(
        member=mixed, agency=workflow.agency, role=Membership.Role.PLANNER, user=None, reason="兼任"
    )
    first = _submitted(workflow.count, head)
    result_first_approve(result=first, expected_version=first.version, user=mixed)
    (x0,) = _extra(workflow, alice, 1)
    second = _submitted(x0, head)
    result_first_approve(result=second, expected_version=second.version, user=planner)
    client.force_login(mixed)
    page = client.get(_url(workflow), {**_period(workflow, "final")}).content.decode()
    # Their own 初核 is not theirs to 複核: withheld and said so.
    assert page.count('data-testid="queue-row"') == 1
    assert "加測指標0" in page and "指標count" not in page
    assert 'data-testid="withheld"' in page
    # A superuser who first-approved it sees it, told that approving is recorded as such.
    client.force_login(alice)
    third = _submitted(_extra(workflow, alice, 1, start=1)[0], head)
    result_first_approve(result=third, expected_version=third.version, user=alice)
    page = client.get(_url(workflow), {**_period(workflow, "final")}).content.decode()
    assert page.count('data-testid="queue-row"') == 3
    assert page.count("系統管理者例外") == 1


def test_a_director_gets_no_first_stage_and_staff_no_queue(
    client, django_user_model, workflow, director
):
    staff = member(django_user_model, workflow, Role.STAFF)
    client.force_login(director)
    response = client.get(_url(workflow), _period(workflow, "first"))
    assert response.status_code == 400
    assert "您在這個機關沒有這個審核階段的權限。" in response.content.decode()
    assert client.get(_url(workflow)).status_code == 200  # their stage by default
    client.force_login(staff)
    assert client.get(_url(workflow)).status_code == 403
    assert client.get(reverse("review-queue")).status_code == 403


def test_the_index_goes_straight_to_the_only_agency(client, workflow, planner):
    client.force_login(planner)
    response = client.get(reverse("review-queue"))
    assert response.status_code == 302 and response.url == _url(workflow)


def test_my_work_links_the_queue_for_reviewers_only(client, django_user_model, workflow, planner):
    # The page's own link (the menu's carries the queue too, for every reviewer).
    link = f'<a href="{reverse("review-queue")}">前往審核清單'
    client.force_login(planner)
    assert link in client.get(reverse("my-work"), {"year": workflow.year, "quarter": 1}).text
    client.force_login(member(django_user_model, workflow, Role.STAFF))
    assert link not in client.get(reverse("my-work"), {"year": workflow.year, "quarter": 1}).text


def test_a_bad_year_is_said_and_lists_nothing(client, workflow, planner):
    client.force_login(planner)
    response = client.get(_url(workflow), {"year": "abc", "quarter": 1})
    assert response.status_code == 400
    assert "年度必須是西元年的數字" in response.content.decode()


# --- approving the selected ones ---------------------------------------------------------------


def test_approving_the_selected_ones_writes_a_history_row_each(
    client, workflow, alice, planner, head
):
    results = [_submitted(i, head) for i in [workflow.count, *_extra(workflow, alice, 2)]]
    left = _submitted(workflow.elsewhere, alice)
    client.force_login(planner)
    response = _approve(client, workflow, results)
    assert response.status_code == 302
    for r in results:
        assert _state(r) == Result.State.FIRST_APPROVED
        newest = Result.objects.get(pk=r.pk).history.order_by("-history_id").first()
        assert newest.history_user_id == planner.pk
        assert newest.history_change_reason == "審核清單批次核准"
    assert _state(left) == Result.State.SUBMITTED
    page = client.get(response.url).content.decode()
    assert "已初核通過 3 筆成果。" in page


def test_a_stale_row_is_refused_by_name_and_nothing_is_approved(
    client, workflow, alice, planner, head
):
    results = [_submitted(i, head) for i in [workflow.count, *_extra(workflow, alice, 2)]]
    stale = results[1]
    client.force_login(planner)
    response = _approve(client, workflow, results, versions={stale.pk: stale.version - 1})
    assert response.status_code == 409
    page = response.content.decode()
    assert 'data-testid="approve-refused"' in page
    assert "加測指標0" in page.split('data-testid="approve-refused"')[1].split("</section>")[0]
    assert "指標count" not in page.split('data-testid="approve-refused"')[1].split("</section>")[0]
    assert all(_state(r) == Result.State.SUBMITTED for r in results)
    # The others stay ticked to approve again; the stale one does not.
    assert f'aria-describedby="row-{results[0].pk}-h" checked' in page
    assert f'aria-describedby="row-{stale.pk}-h" checked' not in page


def test_a_row_another_reviewer_approved_meanwhile_is_refused_by_name(
    client, django_user_model, workflow, alice, planner, head
):
    results = [_submitted(i, head) for i in [workflow.count, *_extra(workflow, alice, 1)]]
    colleague = member(django_user_model, workflow, Role.PLANNER, name="colleague")
    done = result_first_approve(
        result=results[0], expected_version=results[0].version, user=colleague
    )
    client.force_login(planner)
    response = _approve(client, workflow, results)
    assert response.status_code == 423
    assert "指標count" in response.content.decode()
    assert _state(results[1]) == Result.State.SUBMITTED
    assert Result.objects.get(pk=done.pk).version == done.version


def test_the_bulk_service_names_every_refused_row(workflow, alice, planner, head):
    results = [_submitted(i, head) for i in [workflow.count, *_extra(workflow, alice, 2)]]
    items = [(r, r.version) for r in results]
    items[0] = (results[0], 99)
    items[2] = (results[2], 98)
    with pytest.raises(ApprovalsRefused) as refused:
        results_approve(user=planner, items=items, stage="first")
    assert [r.label for r in refused.value.refused] == ["count 指標count", "x1 加測指標1"]
    assert refused.value.status == 409
    assert all(_state(r) == Result.State.SUBMITTED for r in results)


def test_nothing_ticked_is_said(client, workflow, planner):
    client.force_login(planner)
    response = client.post(_url(workflow, "review-queue-approve"), _period(workflow))
    assert response.status_code == 400
    assert "請至少勾選一筆要核准的成果。" in response.content.decode()


@pytest.mark.parametrize(
    "pk, version",
    [("abc", "1"), ("1", "x"), ("9" * 30, "1"), ("1", "9" * 12)],
)
def test_a_tampered_selection_is_refused_and_writes_nothing(
    client, workflow, planner, head, pk, version
):
    result = _submitted(workflow.count, head)
    client.force_login(planner)
    data = {**_period(workflow), "result": [pk], f"version-{pk}": version}
    response = client.post(_url(workflow, "review-queue-approve"), data)
    assert response.status_code == 400
    assert "請重新載入頁面" in response.content.decode()
    assert _state(result) == Result.State.SUBMITTED


def test_a_result_of_another_agency_cannot_be_slipped_in(client, workflow, alice, planner, head):
    agency_create(user=alice, code="far", name="他署")
    result = _submitted(workflow.count, head)
    client.force_login(alice)
    data = {"year": workflow.year, "quarter": 1, "stage": "first", "result": [result.pk]}
    data[f"version-{result.pk}"] = result.version
    response = client.post(reverse("review-queue-approve", args=["far"]), data)
    assert response.status_code == 400
    assert _state(result) == Result.State.SUBMITTED


def test_the_director_cannot_approve_at_first_stage(client, workflow, director, head):
    result = _submitted(workflow.count, head)
    client.force_login(director)
    response = _approve(client, workflow, [result], stage="first")
    assert response.status_code == 400
    assert _state(result) == Result.State.SUBMITTED


def test_final_approval_of_a_result_one_first_approved_is_refused_by_name(
    workflow, alice, head, django_user_model
):
    both = member(django_user_model, workflow, Role.ADMIN, name="both")
    result = _submitted(workflow.count, head)
    result = result_first_approve(result=result, expected_version=result.version, user=both)
    with pytest.raises(ApprovalsRefused) as refused:
        results_approve(user=both, items=[(result, result.version)], stage="final")
    assert refused.value.status == 403
    assert "指標count" in refused.value.message
    assert _state(result) == Result.State.FIRST_APPROVED


# --- returning one -----------------------------------------------------------------------------


def test_returning_one_with_a_comment(client, workflow, planner, head):
    result = _submitted(workflow.count, head)
    client.force_login(planner)
    data = {**_period(workflow), "result": result.pk, "version": result.version}
    response = client.post(_url(workflow, "review-queue-return"), {**data, "comment": "請補佐證"})
    assert response.status_code == 302
    fresh = Result.objects.get(pk=result.pk)
    assert fresh.state == Result.State.RETURNED and fresh.review_comment == "請補佐證"
    assert fresh.history.order_by("-history_id").first().history_change_reason == "請補佐證"


def test_returning_without_a_comment_is_said_beside_the_row(client, workflow, planner, head):
    result = _submitted(workflow.count, head)
    client.force_login(planner)
    data = {**_period(workflow), "result": result.pk, "version": result.version, "comment": " "}
    response = client.post(_url(workflow, "review-queue-return"), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="return-{result.pk}-error"' in page
    assert "退回時請填寫審核意見" in page
    assert _state(result) == Result.State.SUBMITTED


def test_returning_a_stale_row_is_refused(client, workflow, planner, head):
    result = _submitted(workflow.count, head)
    client.force_login(planner)
    data = {**_period(workflow), "result": result.pk, "version": result.version - 1}
    response = client.post(_url(workflow, "review-queue-return"), {**data, "comment": "補件"})
    assert response.status_code == 409
    refused = response.content.decode().split('data-testid="return-refused"')[1]
    assert "「count 指標count」這筆資料在您開啟後已被其他人修改" in refused.split("</section>")[0]
    assert _state(result) == Result.State.SUBMITTED


# --- query counts ------------------------------------------------------------------------------


def _queue_of(workflow, alice, n):
    """`n` submitted results of both units, each with a piece of evidence."""
    results = []
    for indicator in _extra(workflow, alice, n, both_units=True):
        results.append(
            _submitted(
                indicator,
                alice,
                value="30",
                evidence="a.pdf",
                shortfall_reason="落後",
                improvement="追趕",
            )
        )
    return results


# Signed in: the session and the user; the agency and the memberships
# (permissions.access_review_agency; the menu reads the same); the plan years; the results
# (with indicator, goal, agency, unit) and their evidence; entry_indicators' five (indicators,
# inputs and parts in one query, figures, milestones, goals) and the policies; the header bell's
# unread notifications. (15 and 16 while the inputs and parts were two queries.)
QUEUE_GET = 14
# 複核 reads the history that separation of duties reads, once for all.
QUEUE_GET_FINAL = 15


@pytest.mark.parametrize("n", [2, 6])
def test_the_queue_reads_the_same_queries_whatever_its_length(
    client, workflow, alice, planner, head, n
):
    _queue_of(workflow, alice, n)
    client.force_login(planner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url(workflow), _period(workflow))
    assert response.content.decode().count('data-testid="queue-row"') == n
    assert len(queries) == QUEUE_GET, "\n".join(q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize("n", [2, 6])
def test_the_final_queue_reads_the_same_queries_whatever_its_length(
    client, workflow, alice, planner, director, head, n
):
    for r in _queue_of(workflow, alice, n):
        result_first_approve(result=r, expected_version=r.version, user=planner)
    client.force_login(director)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(_url(workflow), _period(workflow, "final"))
    assert response.content.decode().count('data-testid="queue-row"') == n
    assert len(queries) == QUEUE_GET_FINAL, "\n".join(q["sql"] for q in queries.captured_queries)


# The bulk POST, exact. Per row, only the transition's own nine queries (result_first_approve:
# its savepoint and release, the row locked with its indicator, goal and agency, the version
# claimed, full_clean's two foreign keys and uniqueness, the save and its history row). Once
# for the batch: signing in, the agency and memberships, the selected results, the outer
# transaction and the stored outcomes' refresh of the indicators approved (not their agency's
# whole year and the next, as until the refresh was narrowed: 32 then), with the new data version
# of their agency it records in one statement (the dashboards' cache key:
# performance.AgencyOutcomesVersion, an INSERT … ON CONFLICT DO UPDATE); and whom
# the approvals tell (services.notifications.notifications_for_transitions), however many rows:
# the units' staff and heads, the agency's directors, the notifications that exist already, and
# the new ones inserted in one statement in a savepoint (before, two reads of whom to tell per
# row and four queries per notification).
APPROVE_ONCE = 26
APPROVE_ROW = 9
NOTIFYING = 6
# One transition of its own (not in a batch) that notifies nobody new: the nine, and the two
# reads of whom to notify.
TRANSITION = 11


def _notifying(queries) -> list[str]:
    """The queries of whom to tell and what they are told: from reading whom, after the
    transitions, to the savepoint of the notifications' INSERT released."""
    sql = [q["sql"] for q in queries.captured_queries]
    start = next(n for n, q in enumerate(sql) if 'FROM "budget_membership"' in q)
    insert = next(n for n, q in enumerate(sql) if q.startswith('INSERT INTO "performance_notif'))
    return sql[start : insert + 2]


@pytest.mark.parametrize("n", [2, 10])
def test_the_bulk_approval_costs_the_transitions_and_a_fixed_rest(
    client, workflow, alice, planner, director, head, n
):
    results = _queue_of(workflow, alice, n)
    client.force_login(planner)
    with CaptureQueriesContext(connection) as queries:
        response = _approve(client, workflow, results)
    assert response.status_code == 302
    listing = "\n".join(q["sql"] for q in queries.captured_queries)
    assert len(queries) == APPROVE_ONCE + APPROVE_ROW * n, listing
    # The director and the head are told of each row: 1 + n rows in one INSERT.
    notifying = _notifying(queries)
    assert len(notifying) == NOTIFYING, "\n".join(notifying)
    assert sum(q.startswith('INSERT INTO "performance_notification"') for q in notifying) == 1
    assert Notification.objects.filter(kind="first_approved").count() == n + n // 2


def test_the_bulk_approval_tells_whom_one_approval_at_a_time_tells(
    django_user_model, workflow, alice, planner, director, head
):
    """Told once for the batch, the same people, of the same events, with the same words, as
    when each result is approved on its own (rolled back in between)."""
    member(django_user_model, workflow, Role.STAFF, unit=workflow.other_unit, name="other")
    results = _queue_of(workflow, alice, 4)

    def told(approve):
        with transaction.atomic():
            notified = approve()
            rows = list(
                Notification.objects.filter(kind="first_approved")
                .order_by("pk")
                .values_list("recipient__username", "event", "result_id", "params")
            )
            transaction.set_rollback(True)
        return notified, rows

    def in_batch():
        approved = results_approve(
            user=planner, items=[(r, r.version) for r in results], stage="first"
        )
        return [sorted(u.username for u in r.notified) for r in approved]

    def one_by_one():
        return [
            sorted(
                u.username
                for u in result_first_approve(
                    result=r, expected_version=r.version, user=planner
                ).notified
            )
            for r in results
        ]

    batch = told(in_batch)
    assert batch == told(one_by_one)
    assert batch[0] == [["director", "head"], ["director", "other"]] * 2


def test_a_row_costs_what_the_one_transition_costs(workflow, alice, planner):
    """The bulk service adds no query of its own per row: one more row is one more call of
    result_first_approve (in a transaction already: no refresh of its own)."""
    first, second = _queue_of(workflow, alice, 2)
    with transaction.atomic():
        result_first_approve(result=first, expected_version=first.version, user=planner)
        with CaptureQueriesContext(connection) as one:
            result_first_approve(result=second, expected_version=second.version, user=planner)
    assert len(one) == TRANSITION, "\n".join(q["sql"] for q in one.captured_queries)


def test_the_queue_keeps_duties_apart_as_the_result_page_does(
    django_user_model, workflow, alice, planner, head
):
    """permissions.final_review_conflicts (all at once) answers as final_review_conflict (one
    result) for whoever submitted, whoever first-approved, and a third reviewer."""
    from performance.permissions import final_review_conflict, final_review_conflicts

    other_head = member(django_user_model, workflow, Role.HEAD, name="head2")
    both = member(django_user_model, workflow, Role.HEAD, name="both")
    membership_create(
        member=both, agency=workflow.agency, role=Role.PLANNER, user=None, reason="兼任"
    )
    by_head = _submitted(workflow.count, both)
    by_head = result_first_approve(result=by_head, expected_version=by_head.version, user=planner)
    (x0,) = _extra(workflow, alice, 1)
    by_other = _submitted(x0, other_head)
    by_other = result_first_approve(result=by_other, expected_version=by_other.version, user=both)
    waiting = list(
        Result.objects.filter(pk__in=[by_head.pk, by_other.pk]).select_related(
            "indicator__goal__agency"
        )
    )
    for user in (both, head, planner, other_head, alice):
        one_by_one = {
            r.pk: c for r in waiting if (c := final_review_conflict(user, r, r.indicator))
        }
        assert final_review_conflicts(user, waiting) == one_by_one, user.username
    assert final_review_conflicts(both, waiting) == {
        by_head.pk: "submitter",
        by_other.pk: "first_approver",
    }


# --- separation of duties in the queue, as on the result's page (test_separation_of_duties.py) --


def _final_queue_of(client, workflow, user) -> str:
    client.force_login(user)
    return client.get(_url(workflow), {**_period(workflow, "final")}).content.decode()


@pytest.fixture
def mixed(django_user_model, workflow):
    """A reviewer who gives both 初核 and 複核."""
    mixed = member(django_user_model, workflow, Role.DIRECTOR, name="mixed")
    membership_create(
        member=mixed, agency=workflow.agency, role=Membership.Role.PLANNER, user=None, reason="兼任"
    )
    return mixed


def test_with_duties_kept_together_the_final_queue_lists_ones_own_first_approval(
    client, workflow, alice, head, mixed
):
    keep_review_duties_together(workflow, alice)
    result = _submitted(workflow.count, head)
    result_first_approve(result=result, expected_version=result.version, user=mixed)
    page = _final_queue_of(client, workflow, mixed)
    assert page.count('data-testid="queue-row"') == 1
    assert 'data-testid="withheld"' not in page


def test_a_lock_and_unlock_leave_the_first_approver_kept_from_the_final_queue(
    client, django_user_model, workflow, head, mixed
):
    """The unlock's history row (first-approved again, by whoever unlocked) is not a 初核."""
    admin = member(django_user_model, workflow, Role.ADMIN)
    result = _submitted(workflow.count, head)
    result_first_approve(result=result, expected_version=result.version, user=mixed)
    period = period_lock(period=workflow.period(), user=admin, reason="結算")
    period_unlock(period=period, user=admin, reason="更正")
    page = _final_queue_of(client, workflow, mixed)
    assert page.count('data-testid="queue-row"') == 0
    assert 'data-testid="withheld"' in page
    assert _final_queue_of(client, workflow, admin).count('data-testid="queue-row"') == 1


def test_moves_within_one_tick_of_the_clock_still_keep_the_first_approver_out(
    client, workflow, head, mixed, monkeypatch
):
    """History rows with the same timestamp are read in the order they were written."""
    instant = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: instant)
    result = _submitted(workflow.count, head)
    result_first_approve(result=result, expected_version=result.version, user=mixed)
    page = _final_queue_of(client, workflow, mixed)
    assert page.count('data-testid="queue-row"') == 0
    assert 'data-testid="withheld"' in page
