"""The formatting module: numbers exact at any size, years and periods in the user's language."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from kpitrack.core import formatting


@pytest.fixture(autouse=True)
def chinese():
    """Chinese unless a test says otherwise (a request in English elsewhere leaves English on)."""
    with translation.override("zh-hant"):
        yield


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1234567.5000"), "1,234,567.5"),
        (Decimal("12.0000"), "12"),
        (Decimal("103.10"), "103.1"),
        (Decimal("1E+3"), "1,000"),
        (Decimal("1.5E+3"), "1,500"),
        (Decimal("1E+28"), "10,000,000,000,000,000,000,000,000,000"),
        (Decimal("1E+40"), "10" + ",000" * 13),
        (Decimal("99999999999999999999999999999999.5"), "99" + ",999" * 10 + ".5"),
        (Decimal("-1234.50"), "-1,234.5"),
        (Decimal("-0.000"), "0"),
        (Decimal("0.0001"), "0.0001"),
        (Decimal("1E-30"), "0." + "0" * 29 + "1"),
        (Decimal("0E-10"), "0"),
        (7, "7"),
        ("12.50", "12.5"),
        (None, ""),
        ("", ""),
    ],
)
def test_figure_writes_any_number_exactly(value, text):
    assert formatting.figure(value) == text


def test_figure_leaves_text_that_is_not_a_number_as_it_is():
    assert formatting.figure("n/a") == "n/a"


def test_percent():
    assert formatting.percent(Decimal("103.13")) == "103.13%"
    assert formatting.percent(Decimal("1E+28")).endswith(",000%")
    assert formatting.percent(None) == ""


@pytest.mark.parametrize(
    ("value", "plain", "exact"),
    [
        (Decimal("12.0000"), "12", "12.0000"),
        (Decimal("165.00"), "165", "165.00"),
        (Decimal("1E+3"), "1000", "1000"),
        (Decimal("1E+40"), "1" + "0" * 40, "1" + "0" * 40),
        (Decimal("-0.50"), "-0.5", "-0.50"),
        (Decimal("-0.00"), "0", "0.00"),
        (Decimal("1E-30"), "0." + "0" * 29 + "1", "0." + "0" * 29 + "1"),
        (None, None, None),
    ],
)
def test_data_texts_are_exact_and_never_in_exponent_form(value, plain, exact):
    assert formatting.plain(value) == plain
    assert formatting.exact(value) == exact


def test_decimals_counts_the_needed_decimals():
    assert [formatting.decimals(Decimal(t)) for t in ("12.5000", "1E+3", "0.0001", "7")] == [
        1,
        0,
        4,
        0,
    ]


def test_roc_years_and_periods_in_chinese():
    assert formatting.roc_year(2013) == "民國102年（2013）"
    assert formatting.roc_year("2013") == "民國102年（2013）"
    assert formatting.roc_year(None) == ""
    assert formatting.roc(2013) == 102
    assert formatting.quarter_label(3) == "第3季"
    assert [formatting.months_label(q) for q in (1, 2, 3, 4)] == [
        "1-3月",
        "1-6月",
        "1-9月",
        "1-12月",
    ]
    assert formatting.period_label(2) == "1-6月"
    assert formatting.period_label(4) == "全年度"
    assert formatting.through_quarter_choices() == [
        (1, "第1季（1-3月）"),
        (2, "第2季（1-6月）"),
        (3, "第3季（1-9月）"),
        (4, "全年度"),
    ]


def test_roc_years_and_periods_in_english():
    with translation.override("en"):
        assert formatting.roc_year(2013) == "2013 (ROC 102)"
        assert formatting.quarter_label(3) == "Q3"
        assert formatting.period_label(2) == "Jan–Jun"
        assert formatting.through_quarter_label(2) == "Q2 (Jan–Jun)"
        assert formatting.period_label(4) == "Full year"


def test_chinese_numbers_for_goals():
    assert [formatting.chinese_number(n) for n in (1, 10, 11, 20, 21, 99, 100, 0)] == [
        "一",
        "十",
        "十一",
        "二十",
        "二十一",
        "九十九",
        "100",
        "0",
    ]


def test_template_filters_wrap_the_module():
    template = Template("{% load kpi %}{{ v|figure }} {{ r|percent }} {{ y|roc_year }}")
    html = template.render(Context({"v": Decimal("1E+28"), "r": Decimal("103.10"), "y": 2013}))
    assert html == "10,000,000,000,000,000,000,000,000,000 103.1% 民國102年（2013）"


# --- coded figures (issue 17) -----------------------------------------------------------------

CORE_COMPETENCY = (
    "每人當年度是否達成核心能力所規定之學習時數(各年度目標值填列符號代表意義：0代表「2項均未"
    "達到」、1代表「達到1項」、2代表「2項均達到」)。"
)


def test_ordinal_labels_are_read_from_the_measurement_standard():
    from kpitrack.core.formatting import ordinal_labels

    assert ordinal_labels(CORE_COMPETENCY) == {0: "2項均未達到", 1: "達到1項", 2: "2項均達到"}
    assert ordinal_labels("每年評核一次") == {}
    assert ordinal_labels("") == {}


@pytest.mark.parametrize(
    ("value", "method", "standard", "shown"),
    [
        (Decimal("1"), "rating", "", "達成"),
        (Decimal("1.0000"), "rating", "", "達成"),
        (Decimal("0"), "rating", "", "未達成"),
        (Decimal("2"), "ordinal", CORE_COMPETENCY, "2項均達到"),
        (Decimal("0"), "ordinal", CORE_COMPETENCY, "2項均未達到"),
        (Decimal("3"), "ordinal", CORE_COMPETENCY, "3"),  # a code the standard does not name
        (Decimal("2"), "ordinal", "", "2"),
        (Decimal("1234.5"), "count", "", "1,234.5"),
        (Decimal("1"), "count", CORE_COMPETENCY, "1"),
        (None, "rating", "", ""),
    ],
)
def test_a_coded_figure_reads_as_its_words(value, method, standard, shown):
    from kpitrack.core.formatting import coded_figure

    assert coded_figure(value, method=method, standard=standard) == shown
