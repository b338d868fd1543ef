"""result_history and indicator_history: one list of who, when, what, old → new and why."""

from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.translation import override

from performance.models import Indicator, Result
from performance.selectors import indicator_history, result_history
from performance.services import (
    result_figure_delete,
    result_state_set,
    result_update,
    target_part_revise,
)

pytestmark = pytest.mark.django_db


def _result():
    return Result.objects.get(indicator__code="pass-card", indicator__goal__year=2012)


def test_a_deleted_figure_appears_in_the_result_history(alice):
    result = _result()
    started = timezone.now()
    result_figure_delete(
        figure=result.figures.get(key="value"),
        expected_version=result.version,
        user=alice,
        reason="誤植，改為下季填報",
    )
    entry = next(e for e in result_history(result=result) if e.action == "-")
    assert (entry.who, entry.what, entry.old, entry.new, entry.why) == (
        "alice",
        "「核卡件數」數值",
        "165",
        "",
        "誤植，改為下季填報",
    )
    assert entry.when >= started


def test_narrative_state_and_figures_read_as_one_list_newest_first(alice, bob):
    result = _result()
    result = result_update(
        result=result,
        expected_version=result.version,
        user=alice,
        reason="補充",
        figures={"value": Decimal("1234.5")},
        benefit="新效益",
    )
    result_state_set(
        result=result, state="returned", expected_version=result.version, user=bob, reason="退回"
    )
    entries = result_history(result=_result())
    newest = entries[0]
    assert (newest.who, newest.what, newest.old, newest.new, newest.why) == (
        "bob",
        "狀態",
        "已核定",
        "退回",
        "退回",
    )
    expected = {
        ("alice", "效益", "新效益", "補充"),
        ("alice", "「核卡件數」數值", "1,234.5", "補充"),
    }
    assert expected <= {(e.who, e.what, e.new, e.why) for e in entries}
    assert next(e for e in entries if e.new == "1,234.5").old == "165"
    # The loaded document is the first entry: its figure, from nothing to 165.
    assert entries[-1].action == "+"


def test_field_labels_follow_the_language(alice):
    result = _result()
    result_state_set(
        result=result, state="returned", expected_version=result.version, user=alice, reason="x"
    )
    with override("en"):
        entry = result_history(result=result)[0]
    assert (entry.what, entry.old, entry.new) == ("Status", "Approved", "Returned")


def test_result_history_takes_a_fixed_number_of_queries_however_long(
    alice, django_assert_num_queries
):
    result = _result()
    for n in range(5):
        result = result_update(
            result=result,
            expected_version=result.version,
            user=alice,
            reason=f"第{n}次",
            figures={"value": Decimal(n)},
        )
    # its rows, its figures' rows; the indicator, its inputs and parts when not given them
    with django_assert_num_queries(5):
        entries = result_history(result=result)
    assert len([e for e in entries if e.why.startswith("第")]) == 5
    indicator = Indicator.objects.prefetch_related("inputs", "parts").get(pk=result.indicator_id)
    with django_assert_num_queries(2):
        assert result_history(result=result, indicator=indicator) == entries


def test_a_target_revision_appears_in_the_indicator_history(alice, django_assert_num_queries):
    indicator = Indicator.objects.get(code="repatriation", goal__year=2013)
    target_part_revise(
        part=indicator.parts.get(),
        value=Decimal("8500"),
        expected_version=indicator.version,
        user=alice,
        reason="行政院核定修正",
    )
    with django_assert_num_queries(3):
        entries = indicator_history(indicator=indicator)
    revised = [e for e in entries if e.why == "行政院核定修正"]
    assert {(e.what.split("」")[-1], e.old, e.new) for e in revised} == {
        ("目標值", "8,000", "8,500"),
        ("修正理由", "", "行政院核定修正"),
    }
    assert all(e.who == "alice" for e in revised)
