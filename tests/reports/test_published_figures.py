"""The engine, fed the seeded raw figures, reproduces every published figure that follows from
them, and flags the ones that do not."""

from decimal import Decimal

import pytest

from kpitrack.reports.wording import recompute_note
from performance.selectors import achievements_for_year

pytestmark = pytest.mark.django_db

D = Decimal


def _by_code(year, quarter):
    return {
        row.indicator.code: row for row in achievements_for_year(year=year, through_quarter=quarter)
    }


# (year, through quarter, code, engine rate, published figure, mismatch)
AGREES = [
    (2011, 4, "e-permit", D("100.56"), D("100.55"), False),
    (2011, 4, "care-network", D("100.00"), D("100"), False),
    (2011, 4, "procurement", D("102.27"), D("102"), False),
    (2011, 4, "mobile-service", D("157.00"), D("157"), False),
    (2011, 4, "detainee-skills", D("479.60"), D("479.6"), False),
    (2012, 2, "pass-card", D("103.13"), D("103"), False),
    (2012, 2, "intl-cooperation", D("116.67"), D("116"), False),
    (2012, 2, "procurement", D("100.00"), D("100"), False),
    (2012, 2, "campus-alliance", D("158.33"), D("158"), False),
    (2012, 2, "repatriation", D("80.21"), D("80.2"), False),
]


@pytest.mark.parametrize(("year", "quarter", "code", "rate", "published", "mismatch"), AGREES)
def test_it_reproduces_published_rates(year, quarter, code, rate, published, mismatch):
    row = _by_code(year, quarter)[code]
    assert row.outcome.rate == rate
    assert row.published_rate == published
    assert row.mismatch is mismatch


@pytest.mark.parametrize(
    ("year", "quarter", "code", "value", "published"),
    [
        # These documents quote the measured growth rate itself as the 達成度.
        (2011, 4, "marriage-brokering", D("77.53"), D("77.5")),
        (2012, 2, "snakehead", D("78.69"), D("78")),
    ],
)
def test_it_reproduces_published_growth_values(year, quarter, code, value, published):
    row = _by_code(year, quarter)[code]
    assert row.outcome.value == value
    assert row.published_basis == "value"
    assert row.published_rate == published
    assert row.mismatch is False


@pytest.mark.parametrize(
    ("year", "quarter", "code", "rate", "published"),
    [
        # 92,885 / 8,000 is 1,161.06%, the document printed 1,061%.
        (2011, 4, "auto-gate-enrolment", D("1161.06"), D("1061")),
        # 84 talks / 60 and 4 countries / 3: the document printed 100%.
        (2011, 4, "intl-cooperation", D("133.33"), D("100")),
        # 541 sessions / 300: the 目標達成值 cell says 100% (its own narrative says 180%).
        (2010, 4, "civil-liaison", D("180.33"), D("100")),
    ],
)
def test_it_flags_published_rates_that_do_not_follow(year, quarter, code, rate, published):
    row = _by_code(year, quarter)[code]
    assert row.outcome.rate == rate
    assert row.published_rate == published
    assert row.mismatch is True


def test_it_checks_published_part_rates():
    rows = _by_code(2012, 2)
    gates = {p.key: p for p in rows["auto-gate"].parts}
    assert gates["gates"].rate == D("7.14")
    assert gates["gates"].published_rate == D("10")
    assert gates["gates"].mismatch is True
    assert gates["travellers"].rate == D("58.84")
    assert gates["travellers"].mismatch is False
    assert rows["auto-gate"].mismatch is True
    newsletter = {p.key: p for p in _by_code(2010, 4)["e-newsletter"].parts}
    assert newsletter["foreign"].rate == D("144.32") and newsletter["foreign"].mismatch is False
    assert newsletter["total"].rate == D("155.26") and newsletter["total"].mismatch is False


@pytest.mark.parametrize(
    ("year", "quarter", "code", "reason_fragment"),
    [
        (2011, 4, "anti-trafficking", "尚無填報資料"),
        (2011, 4, "inspection-service", "尚無填報資料"),
        (2012, 2, "marriage-migrant-guidance", "尚無填報資料"),
        (2012, 2, "runaway-workers", "上年度實績"),
        (2010, 4, "detention-visits", "未設定目標值"),
        (2010, 4, "tourist-arrivals", "尚無填報資料"),
    ],
)
def test_it_says_why_unsourced_figures_cannot_be_computed(year, quarter, code, reason_fragment):
    row = _by_code(year, quarter)[code]
    assert row.outcome.rate is None
    assert row.outcome.status == "white"
    assert reason_fragment in row.reason
    # A published figure with no raw numbers behind it is neither confirmed nor contradicted.
    assert row.mismatch is None


@pytest.mark.parametrize(
    ("code", "published_text"),
    [
        # The report printed 100% and the 10 縣市 target, but never how many were built.
        ("care-network", "100%，指標達成率符合，並超前預定進度。"),
        # The report printed 100% and neither a count of 核心能力 reached nor a target.
        ("core-competency", "100%。"),
    ],
)
def test_it_does_not_recompute_from_figures_the_report_never_printed(code, published_text):
    """Issue 18 item 14: a note never uses a figure that was neither printed nor entered."""
    row = _by_code(2010, 4)[code]
    assert all(v is None for v in row.outcome.inputs.values())
    assert row.outcome.rate is None
    assert row.mismatch is None
    # The published figure is kept and reprinted as printed.
    assert row.published_rate == D("100")
    assert row.result.published_text == published_text
    assert recompute_note(row) == "未重算：原報告未列原始數值。"


def test_year_2013_has_targets_but_no_results():
    rows = _by_code(2013, 4)
    assert len(rows) == 11
    assert all(row.outcome.rate is None for row in rows.values())
    assert rows["campus-alliance"].indicator.parts.count() == 3


def test_it_reads_a_whole_year_in_a_fixed_number_of_queries(django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        rows = achievements_for_year(year=2011, through_quarter=4)
        assert len(rows) == 12
    with django_assert_max_num_queries(8):
        assert len(achievements_for_year(year=2012, through_quarter=2)) == 11
