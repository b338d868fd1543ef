"""Separation of duties (Agency.separate_review_duties, on by default): whoever submitted a
result, or approved it at 初核, in the round now waiting for 複核, does not give it 複核 — not
by the service, not on the page (no button, a note saying why). Another reviewer may; with the
setting off anyone with the right may; a superuser may, and the history and the security log
say so."""

import logging
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from performance import permissions
from performance.models import Result
from performance.selectors import result_history
from performance.services import (
    DutiesSeparated,
    period_lock,
    period_unlock,
    result_final_approve,
    result_first_approve,
    result_return,
    result_save_draft,
    result_submit,
)

from .cast import Role, keep_review_duties_together, member
from .test_html_valid import _check, _missing

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(django_user_model, workflow):
    """An agency admin (holds submit, 初核 and 複核), another admin, a planner, a director."""
    return {
        "admin": member(django_user_model, workflow, Role.ADMIN),
        "admin2": member(django_user_model, workflow, Role.ADMIN, name="admin2"),
        "head": member(django_user_model, workflow, Role.HEAD),
        "planner": member(django_user_model, workflow, Role.PLANNER),
        "director": member(django_user_model, workflow, Role.DIRECTOR),
    }


def _submitted(workflow, by) -> Result:
    result = Result.objects.filter(indicator=workflow.count, quarter=1).first()
    result = result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("120")},
        narrative={"progress": "辦理完成"},
        expected_version=result.version if result else None,
        user=by,
        reason="修正" if result else "",
    )
    return result_submit(result=result, expected_version=result.version, user=by)


def _first_approved(workflow, *, submitter, approver) -> Result:
    result = _submitted(workflow, submitter)
    return result_first_approve(result=result, expected_version=result.version, user=approver)


def _final(result, user, reason=""):
    return result_final_approve(
        result=result, expected_version=result.version, user=user, reason=reason
    )


def _state(result) -> str:
    return Result.objects.get(pk=result.pk).state


def test_the_submitter_may_not_give_it_final_review(workflow, people):
    result = _first_approved(workflow, submitter=people["admin"], approver=people["planner"])
    with pytest.raises(DutiesSeparated) as refused:
        _final(result, people["admin"])
    assert refused.value.status == 403
    assert refused.value.message == (
        "這筆成果由您送出，依職務分離原則不能再複核；請由其他複核人員處理。"
    )
    assert _state(result) == Result.State.FIRST_APPROVED
    # Nor return it at 複核.
    with pytest.raises(DutiesSeparated):
        result_return(
            result=result, expected_version=result.version, user=people["admin"], comment="x"
        )
    assert _state(result) == Result.State.FIRST_APPROVED


def test_the_first_approver_may_not_give_it_final_review(workflow, people):
    result = _first_approved(workflow, submitter=people["head"], approver=people["admin"])
    with pytest.raises(DutiesSeparated) as refused:
        _final(result, people["admin"])
    assert refused.value.message == (
        "您已初核這筆成果，依職務分離原則不能再複核；請由其他複核人員處理。"
    )
    assert _state(result) == Result.State.FIRST_APPROVED


def test_another_reviewer_may(workflow, people):
    result = _first_approved(workflow, submitter=people["admin"], approver=people["admin2"])
    assert _final(result, people["director"]).state == Result.State.APPROVED


def test_with_the_setting_off_the_submitter_and_first_approver_may(workflow, people, alice):
    keep_review_duties_together(workflow, alice)
    result = _first_approved(workflow, submitter=people["admin"], approver=people["admin"])
    assert _final(result, people["admin"]).state == Result.State.APPROVED


