"""performance.services for goals and indicators: definition, inputs, target parts, revisions."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from budget.models import Agency
from kpitrack.core.versioning import ConcurrentEditError
from performance.models import Indicator, IndicatorInput, Result, StrategicGoal, TargetPart
from performance.services import (
    indicator_create,
    indicator_delete,
    indicator_update,
    strategic_goal_create,
    strategic_goal_delete,
    strategic_goal_update,
    target_part_revise,
)

pytestmark = pytest.mark.django_db


def _indicator():
    return Indicator.objects.get(code="repatriation", goal__year=2013)


def test_target_revision_keeps_the_original_and_the_reason(alice):
    indicator = _indicator()
    part = indicator.parts.get()
    revised = target_part_revise(
        part=part,
        value=Decimal("8500"),
        expected_version=indicator.version,
        user=alice,
        reason="行政院核定修正",
    )
    assert (revised.original_value, revised.value, revised.revision_reason) == (
        8000,
        8500,
        "行政院核定修正",
    )
    assert revised.is_revised
    row = revised.history.latest()
    assert (row.value, row.history_user, row.history_change_reason) == (
        8500,
        alice,
        "行政院核定修正",
    )
    assert _indicator().version == indicator.version + 1


def test_it_refuses_a_stale_target_revision(alice, bob):
    indicator = _indicator()
    part = indicator.parts.get()
    seen = indicator.version
    target_part_revise(
        part=part, value=Decimal("999"), expected_version=seen, user=alice, reason="a"
    )
    with pytest.raises(ConcurrentEditError):
        target_part_revise(
            part=part, value=Decimal("204"), expected_version=seen, user=bob, reason="b"
        )
    assert TargetPart.objects.get(pk=part.pk).value == 999


def test_an_indicator_update_revises_parts_and_syncs_inputs(alice):
    indicator = _indicator()
    part = indicator.parts.get()
    (source,) = indicator.inputs.all()
    updated = indicator_update(
        indicator=indicator,
        expected_version=indicator.version,
        user=alice,
        reason="改名並修正目標",
        name="新名稱",
        inputs=[{"id": source.pk, "key": source.key, "label": "新標籤", "unit": source.unit}],
        parts=[{"id": part.pk, "key": part.key, "label": part.label, "value": Decimal("9000")}],
    )
    assert updated.name == "新名稱"
    assert IndicatorInput.objects.get(pk=source.pk).label == "新標籤"
    part.refresh_from_db()
    assert (part.value, part.original_value, part.revision_reason) == (9000, 8000, "改名並修正目標")


def test_rows_left_out_of_an_update_are_deleted_with_history(alice):
    indicator = _indicator()
    (source,) = indicator.inputs.all()
    part = indicator.parts.get()
    indicator_update(
        indicator=indicator,
        expected_version=indicator.version,
        user=alice,
        reason="改用新的項目",
        inputs=[{"key": "count", "label": "件數", "unit": "件"}],
        parts=[{"id": part.pk}],
    )
    assert list(_indicator().inputs.values_list("key", flat=True)) == ["count"]
    gone = IndicatorInput.history.filter(id=source.pk).latest()
    assert (gone.history_type, gone.history_user, gone.history_change_reason) == (
        "-",
        alice,
        "改用新的項目",
    )


def test_a_formula_is_checked_against_the_inputs_saved_with_it(alice):
    indicator = Indicator.objects.get(code="inspection-service")
    with pytest.raises(ValidationError) as excinfo:
        indicator_update(
            indicator=indicator,
            expected_version=indicator.version,
            user=alice,
            reason="x",
            formula="(a - zz) / b * 100",
        )
    assert "zz" in " ".join(excinfo.value.messages)
    updated = indicator_update(
        indicator=indicator,
        expected_version=indicator.version,
        user=alice,
        reason="改名",
        formula="(a - zz) / b * 100",
        inputs=[*indicator.inputs.values("id", "key", "label"), {"key": "zz", "label": "Z"}],
    )
    assert updated.formula == "(a - zz) / b * 100"


def test_it_refuses_a_stale_indicator_update_and_delete(alice):
    indicator = _indicator()
    with pytest.raises(ConcurrentEditError):
        indicator_update(
            indicator=indicator,
            expected_version=indicator.version - 1,
            user=alice,
            reason="x",
            name="不該出現",
        )
    with pytest.raises(ConcurrentEditError):
        indicator_delete(indicator=indicator, expected_version=0, user=alice, reason="x")
    assert _indicator().name != "不該出現"


def test_an_indicator_is_created_with_its_inputs_and_parts(alice):
    goal = StrategicGoal.objects.filter(year=2013).first()
    indicator = indicator_create(
        goal=goal,
        code="new-one",
        name="新指標",
        method="count",
        user=alice,
        inputs=[{"key": "value", "label": "件數", "unit": "件"}],
        parts=[{"key": "value", "label": "件數", "value": Decimal("10"), "unit": "件"}],
    )
    part = indicator.parts.get()
    assert (part.value, part.original_value) == (10, 10)
    assert indicator.history.latest().history_user == alice


def test_deleting_an_indicator_keeps_every_row_in_history(alice):
    indicator = Indicator.objects.get(code="pass-card", goal__year=2012)
    result_ids = list(indicator.results.values_list("id", flat=True))
    indicator_delete(
        indicator=indicator, expected_version=indicator.version, user=alice, reason="誤建"
    )
    assert not Indicator.objects.filter(pk=indicator.pk).exists()
    assert Indicator.history.filter(id=indicator.pk, history_type="-").get().history_user == alice
    assert set(
        Result.history.filter(id__in=result_ids, history_type="-").values_list(
            "history_change_reason", flat=True
        )
    ) == {"誤建"}


def test_goal_services_lock_and_attribute(alice, bob):
    agency = Agency.objects.get(code="nia")
    goal = strategic_goal_create(
        agency=agency, year=2014, code="g99", title="新目標", user=alice, reason=""
    )
    seen = goal.version
    strategic_goal_update(goal=goal, expected_version=seen, user=alice, reason="改", title="改後")
    with pytest.raises(ConcurrentEditError):
        strategic_goal_update(goal=goal, expected_version=seen, user=bob, reason="b", title="舊")
    with pytest.raises(ConcurrentEditError):
        strategic_goal_delete(goal=goal, expected_version=seen, user=bob, reason="b")
    assert StrategicGoal.objects.get(pk=goal.pk).title == "改後"
    strategic_goal_delete(goal=goal, expected_version=seen + 1, user=alice, reason="不需要")
    row = StrategicGoal.history.filter(id=goal.pk).latest()
    assert (row.history_type, row.history_user, row.history_change_reason) == (
        "-",
        alice,
        "不需要",
    )
