"""分季目標 (milestones), issue 17: who sets them, their history, the defaults, and a quarter
judged against its milestone (Q1-Q3) or the annual target (Q4) when a result is submitted.

The workflow's `count` indicator has an annual target of 100 (aggregation: latest cumulative),
so its default milestones are 25, 50 and 75."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from performance.models import Milestone, Result
from performance.selectors import entry_indicators, planned_milestones, quarter_judgements
from performance.services import (
    DraftEntry,
    MilestoneChange,
    indicator_create,
    milestone_set,
    milestones_set,
    period_get_or_create,
    period_update,
    result_save_draft,
    result_submit,
    results_save_drafts,
)

from .cast import Role, member

pytestmark = pytest.mark.django_db

WHY = "依年度計畫分配各季進度"
EXPLAINED = {"shortfall_reason": "人力不足", "improvement": "增派人力"}


def _draft(flow, user, value, *, quarter=None, narrative=None, indicator=None):
    return result_save_draft(
        indicator=indicator or flow.count,
        quarter=quarter or flow.quarter,
        figures={"value": value},
        narrative=narrative or {},
        expected_version=None,
        user=user,
    )


def _submit(result, user):
    return result_submit(result=result, expected_version=result.version, user=user)


def _errors(excinfo) -> dict[str, str]:
    return {key: " ".join(messages) for key, messages in excinfo.value.message_dict.items()}


# --- who may set them ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.PLANNER, True),
        (Role.ADMIN, True),
        (Role.STAFF, False),
        (Role.HEAD, False),
        (Role.DIRECTOR, False),
        (Role.VIEWER, False),
    ],
)
def test_only_the_planning_office_or_the_agencys_administrator_sets_them(
    django_user_model, workflow, role, allowed
):
    user = member(django_user_model, workflow, role)
    if allowed:
        assert milestone_set(
            indicator=workflow.count, quarter=2, value=Decimal("40"), user=user, reason=WHY
        )
        assert Milestone.objects.get(part__indicator=workflow.count, quarter=2).value == 40
    else:
        with pytest.raises(PermissionDenied):
            milestone_set(
                indicator=workflow.count, quarter=2, value=Decimal("40"), user=user, reason=WHY
            )
        assert not Milestone.objects.exists()


def test_a_superuser_sets_them(workflow, alice):
    assert alice.is_superuser
    assert milestone_set(
        indicator=workflow.count, quarter=1, value=Decimal("10"), user=alice, reason=WHY
    )


def test_a_planner_of_another_agency_may_not(django_user_model, workflow, alice):
    from budget.services import agency_create, membership_create

    other = agency_create(user=alice, code="other", name="他署")
    stranger = django_user_model.objects.create_user("p2", "p2@example.org", "pw")
    membership_create(member=stranger, agency=other, role=Role.PLANNER, user=None, reason="測試")
    with pytest.raises(PermissionDenied):
        milestone_set(
            indicator=workflow.count, quarter=1, value=Decimal("10"), user=stranger, reason=WHY
        )


# --- set values, their history, bad input -----------------------------------------------------


def test_each_change_is_kept_with_who_and_why_and_removing_one_restores_the_default(
    workflow, alice
):
    milestone_set(indicator=workflow.count, quarter=2, value=Decimal("40"), user=alice, reason=WHY)
    milestone_set(
        indicator=workflow.count, quarter=2, value=Decimal("45"), user=alice, reason="修正"
    )
    rows = list(Milestone.history.filter(quarter=2).order_by("history_date", "history_id"))
    assert [(r.history_type, r.value, r.history_user, r.history_change_reason) for r in rows] == [
        ("+", Decimal("40"), alice, WHY),
        ("~", Decimal("45"), alice, "修正"),
    ]
    entry = entry_indicators(ids=[workflow.count.pk])[workflow.count.pk]
    assert entry.planned == {"value": {2: Decimal("45")}}
    milestone_set(indicator=workflow.count, quarter=2, value=None, user=alice, reason="改回預設")
    assert Milestone.history.filter(quarter=2).latest("history_id").history_type == "-"
    # Back to the default, derived and never stored.
    assert not Milestone.objects.exists()
    judgement = quarter_judgements(ids=[workflow.count.pk], quarter=2)[workflow.count.pk]
    assert (judgement.parts[0].milestone, judgement.parts[0].default) == (Decimal("50"), True)


def test_the_same_value_again_writes_nothing(workflow, alice):
    milestone_set(indicator=workflow.count, quarter=1, value=Decimal("20"), user=alice, reason=WHY)
    assert not milestone_set(
        indicator=workflow.count, quarter=1, value=Decimal("20"), user=alice, reason=WHY
    )
    assert Milestone.history.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"quarter": 4, "value": Decimal("1")}, "quarter", "第4季即為年度目標值"),
        ({"quarter": 0, "value": Decimal("1")}, "quarter", "分季目標只設定第1至第3季"),
        ({"quarter": 1, "value": Decimal("-1")}, "value", "預定進度不可為負數"),
        ({"quarter": 1, "value": "12"}, "value", "預定進度必須是數字"),
        ({"quarter": 1, "value": Decimal("1e20")}, "value", ""),
    ],
)
def test_bad_input_is_refused_with_its_reason_and_nothing_written(
    workflow, alice, change, field, message
):
    with pytest.raises(ValidationError) as excinfo:
        milestone_set(indicator=workflow.count, user=alice, reason=WHY, **change)
    assert message in _errors(excinfo)[field]
    assert not Milestone.objects.exists()


def test_a_reason_is_required(workflow, alice):
    with pytest.raises(ValidationError) as excinfo:
        milestone_set(
            indicator=workflow.count, quarter=1, value=Decimal("1"), user=alice, reason=""
        )
    assert "修改理由" in _errors(excinfo)["reason"]


def test_a_multi_part_indicator_names_its_part(workflow, alice):
    multi = indicator_create(
        user=alice,
        goal=workflow.count.goal,
        code="multi",
        name="多目標",
        method="multi",
        responsible_unit=workflow.unit,
        inputs=[{"key": "a", "label": "甲"}, {"key": "b", "label": "乙"}],
        parts=[
            {"key": "a", "label": "甲", "value": Decimal("12")},
            {"key": "b", "label": "乙", "value": Decimal("20")},
        ],
    )
    with pytest.raises(ValidationError) as excinfo:
        milestone_set(indicator=multi, quarter=1, value=Decimal("1"), user=alice, reason=WHY)
    assert "請指明要設定哪一項" in excinfo.value.messages[0]
    with pytest.raises(ValidationError) as excinfo:
        milestone_set(
            indicator=multi, quarter=1, value=Decimal("1"), user=alice, reason=WHY, part="c"
        )
    assert "沒有「c」這個目標值" in excinfo.value.messages[0]
    milestone_set(indicator=multi, quarter=2, value=Decimal("4"), user=alice, reason=WHY, part="b")
    assert planned_milestones(indicator_ids=[multi.pk]) == {multi.pk: {"b": {2: Decimal("4")}}}


def test_a_batch_is_all_or_nothing(workflow, alice):
    with pytest.raises(ValidationError):
        milestones_set(
            changes=[
                MilestoneChange(workflow.count.pk, 1, Decimal("20")),
                MilestoneChange(workflow.count.pk, 4, Decimal("20")),
            ],
            user=alice,
            reason=WHY,
        )
    assert not Milestone.objects.exists()


def test_planned_values_are_read_in_one_query_however_many(
    workflow, alice, django_assert_num_queries
):
    for q in (1, 2, 3):
        milestone_set(
            indicator=workflow.count, quarter=q, value=Decimal(q * 20), user=alice, reason=WHY
        )
    with django_assert_num_queries(1):
        planned = planned_milestones(indicator_ids=[workflow.count.pk, workflow.ratio.pk])
    assert planned == {workflow.count.pk: {"value": {1: 20, 2: 40, 3: 60}}}


# --- drafts always save; submit asks why when behind -------------------------------------------


def test_a_batch_of_drafts_behind_their_milestones_saves(workflow, alice):
    results_save_drafts(
        quarter=workflow.quarter,
        entries=[
            DraftEntry(workflow.count.pk, {"value": "1"}, {}, None),
            DraftEntry(workflow.ratio.pk, {"num": "1", "den": "10"}, {}, None),
        ],
        user=alice,
    )
    assert Result.objects.filter(state="draft").count() == 2


def test_submitting_a_quarter_on_pace_needs_no_explanation(workflow, alice):
    """The issue's case: 25 of an annual 100 at the end of Q1 is on pace, not 25% 紅燈."""
    result = _submit(_draft(workflow, alice, "25"), alice)
    assert result.state == Result.State.SUBMITTED


