from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from performance.models import Change, Result, TargetPart
from performance.services import ConcurrentEditError, result_update, target_part_revise

pytestmark = pytest.mark.django_db


def _result():
    return Result.objects.get(indicator__code="pass-card", indicator__goal__year=2012)


def test_update_records_who_when_old_new_why(alice):
    result = _result()
    updated = result_update(
        result=result,
        user=alice,
        reason="更正核卡件數",
        expected_version=result.version,
        figures={"value": Decimal("170")},
        benefit="新的效益說明",
    )
    assert updated.version == result.version + 1
    assert updated.figures.get(key="value").value == 170
    changes = {c.field: c for c in Change.objects.filter(user=alice)}
    assert changes["value"].old == "165" and changes["value"].new == "170"
    assert changes["value"].reason == "更正核卡件數"
    assert changes["benefit"].new == "新的效益說明"
    assert changes["value"].at is not None


def test_a_stale_editor_cannot_overwrite(alice, bob):
    result = _result()
    seen = result.version
    result_update(
        result=result,
        user=alice,
        reason="a",
        expected_version=seen,
        figures={"value": Decimal("1")},
    )
    with pytest.raises(ConcurrentEditError):
        result_update(
            result=result,
            user=bob,
            reason="b",
            expected_version=seen,
            figures={"value": Decimal("2")},
        )
    assert _result().figures.get(key="value").value == 1
    assert not Change.objects.filter(user=bob).exists()


def test_a_reason_is_required(alice):
    result = _result()
    with pytest.raises(ValidationError):
        result_update(result=result, user=alice, reason=" ", expected_version=result.version)
    assert _result().version == result.version


def test_unknown_figures_change_nothing(alice):
    result = _result()
    with pytest.raises(ValidationError):
        result_update(
            result=result,
            user=alice,
            reason="x",
            expected_version=result.version,
            figures={"nope": Decimal(1)},
        )
    assert _result().version == result.version


def test_target_revision_keeps_the_original(alice):
    part = TargetPart.objects.get(indicator__code="repatriation", indicator__goal__year=2013)
    revised = target_part_revise(
        part=part, value=Decimal("8500"), user=alice, reason="行政院核定修正"
    )
    assert revised.original_value == 8000
    assert revised.value == 8500
    assert revised.is_revised
    change = Change.objects.get(user=alice, field="value")
    assert (change.old, change.new, change.reason) == ("8000", "8500", "行政院核定修正")
