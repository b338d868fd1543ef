"""A quarter judged against its milestone (分季目標): defaults by aggregation, set values, Q1-Q3
against the milestone and Q4 against the annual target."""

from decimal import ROUND_DOWN, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpitrack.core.engine.achievement import (
    Aggregation,
    Method,
    Part,
    Policy,
    Rounding,
    Spec,
    Status,
    evaluate,
)
from kpitrack.core.engine.formula import DECIMAL_CONTEXT
from kpitrack.core.engine.milestones import (
    Basis,
    Milestone,
    Pace,
    accumulates,
    default_milestone,
    judge,
    milestones_for,
    progress_raw_rate,
)

D = Decimal
SUM, LATEST, AVERAGE = Aggregation.SUM, Aggregation.LATEST, Aggregation.AVERAGE


def single(method, target, aggregation=LATEST, inputs=("value",)):
    return Spec(Method(method), aggregation, inputs, (Part("value", "value", D(target)),))


def cumulative(q, value):
    return {quarter: {"value": D(value)} for quarter in range(1, q + 1)}


# --- defaults by aggregation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "aggregation", "expected"),
    [
        ("count", "sum", True),
        ("count", "latest", True),
        ("count", "average", False),
        ("lower", "sum", True),
        ("multi", "latest", True),
        ("weighted", "sum", True),
        ("ratio", "latest", False),
        ("ratio", "sum", False),
        ("growth", "latest", False),
        ("ordinal", "latest", False),
        ("rating", "latest", False),
        ("formula", "sum", False),
    ],
)
def test_what_accumulates_over_the_year(method, aggregation, expected):
    assert accumulates(method, aggregation) is expected


def test_the_default_of_an_accumulated_figure_is_the_target_pro_rata():
    assert [default_milestone("count", "sum", D("90"), q) for q in (1, 2, 3, 4)] == [
        D("23"),  # 22.5 at the target's precision, 四捨五入
        D("45"),
        D("68"),  # 67.5
        D("90"),
    ]


def test_the_default_keeps_the_targets_precision_and_the_policys_rounding():
    # Storage gives 12.5000; the target is written 12.5, so its milestones have one decimal.
    assert default_milestone("count", "latest", D("12.5000"), 1) == D("3.1")  # 3.125
    assert default_milestone("count", "latest", D("12.50"), 2) == D("6.3")  # 6.25
    assert default_milestone("count", "latest", D("12.5"), 3, Rounding.HALF_UP) == D("9.4")
    assert default_milestone("count", "latest", D("12.5"), 3, Rounding.DOWN) == D("9.3")
    assert default_milestone("count", "sum", D("90"), 1, Rounding.DOWN) == D("22")


@pytest.mark.parametrize("method", ["ratio", "growth", "ordinal", "rating", "formula"])
def test_the_default_of_a_rate_or_rating_is_the_annual_target(method):
    for q in (1, 2, 3, 4):
        assert default_milestone(method, "latest", D("95"), q) == D("95")


def test_the_default_of_an_average_is_the_annual_target():
    assert default_milestone("count", "average", D("80"), 2) == D("80")


def test_no_target_no_default():
    assert default_milestone("count", "sum", None, 2) is None


@pytest.mark.parametrize("quarter", [0, 5, "2", None])
def test_a_quarter_out_of_range_is_refused(quarter):
    with pytest.raises(ValueError):
        default_milestone("count", "sum", D("1"), quarter)


targets = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)


@given(targets, st.sampled_from([1, 2, 3]))
def test_a_pro_rata_default_is_within_half_a_unit_of_the_exact_share(target, quarter):
    value = default_milestone("count", "sum", target, quarter)
    places = max(0, -target.normalize().as_tuple().exponent)
    assert abs(value - target * quarter / 4) <= D(1).scaleb(-places) / 2
    assert value <= target