def test_only_the_round_under_review_counts(workflow, people):
    """Who submitted an earlier round, since returned, is not this round's submitter."""
    result = _first_approved(workflow, submitter=people["admin"], approver=people["planner"])
    result_return(
        result=result, expected_version=result.version, user=people["director"], comment="補件"
    )
    result = _first_approved(workflow, submitter=people["head"], approver=people["planner"])
    assert permissions.review_round(result) == {
        permissions.SUBMITTER: people["head"].pk,
        permissions.FIRST_APPROVER: people["planner"].pk,
    }
    assert _final(result, people["admin"]).state == Result.State.APPROVED


def test_locking_and_unlocking_the_quarter_changes_nobodys_part_in_the_round(workflow, people):
    """The unlock puts the result back at 初核-approved in the name of whoever unlocked it: the
    first approver is still the one who approved it, and the one who unlocked may review it."""
    result = _first_approved(workflow, submitter=people["head"], approver=people["admin"])
    period = period_lock(period=workflow.period(), user=people["admin2"], reason="結算")
    period_unlock(period=period, user=people["admin2"], reason="更正")
    result = Result.objects.get(pk=result.pk)
    assert result.state == Result.State.FIRST_APPROVED
    with pytest.raises(DutiesSeparated) as refused:
        _final(result, people["admin"])
    assert "您已初核這筆成果" in refused.value.message
    assert _final(result, people["admin2"]).state == Result.State.APPROVED


def test_moves_made_within_one_tick_of_the_clock_are_read_in_their_order(
    workflow, people, monkeypatch
):
    """The history's timestamps may tie (a coarse clock, moves in quick succession): the round
    is then read in the order the rows were written."""
    instant = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: instant)
    result = _first_approved(workflow, submitter=people["head"], approver=people["admin"])
    assert permissions.review_round(result) == {
        permissions.SUBMITTER: people["head"].pk,
        permissions.FIRST_APPROVER: people["admin"].pk,
    }
    with pytest.raises(DutiesSeparated):
        _final(result, people["admin"])


def test_a_superuser_may_and_the_history_and_the_log_say_so(workflow, alice, caplog):
    result = _first_approved(workflow, submitter=alice, approver=alice)
    with caplog.at_level(logging.WARNING, logger="kpitrack.security"):
        approved = _final(result, alice, reason="年底前須核定")
    assert approved.state == Result.State.APPROVED
    step = next(e for e in result_history(result=approved) if e.new == "已核定")
    assert step.why == "職務分離例外：初核者本人複核（系統管理者）；年底前須核定"
    # One security record as kpitrack.core.logs.security_event writes every one (issue 15):
    # the event, who acted, from where ("-": no request), the facts as fields and in the text.
    [record] = [r for r in caplog.records if r.name == "kpitrack.security"]
    assert record.levelno == logging.WARNING
    assert (record.event, record.user, record.address) == (
        "separation_of_duties_override",
        "alice",
        "-",
    )
    assert (record.result, record.duty) == (result.pk, "first_approver")
    assert record.getMessage() == (
        f"separation_of_duties_override user='alice' address='-' result={result.pk} "
        "duty='first_approver'"
    )


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        ("   ", "職務分離例外：初核者本人複核（系統管理者）"),
        ("  年底前須核定 ", "職務分離例外：初核者本人複核（系統管理者）；年底前須核定"),
    ],
)
def test_the_override_note_takes_the_reason_trimmed_and_no_empty_one(workflow, alice, reason, why):
    """A reason of spaces (a command or a shell may pass one; the page passes none) adds no empty
    「；」 to the history's note, and a reason is recorded without its spaces."""
    result = _first_approved(workflow, submitter=alice, approver=alice)
    approved = _final(result, alice, reason=reason)
    step = next(e for e in result_history(result=approved) if e.new == "已核定")
    assert step.why == why


def test_the_override_on_the_page_records_the_address_it_came_from(client, workflow, alice, caplog):
    result = _first_approved(workflow, submitter=alice, approver=alice)
    client.force_login(alice)
    with caplog.at_level(logging.WARNING, logger="kpitrack.security"):
        response = _post_review(client, result)
    assert response.status_code == 302
    override = "separation_of_duties_override"
    [record] = [r for r in caplog.records if getattr(r, "event", "") == override]
    assert (record.event, record.user, record.address, record.duty) == (
        "separation_of_duties_override",
        "alice",
        "127.0.0.1",
        "first_approver",
    )


