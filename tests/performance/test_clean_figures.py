"""What entry accepts of a typed figure, method by method (performance.services.entry's
_clean_figures, behind every save): the holes a mutation run found in its tests — every bad
figure reported at once, a numerator equal to its denominator, zero, an ordinal's and a rating's
codes, a growth's negative figures, and the exact sentences a user reads."""

from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError

from kpitrack.core.engine.achievement import Method
from performance.services.entry import _clean_figures


def _inputs(*pairs):
    return [SimpleNamespace(key=key, label=label) for key, label in pairs]


RATIO = _inputs(("done", "已辦件數"), ("all", "總件數"))
COUNT = _inputs(("value", "件數"))


def _refused(method, inputs, raw) -> dict[str, str]:
    with pytest.raises(ValidationError) as refused:
        _clean_figures(method, inputs, raw)
    return {key: [str(m) for m in messages] for key, messages in refused.value.message_dict.items()}


def test_a_numerator_equal_to_its_denominator_is_a_whole_ratio():
    assert _clean_figures(Method.RATIO, RATIO, {"done": "40", "all": "40"}) == {
        "done": 40,
        "all": 40,
    }


def test_a_numerator_above_its_denominator_is_refused_in_words():
    assert _refused(Method.RATIO, RATIO, {"done": "41", "all": "40"}) == {
        "done": ["分子「已辦件數」不可大於分母「總件數」。"]
    }


def test_zero_is_a_figure_a_negative_count_is_not():
    assert _clean_figures(Method.COUNT, COUNT, {"value": "0"}) == {"value": 0}
    assert _refused(Method.COUNT, COUNT, {"value": "-1"}) == {"value": ["「件數」不可為負數。"]}


def test_every_bad_figure_is_reported_at_once_with_the_good_ones_kept_out():
    inputs = _inputs(("a", "甲"), ("b", "乙"), ("c", "丙"))
    assert _refused(Method.WEIGHTED, inputs, {"a": "-1", "b": "", "c": "-2"}) == {
        "a": ["「甲」不可為負數。"],
        "c": ["「丙」不可為負數。"],
    }
    # Unparsable text first, then a negative: both still reported.
    assert set(_refused(Method.WEIGHTED, inputs, {"a": "x", "b": "1", "c": "-2"})) == {"a", "c"}


def test_an_ordinal_takes_whole_codes_only():
    inputs = _inputs(("value", "等第"))
    assert _clean_figures(Method.ORDINAL, inputs, {"value": "2"}) == {"value": 2}
    assert _refused(Method.ORDINAL, inputs, {"value": "1.5"}) == {
        "value": ["「等第」必須是整數的等第代碼。"]
    }


def test_a_rating_takes_one_or_zero_only():
    inputs = _inputs(("value", "評等"))
    assert _clean_figures(Method.RATING, inputs, {"value": "1"}) == {"value": 1}
    assert _clean_figures(Method.RATING, inputs, {"value": "0"}) == {"value": 0}
    assert _refused(Method.RATING, inputs, {"value": "2"}) == {
        "value": ["「評等」只能填 1（達成）或 0（未達成）。"]
    }


def test_a_growth_takes_negative_figures_and_names_its_bounds():
    inputs = _inputs(("value", "金額"))
    assert _clean_figures(Method.GROWTH, inputs, {"value": "-5"}) == {"value": -5}
    # The bounds a growth's figure may take run below zero; a count's start at 0.
    [message] = _refused(Method.GROWTH, inputs, {"value": "-1e30"})["value"]
    assert message == (
        "「-1e30」不符：數值必須介於 -99,999,999,999.9999 與 99,999,999,999.9999 之間，"
        "且最多 4 位小數。"
    )
    [message] = _refused(Method.COUNT, COUNT, {"value": "-1e30"})["value"]
    assert message == "「-1e30」不可為負數：數值必須介於 0 與 99,999,999,999.9999 之間。"


@pytest.mark.parametrize("method", [Method.ORDINAL, Method.RATING])
def test_a_code_too_large_is_refused_without_talk_of_decimals(method):
    """An ordinal's or a rating's code is a whole number: its bounds say nothing of decimal
    places, which only the other methods' figures have."""
    assert _refused(method, COUNT, {"value": "1000000000000000"}) == {
        "value": ["「1000000000000000」不符：數值必須介於 0 與 99,999,999,999.9999 之間。"]
    }


@pytest.mark.parametrize("method", [Method.FORMULA, Method.WEIGHTED, Method.MULTI, Method.COUNT])
def test_two_figures_of_another_method_are_no_numerator_and_denominator(method):
    """Only a ratio compares its two figures: a formula's (or any other method's) first figure
    may exceed its second."""
    two = _inputs(("cases", "案件數"), ("staff", "人力"))
    assert _clean_figures(method, two, {"cases": "41", "staff": "40"}) == {
        "cases": 41,
        "staff": 40,
    }