def test_submitting_a_quarter_behind_its_default_milestone_needs_the_explanation(workflow, alice):
    draft = _draft(workflow, alice, "20")  # 80% of 25
    with pytest.raises(ValidationError) as excinfo:
        _submit(draft, alice)
    errors = _errors(excinfo)
    assert errors["shortfall_reason"] == (
        "第1季達成進度 80.00% 落後預定進度，送出前必須填寫「未達成原因」。"
    )
    assert "改善措施" in errors["improvement"]
    assert Result.objects.get(pk=draft.pk).state == Result.State.DRAFT
    draft = result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": "20"},
        narrative=EXPLAINED,
        expected_version=draft.version,
        user=alice,
    )
    assert _submit(draft, alice).state == Result.State.SUBMITTED


def test_a_set_milestone_decides_what_is_behind(workflow, alice):
    milestone_set(indicator=workflow.count, quarter=1, value=Decimal("40"), user=alice, reason=WHY)
    with pytest.raises(ValidationError) as excinfo:
        _submit(_draft(workflow, alice, "30"), alice)  # on the default's pace, behind the plan's
    assert "75.00%" in _errors(excinfo)["shortfall_reason"]


def test_a_lower_is_better_milestone_is_a_ceiling(workflow, alice):
    lower = indicator_create(
        user=alice,
        goal=workflow.count.goal,
        code="incidents",
        name="事故件數",
        method="lower",
        aggregation="sum",
        responsible_unit=workflow.unit,
        inputs=[{"key": "value", "label": "件數"}],
        parts=[{"key": "value", "label": "上限", "value": Decimal("40")}],
    )
    # 9 in Q1 under a Q1 ceiling of 10: on pace; 12 over it: behind, though under the year's 40.
    assert _submit(_draft(workflow, alice, "9", indicator=lower), alice).state == "submitted"
    lower.results.all().delete()
    with pytest.raises(ValidationError) as excinfo:
        _submit(_draft(workflow, alice, "12", indicator=lower), alice)
    assert "落後預定進度" in _errors(excinfo)["shortfall_reason"]


