"""submit → 初核 → 複核, return with a comment, reopen: each a service and a history row."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from budget.models import Agency
from budget.services import agency_update
from kpitrack.core.versioning import ConcurrentEditError
from performance.models import Result
from performance.selectors import achievements_for_year, result_history
from performance.services import (
    ResultLocked,
    result_final_approve,
    result_first_approve,
    result_reopen,
    result_return,
    result_save_draft,
    result_submit,
)

pytestmark = pytest.mark.django_db


def _draft(flow, user, value="120", **narrative):
    return result_save_draft(
        indicator=flow.count,
        quarter=flow.quarter,
        figures={"value": value},
        narrative=narrative,
        expected_version=None,
        user=user,
    )


def _submitted(flow, user):
    result = _draft(flow, user)
    return result_submit(result=result, expected_version=result.version, user=user)


def _states(result) -> list[str]:
    return [row.state for row in result.history.order_by("history_date", "history_id")]


def test_the_whole_way_to_approved_leaves_one_history_row_per_step(workflow, alice):
    result = _draft(workflow, alice)
    result = result_submit(result=result, expected_version=result.version, user=alice)
    result = result_first_approve(
        result=result, expected_version=result.version, user=alice, reason="初核無誤"
    )
    assert result.state == "first_approved"
    result = result_final_approve(result=result, expected_version=result.version, user=alice)
    assert Result.objects.get(pk=result.pk).state == "approved"
    assert _states(result) == ["draft", "submitted", "first_approved", "approved"]
    step = next(e for e in result_history(result=result) if e.new == "初核通過")
    assert (step.who, step.old, step.why) == ("alice", "已送出", "初核無誤")


def test_a_return_keeps_the_comment_for_the_unit_and_the_history(workflow, alice):
    result = _submitted(workflow, alice)
    result = result_return(
        result=result, expected_version=result.version, user=alice, comment="件數與附件不符"
    )
    assert (result.state, result.review_comment) == ("returned", "件數與附件不符")
    latest = result.history.latest()
    assert (latest.state, latest.history_change_reason) == ("returned", "件數與附件不符")


def test_a_returned_result_is_fixed_and_submitted_again(workflow, alice):
    result = _submitted(workflow, alice)
    result = result_return(result=result, expected_version=result.version, user=alice, comment="x")
    fixed = result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": "125"},
        narrative={},
        expected_version=result.version,
        user=alice,
    )
    assert fixed.state == "returned"
    fixed = result_submit(result=fixed, expected_version=fixed.version, user=alice)
    assert fixed.state == "submitted"


def test_a_returned_result_can_be_fixed_after_the_window_closed(workflow, alice):
    result = _submitted(workflow, alice)
    result = result_return(result=result, expected_version=result.version, user=alice, comment="x")
    workflow.set_window(alice, opens_in=-20, closes_in=-1)
    fixed = result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": "125"},
        narrative={},
        expected_version=result.version,
        user=alice,
    )
    assert fixed.figures.get().value == 125


def test_a_return_needs_a_comment(workflow, alice):
    result = _submitted(workflow, alice)
    with pytest.raises(ValidationError) as excinfo:
        result_return(result=result, expected_version=result.version, user=alice, comment=" ")
    assert "comment" in excinfo.value.message_dict
    assert Result.objects.get(pk=result.pk).state == "submitted"


def test_a_submitted_result_refuses_new_figures(workflow, alice):
    result = _submitted(workflow, alice)
    with pytest.raises(ResultLocked) as excinfo:
        result_save_draft(
            indicator=workflow.count,
            quarter=workflow.quarter,
            figures={"value": "1"},
            narrative={},
            expected_version=result.version,
            user=alice,
        )
    assert "審核中不可修改" in excinfo.value.message


def test_submitting_needs_every_figure(workflow, alice):
    result = result_save_draft(
        indicator=workflow.ratio,
        quarter=workflow.quarter,
        figures={"num": "9", "den": None},
        narrative={},
        expected_version=None,
        user=alice,
    )
    with pytest.raises(ValidationError) as excinfo:
        result_submit(result=result, expected_version=result.version, user=alice)
    assert "送出前必須填寫「受理件數」" in excinfo.value.message_dict["den"][0]
    assert Result.objects.get(pk=result.pk).state == "draft"


def test_a_step_out_of_order_is_refused(workflow, alice):
    result = _draft(workflow, alice)
    with pytest.raises(ResultLocked):
        result_first_approve(result=result, expected_version=result.version, user=alice)
    with pytest.raises(ResultLocked):
        result_final_approve(result=result, expected_version=result.version, user=alice)
    assert Result.objects.get(pk=result.pk).state == "draft"


def test_a_step_out_of_order_says_which_state_the_result_is_in(workflow, alice):
    result = _submitted(workflow, alice)
    with pytest.raises(ResultLocked) as excinfo:
        result_final_approve(result=result, expected_version=result.version, user=alice)
    assert excinfo.value.message == "此成果目前為「已送出」，不能執行這個動作。"


def test_two_reviewers_at_once_the_second_is_refused(workflow, alice):
    result = _submitted(workflow, alice)
    seen = result.version
    result_first_approve(result=result, expected_version=seen, user=alice)
    with pytest.raises((ConcurrentEditError, ResultLocked)):
        result_return(result=result, expected_version=seen, user=alice, comment="x")
    assert Result.objects.get(pk=result.pk).state == "first_approved"


def test_without_second_review_the_first_approval_is_final(workflow, alice):
    workflow.agency.second_review = False
    workflow.agency.save()
    result = _submitted(workflow, alice)
    result = result_first_approve(result=result, expected_version=result.version, user=alice)
    assert result.state == "approved"


def test_an_approved_result_reopens_only_with_a_reason_and_goes_back_to_the_unit(workflow, alice):
    result = _submitted(workflow, alice)
    result = result_first_approve(result=result, expected_version=result.version, user=alice)
    result = result_final_approve(result=result, expected_version=result.version, user=alice)
    with pytest.raises(ValidationError):
        result_reopen(result=result, expected_version=result.version, user=alice, reason="")
    result = result_reopen(
        result=result, expected_version=result.version, user=alice, reason="主計室更正件數"
    )
    assert (result.state, result.review_comment) == ("returned", "主計室更正件數")
    assert result.history.latest().history_change_reason == "主計室更正件數"


def test_only_an_approved_or_locked_result_reopens(workflow, alice):
    result = _draft(workflow, alice)
    with pytest.raises(ResultLocked):
        result_reopen(result=result, expected_version=result.version, user=alice, reason="x")


def test_reviewing_needs_the_reviewer_role(workflow, alice, bob):
    result = _submitted(workflow, alice)
    for action in (result_first_approve, result_final_approve):
        with pytest.raises(PermissionDenied):
            action(result=result, expected_version=result.version, user=bob)
    with pytest.raises(PermissionDenied):
        result_return(result=result, expected_version=result.version, user=bob, comment="x")
    with pytest.raises(PermissionDenied):
        result_reopen(result=result, expected_version=result.version, user=bob, reason="x")
    assert Result.objects.get(pk=result.pk).state == "submitted"


def test_each_role_does_its_own_step_and_no_other(workflow, people):
    staff, head, planner, director = (people[r] for r in ("staff", "head", "planner", "director"))
    result = _draft(workflow, staff)
    with pytest.raises(PermissionDenied):
        result_submit(result=result, expected_version=result.version, user=staff)
    result = result_submit(result=result, expected_version=result.version, user=head)
    for user in (staff, head, director):
        with pytest.raises(PermissionDenied):
            result_first_approve(result=result, expected_version=result.version, user=user)
    result = result_first_approve(result=result, expected_version=result.version, user=planner)
    for user in (staff, head, planner):
        with pytest.raises(PermissionDenied):
            result_final_approve(result=result, expected_version=result.version, user=user)
    with pytest.raises(PermissionDenied):
        result_return(result=result, expected_version=result.version, user=planner, comment="x")
    result = result_final_approve(result=result, expected_version=result.version, user=director)
    assert [row.history_user.username for row in result.history.order_by("history_id")] == [
        "staff",
        "head",
        "planner",
        "director",
    ]
    with pytest.raises(PermissionDenied):
        result_reopen(result=result, expected_version=result.version, user=director, reason="x")
    assert (
        result_reopen(
            result=result, expected_version=result.version, user=people["admin"], reason="更正"
        ).state
        == "returned"
    )


def test_approved_only_reads_count_a_first_approval_when_there_is_no_second_review(
    workflow, people
):
    result = _draft(workflow, people["staff"])
    result = result_submit(result=result, expected_version=result.version, user=people["head"])
    result_first_approve(result=result, expected_version=result.version, user=people["planner"])

    def counted():
        rows = achievements_for_year(year=workflow.year, through_quarter=1, agency=workflow.agency)
        return next(r for r in rows if r.indicator.pk == workflow.count.pk).result is not None

    assert not counted()
    workflow.agency.second_review = False
    workflow.agency.save()
    assert counted()


def test_an_indicators_page_shows_a_first_approval_once_its_agency_drops_second_review(
    workflow, people, alice, client
):
    """The page's 執行情形 is the latest final result's, read knowing the agency's 複核
    (approved_results_q(second_review=…)): a first approval is not final while the agency has
    it, and is once it drops it (agency_update refreshes the outcomes)."""
    result = _draft(workflow, people["staff"], progress="依計畫辦理 <第一季>")
    result = result_submit(result=result, expected_version=result.version, user=people["head"])
    result_first_approve(result=result, expected_version=result.version, user=people["planner"])
    client.force_login(alice)
    page = f"/dashboards/{workflow.agency.code}/indicators/{workflow.count.code}/"
    narrative = "依計畫辦理 &lt;第一季&gt;"
    assert narrative not in client.get(f"{page}?year={workflow.year}").text
    agency = Agency.objects.get(pk=workflow.agency.pk)
    agency_update(
        agency=agency,
        expected_version=agency.version,
        user=alice,
        reason="不設複核",
        second_review=False,
    )
    assert narrative in client.get(f"{page}?year={workflow.year}").text
