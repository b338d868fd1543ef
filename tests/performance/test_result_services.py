"""performance.services for results: figures, narrative, state, deletion — locked and attributed."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kpitrack.core.versioning import ConcurrentEditError
from performance.models import Indicator, Result, ResultFigure
from performance.services import (
    result_create,
    result_delete,
    result_figure_delete,
    result_state_set,
    result_update,
)

pytestmark = pytest.mark.django_db


def _result():
    return Result.objects.get(indicator__code="pass-card", indicator__goal__year=2012)


def test_an_update_records_who_and_why_on_every_row_it_changes(alice):
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
    figure = updated.figures.get(key="value")
    assert figure.value == 170
    row = figure.history.latest()
    assert (row.history_user, row.history_change_reason, row.value) == (alice, "更正核卡件數", 170)
    row = updated.history.latest()
    assert (row.history_user, row.history_change_reason, row.benefit) == (
        alice,
        "更正核卡件數",
        "新的效益說明",
    )


def test_it_refuses_a_stale_result_update(alice, bob):
    result = _result()
    seen = result.version
    result_update(
        result=result, user=alice, reason="a", expected_version=seen, figures={"value": 1}
    )
    with pytest.raises(ConcurrentEditError):
        result_update(
            result=result, user=bob, reason="b", expected_version=seen, figures={"value": 2}
        )
    assert _result().figures.get(key="value").value == 1
    assert not ResultFigure.history.filter(history_user=bob).exists()


def test_a_reason_is_required_to_change_a_result(alice):
    result = _result()
    with pytest.raises(ValidationError) as excinfo:
        result_update(result=result, user=alice, reason=" ", expected_version=result.version)
    assert "請說明修改理由" in str(excinfo.value)
    assert _result().version == result.version


def test_an_undeclared_figure_is_refused_with_the_declared_ones(alice):
    result = _result()
    with pytest.raises(ValidationError) as excinfo:
        result_update(
            result=result,
            user=alice,
            reason="x",
            expected_version=result.version,
            figures={"nope": Decimal(1)},
        )
    message = " ".join(excinfo.value.messages)
    assert "「nope」不是此指標的填報項目" in message
    assert "核卡件數（value）" in message
    assert _result().version == result.version
    assert not _result().figures.filter(key="nope").exists()


def test_a_figure_out_of_range_changes_nothing(alice):
    result = _result()
    with pytest.raises(ValidationError) as excinfo:
        result_update(
            result=result,
            user=alice,
            reason="x",
            expected_version=result.version,
            figures={"value": Decimal("100000000000")},
        )
    assert "99,999,999,999.9999" in " ".join(excinfo.value.messages)
    assert _result().figures.get(key="value").value == 165
    assert _result().version == result.version


def test_deleting_a_figure_keeps_its_last_value_in_history(alice):
    result = _result()
    figure = result.figures.get(key="value")
    result_figure_delete(figure=figure, expected_version=result.version, user=alice, reason="重複")
    assert not ResultFigure.objects.filter(pk=figure.pk).exists()
    gone = ResultFigure.history.filter(id=figure.pk).latest()
    assert (gone.history_type, gone.value, gone.history_user, gone.history_change_reason) == (
        "-",
        165,
        alice,
        "重複",
    )


def test_it_refuses_a_stale_figure_deletion(alice):
    result = _result()
    figure = result.figures.get(key="value")
    with pytest.raises(ConcurrentEditError):
        result_figure_delete(
            figure=figure, expected_version=result.version - 1, user=alice, reason="x"
        )
    assert ResultFigure.objects.filter(pk=figure.pk).exists()


def test_an_administrator_sets_a_state_with_a_reason(alice):
    result = _result()
    updated = result_state_set(
        result=result, state="returned", expected_version=result.version, user=alice, reason="退回"
    )
    assert _result().state == "returned"
    row = updated.history.latest()
    assert (row.state, row.history_user, row.history_change_reason) == ("returned", alice, "退回")


def test_it_refuses_an_unknown_state_and_a_stale_state_change(alice):
    result = _result()
    with pytest.raises(ValidationError):
        result_state_set(
            result=result, state="lost", expected_version=result.version, user=alice, reason="x"
        )
    with pytest.raises(ConcurrentEditError):
        result_state_set(result=result, state="draft", expected_version=9, user=alice, reason="x")
    assert _result().state == "approved"


def test_a_new_result_starts_as_a_draft_with_its_figures(alice):
    indicator = Indicator.objects.get(code="pass-card", goal__year=2013)
    result = result_create(
        indicator=indicator, quarter=1, user=alice, figures={"value": Decimal("40")}
    )
    assert result.state == "draft"
    assert result.figures.get(key="value").value == 40
    assert result.history.latest().history_user == alice


def test_deleting_a_result_keeps_it_and_its_figures_in_history(alice):
    result = _result()
    figure_ids = list(result.figures.values_list("id", flat=True))
    with pytest.raises(ConcurrentEditError):
        result_delete(result=result, expected_version=0, user=alice, reason="x")
    result_delete(result=result, expected_version=result.version, user=alice, reason="重複輸入")
    assert not Result.objects.filter(pk=result.pk).exists()
    assert Result.history.filter(id=result.pk, history_type="-").get().history_user == alice
    deleted = ResultFigure.history.filter(id__in=figure_ids, history_type="-")
    assert {row.history_change_reason for row in deleted} == {"重複輸入"}