def _open_q4(flow, user):
    period = period_get_or_create(agency=flow.agency, year=flow.year, quarter=4)
    today = timezone.localdate()
    period_update(
        period=period,
        expected_version=period.version,
        user=user,
        reason="測試",
        opens_on=today - timedelta(days=1),
        closes_on=today + timedelta(days=10),
        first_review_due=today + timedelta(days=20),
        final_review_due=today + timedelta(days=30),
    )


def test_quarter_four_is_judged_against_the_annual_target(workflow, alice):
    _open_q4(workflow, alice)
    # 90 at Q4 would be far ahead of any quarter's milestone; against the year's 100 it falls
    # short.
    milestone_set(indicator=workflow.count, quarter=3, value=Decimal("10"), user=alice, reason=WHY)
    with pytest.raises(ValidationError) as excinfo:
        _submit(_draft(workflow, alice, "90", quarter=4), alice)
    assert _errors(excinfo)["shortfall_reason"] == (
        "達成率 90.00% 未達目標，送出前必須填寫「未達成原因」。"
    )
    judgement = quarter_judgements(ids=[workflow.count.pk], quarter=4)[workflow.count.pk]
    assert judgement.text == "全年目標 100，實際 90，未達目標"
    assert (judgement.progress, judgement.annual_rate) == (Decimal("90.00"), Decimal("90.00"))


def test_the_judgement_is_labelled_with_the_milestone_and_the_annual_rate(workflow, alice):
    milestone_set(indicator=workflow.count, quarter=1, value=Decimal("30"), user=alice, reason=WHY)
    _draft(workflow, alice, "30")
    judgement = quarter_judgements(ids=[workflow.count.pk], quarter=1)[workflow.count.pk]
    assert judgement.text == "第1季預定 30，實際 30，符合進度"
    assert (judgement.progress, judgement.status.value) == (Decimal("100.00"), "green")
    assert (judgement.annual_rate, judgement.annual_status.value) == (Decimal("30.00"), "red")


# --- 我的工作 ------------------------------------------------------------------------------------


def test_my_work_shows_the_quarter_against_its_milestone(client, workflow, alice):
    _draft(workflow, alice, "25")
    client.force_login(alice)
    page = client.get(f"/work/?year={workflow.year}&quarter=1").content.decode()
    assert "第1季預定 25（預設），實際 25，符合進度" in page
    assert "全年達成率 25%" in page
    assert "綠燈" in page