@given(targets)
def test_pro_rata_defaults_never_go_backwards(target):
    values = [default_milestone("count", "sum", target, q) for q in (1, 2, 3, 4)]
    assert values == sorted(values)
    assert values[-1] == target


# --- set values ------------------------------------------------------------------------------


def test_a_set_value_wins_over_the_default_and_says_so():
    spec = single("count", "90", SUM)
    planned = {"value": {1: D("10"), 2: D("30")}}
    assert milestones_for(spec, planned, 1) == (Milestone("value", D("10"), default=False),)
    assert milestones_for(spec, planned, 2) == (Milestone("value", D("30"), default=False),)
    assert milestones_for(spec, planned, 3) == (Milestone("value", D("68"), default=True),)


def test_quarter_four_is_the_annual_target_whatever_is_planned():
    spec = single("count", "90", SUM)
    planned = {"value": {4: D("1")}}
    assert milestones_for(spec, planned, 4) == (Milestone("value", D("90"), default=False),)


def test_each_part_has_its_own_milestone():
    spec = Spec(
        Method.MULTI,
        LATEST,
        ("schools", "events"),
        (Part("schools", "所", D("12")), Part("events", "場次", D("20"))),
    )
    got = milestones_for(spec, {"events": {2: D("4")}}, 2)
    assert got == (Milestone("schools", D("6"), True), Milestone("events", D("4"), False))


# --- the judgement ---------------------------------------------------------------------------


def test_the_issues_case_an_on_pace_quarter_is_green():
    """45 of an annual 90 at the end of Q2: 50% of the year, and exactly on pace."""
    spec = single("count", "90", SUM)
    quarters = {1: {"value": D("20")}, 2: {"value": D("25")}}
    j = judge(spec, quarters, through_quarter=2)
    assert j.basis is Basis.MILESTONE
    assert j.milestones == (Milestone("value", D("45"), True),)
    assert j.outcome.rate == D("100.00")
    assert j.outcome.status is Status.GREEN
    assert j.pace is Pace.ON and not j.behind
    assert j.annual.rate == D("50.00")
    assert j.annual.status is Status.RED


def test_behind_and_ahead_of_a_set_milestone():
    spec = single("count", "90", LATEST)
    planned = {"value": {2: D("50")}}
    behind = judge(spec, cumulative(2, "40"), through_quarter=2, planned=planned)
    assert behind.outcome.rate == D("80.00") and behind.outcome.status is Status.YELLOW
    assert behind.pace is Pace.BEHIND and behind.behind
    ahead = judge(spec, cumulative(2, "60"), through_quarter=2, planned=planned)
    assert ahead.outcome.rate == D("120.00") and ahead.pace is Pace.AHEAD


def test_quarter_four_is_judged_against_the_annual_target():
    spec = single("count", "90", SUM)
    quarters = {q: {"value": D("20")} for q in (1, 2, 3, 4)}
    j = judge(spec, quarters, through_quarter=4, planned={"value": {3: D("1")}})
    assert j.basis is Basis.ANNUAL
    assert j.outcome == j.annual
    assert j.outcome.rate == D("88.89") and j.behind


def test_a_lower_is_better_milestone_is_a_ceiling():
    spec = single("lower", "100", SUM)
    # 30 incidents by Q2 against a ceiling of 50: within it.
    within = judge(spec, {1: {"value": D("10")}, 2: {"value": D("20")}}, through_quarter=2)
    assert within.milestones[0].value == D("50")
    assert within.outcome.rate == D("100.00") and not within.behind
    # 60 by Q2: over the ceiling of 50, although still under the year's 100.
    over = judge(spec, {1: {"value": D("30")}, 2: {"value": D("30")}}, through_quarter=2)
    assert over.annual.rate == D("100.00")
    assert over.outcome.rate == D("83.33") and over.behind