def test_a_superuser_who_only_submitted_is_recorded_as_the_submitter(workflow, alice, people):
    result = _first_approved(workflow, submitter=alice, approver=people["planner"])
    approved = _final(result, alice)
    step = next(e for e in result_history(result=approved) if e.new == "已核定")
    assert step.why == "職務分離例外：送出者本人複核（系統管理者）"


def _entry(client, workflow):
    return client.get(reverse("result-entry", args=[workflow.count.pk, 1]))


def _post_review(client, result, action="approve"):
    url = reverse("result-review", args=[result.indicator_id, result.quarter])
    return client.post(url, {"action": action, "comment": "", "version": result.version})


def test_the_page_offers_the_submitter_no_final_review_and_says_why(client, workflow, people):
    result = _first_approved(workflow, submitter=people["admin"], approver=people["planner"])
    client.force_login(people["admin"])
    page = _entry(client, workflow).content.decode()
    assert 'data-action="final_approve"' not in page
    assert 'data-action="final_return"' not in page
    assert "這筆成果由您送出，依職務分離原則不能再複核" in page
    refused = _post_review(client, result)
    assert refused.status_code == 403
    assert "這筆成果由您送出，依職務分離原則不能再複核" in refused.content.decode()
    assert _state(result) == Result.State.FIRST_APPROVED


def test_the_page_offers_the_first_approver_no_final_review(client, workflow, people):
    result = _first_approved(workflow, submitter=people["head"], approver=people["admin"])
    client.force_login(people["admin"])
    page = _entry(client, workflow).content.decode()
    assert 'data-action="final_approve"' not in page and "您已初核這筆成果" in page
    assert _post_review(client, result).status_code == 403
    assert _state(result) == Result.State.FIRST_APPROVED


def test_the_page_offers_another_director_final_review(client, workflow, people):
    result = _first_approved(workflow, submitter=people["admin"], approver=people["admin2"])
    client.force_login(people["director"])
    page = _entry(client, workflow).content.decode()
    assert 'data-action="final_approve"' in page and "職務分離" not in page
    assert _post_review(client, result).status_code == 302
    assert _state(result) == Result.State.APPROVED


def test_the_page_offers_a_superuser_final_review_of_their_own(client, workflow, alice):
    result = _first_approved(workflow, submitter=alice, approver=alice)
    client.force_login(alice)
    assert 'data-action="final_approve"' in _entry(client, workflow).content.decode()
    assert _post_review(client, result).status_code == 302
    assert _state(result) == Result.State.APPROVED


def test_the_setting_is_on_for_a_new_agency_and_in_the_admin(client, workflow, alice):
    assert workflow.agency.separate_review_duties is True
    client.force_login(alice)
    page = client.get(reverse("admin:budget_agency_change", args=[workflow.agency.pk]))
    assert 'name="separate_review_duties"' in page.content.decode()


@pytest.mark.vnu
@pytest.mark.skipif(bool(_missing()), reason=_missing() or "ready")
def test_the_note_and_the_lockout_page_are_valid_html(client, workflow, people, bob, tmp_path):
    _first_approved(workflow, submitter=people["admin"], approver=people["planner"])
    client.force_login(people["admin"])
    pages = {"separation-note": _entry(client, workflow)}
    client.logout()
    for _ in range(5):
        locked = client.post("/accounts/login/", {"username": "bob", "password": "wrong"})
    pages["locked-out"] = locked
    assert [r.status_code for r in pages.values()] == [200, 429]
    assert "separation-note" in pages["separation-note"].content.decode()
    problems = _check({n: r.content.decode() for n, r in pages.items()}, tmp_path)
    assert problems == [], "\n".join(problems)