def test_a_rate_is_judged_against_the_annual_target_by_default():
    spec = Spec(Method.RATIO, LATEST, ("done", "all"), (Part("value", "%", D("90")),))
    j = judge(spec, {2: {"done": D("45"), "all": D("50")}}, through_quarter=2)
    assert j.milestones == (Milestone("value", D("90"), True),)
    assert j.outcome.rate == j.annual.rate == D("100.00")


def test_a_rating_is_met_or_not_in_every_quarter():
    spec = single("rating", "1")
    assert judge(spec, {1: {"value": D("0")}}, through_quarter=1).behind
    assert not judge(spec, {1: {"value": D("1")}}, through_quarter=1).behind


def test_a_multi_part_indicator_is_as_far_along_as_its_slowest_part():
    spec = Spec(
        Method.MULTI,
        LATEST,
        ("schools", "events"),
        (Part("schools", "所", D("12")), Part("events", "場次", D("20"))),
    )
    j = judge(spec, {2: {"schools": D("6"), "events": D("8")}}, through_quarter=2)
    assert [p.rate for p in j.outcome.parts] == [D("100.00"), D("80.00")]
    assert j.outcome.rate == D("80.00") and j.behind


def test_nothing_entered_cannot_be_judged():
    j = judge(single("count", "90", SUM), {}, through_quarter=2)
    assert j.pace is Pace.UNKNOWN and not j.behind
    assert j.outcome.status is Status.WHITE


def test_the_light_follows_the_policy():
    policy = Policy(decimals=0, rounding=Rounding.HALF_UP, green=D("97"), yellow=D("95"))
    j = judge(single("count", "90", SUM), cumulative(1, "22"), through_quarter=1, policy=policy)
    # 22 / 23 = 95.65% -> 96: yellow between 95 and 97.
    assert j.outcome.rate == D("96") and j.outcome.status is Status.YELLOW


figures = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False)


@given(figures, st.integers(min_value=1, max_value=10**6), st.sampled_from([1, 2, 3]))
def test_progress_is_value_over_milestone(value, target, quarter):
    spec = single("count", str(target), LATEST)
    j = judge(spec, {quarter: {"value": value}}, through_quarter=quarter)
    milestone = j.milestones[0].value
    if milestone == 0:
        assert j.outcome.rate is None
        return
    with localcontext(DECIMAL_CONTEXT):
        assert j.outcome.raw_rate == value / milestone * 100
    assert j.behind == (value < milestone)


@given(figures, st.integers(min_value=1, max_value=10**6), st.sampled_from([1, 2, 3, 4]))
def test_a_quarter_on_pace_is_never_judged_worse_than_against_the_year(value, target, quarter):
    """An accumulated milestone never exceeds the target, so 達成進度 ≥ 達成率."""
    spec = single("count", str(target), SUM)
    quarters = {q: {"value": value / quarter} for q in range(1, quarter + 1)}
    j = judge(spec, quarters, through_quarter=quarter)
    if j.outcome.raw_rate is not None:
        assert j.outcome.raw_rate >= j.annual.raw_rate


@given(figures, st.sampled_from(["count", "lower"]), st.sampled_from([1, 2, 3, 4]))
def test_the_cheap_rate_is_the_judgements(value, method, quarter):
    spec = single(method, "90", SUM)
    quarters = {q: {"value": value} for q in range(1, quarter + 1)}
    planned = {"value": {1: D("7")}}
    expected = judge(spec, quarters, through_quarter=quarter, planned=planned).outcome.raw_rate
    got = progress_raw_rate(spec, quarters, through_quarter=quarter, planned=planned)
    assert got == expected


def test_q4_judgement_equals_the_plain_evaluation():
    spec = single("count", "90", SUM)
    quarters = {q: {"value": D("25")} for q in (1, 2, 3, 4)}
    assert judge(spec, quarters, through_quarter=4).outcome == evaluate(spec, quarters)


def test_an_indicator_without_a_target_part_cannot_be_judged():
    spec = Spec(Method.COUNT, SUM, ("value",), ())
    j = judge(spec, {1: {"value": D("3")}}, through_quarter=1)
    assert j.milestones == () and j.pace is Pace.UNKNOWN


# --- what the caller passes through: the policy, last year's figures -------------------------


def test_the_default_milestone_is_rounded_as_the_policy_says():
    """22.5 of an annual 90 is 22 when the agency truncates (無條件捨去), and 22 entered is then
    exactly on pace, not behind a milestone of 23."""
    spec = single("count", "90", SUM)
    down = Policy(rounding=Rounding.DOWN)
    assert milestones_for(spec, {}, 1, Rounding.DOWN) == (Milestone("value", D("22"), True),)
    j = judge(spec, cumulative(1, "22"), through_quarter=1, policy=down)
    assert j.milestones == (Milestone("value", D("22"), True),)
    assert j.outcome.rate == D("100.00") and j.pace is Pace.ON and not j.behind
    got = progress_raw_rate(spec, cumulative(1, "22"), through_quarter=1, rounding=Rounding.DOWN)
    assert got == D("100")


def test_the_year_beside_the_quarter_is_read_under_the_same_policy():
    """86 of an annual 90 is 95.56%: 95, green, for an agency that truncates to whole percents
    and is green from 95, where the default policy would say 95.56 and yellow."""
    policy = Policy(decimals=0, rounding=Rounding.DOWN, green=D("95"), yellow=D("90"))
    spec = single("count", "90", SUM)
    quarters = {1: {"value": D("43")}, 2: {"value": D("43")}}
    q2 = judge(spec, quarters, through_quarter=2, policy=policy)
    assert q2.annual.rate == D("95") and q2.annual.status is Status.GREEN
    q4 = judge(
        spec,
        quarters | {3: {"value": D("0")}, 4: {"value": D("0")}},
        through_quarter=4,
        policy=policy,
    )
    assert q4.outcome.rate == D("95") and q4.outcome.status is Status.GREEN


def test_growth_is_judged_against_last_years_figure():
    """Growth of 5% (210 after last year's 200) against a target of 10%: half-way, in Q2 as
    against the year; 230 by Q4 is 15%, ahead of the target."""
    spec = single("growth", "10")
    last_year = {"value": D("200")}
    q2 = judge(spec, {2: {"value": D("210")}}, through_quarter=2, previous=last_year)
    assert q2.quarter == 2 and q2.basis is Basis.MILESTONE
    assert q2.outcome.rate == D("50.00") and q2.behind
    assert q2.annual.rate == D("50.00")
    q4 = judge(spec, {4: {"value": D("230")}}, through_quarter=4, previous=last_year)
    assert q4.quarter == 4
    assert q4.outcome.rate == q4.annual.rate == D("150.00") and q4.pace is Pace.AHEAD
    quarters = {2: {"value": D("210")}}
    assert progress_raw_rate(spec, quarters, through_quarter=2, previous=last_year) == D("50")
    quarters = {4: {"value": D("230")}}
    assert progress_raw_rate(spec, quarters, through_quarter=4, previous=last_year) == D("150")


def test_the_default_does_not_depend_on_the_callers_context():
    """The share is computed in the engine's own decimal context, as `evaluate` computes: 2.9 ×
    3/4 is 2.175, 2.2 at the target's one decimal, even where the caller keeps two digits and
    truncates (which would make the share 2.1)."""
    expected = default_milestone("count", "sum", D("2.9"), 3)
    with localcontext() as context:
        context.prec = 2
        context.rounding = ROUND_DOWN
        assert default_milestone("count", "sum", D("2.9"), 3) == expected
    assert expected == D("2.2")
    # The target's places too: a caller keeping three digits would read 12345678.5 as 1.23E+7.
    large = default_milestone("count", "sum", D("12345678.5"), 3)
    with localcontext() as context:
        context.prec = 3
        assert default_milestone("count", "sum", D("12345678.5"), 3) == large
    assert large == D("9259258.9")
