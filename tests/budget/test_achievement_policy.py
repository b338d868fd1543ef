"""Rounding and traffic-light thresholds per agency and year: a change applies from its year on
and never repaints an earlier year's lights."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from budget.models import AchievementPolicy, Agency
from budget.selectors import achievement_policies, achievement_policy_rows
from budget.services import achievement_policy_set
from kpitrack.core.engine.achievement import DEFAULT_POLICY, Policy, Rounding
from kpitrack.core.versioning import ConcurrentEditError
from performance.selectors import achievements_for_year

pytestmark = pytest.mark.django_db


@pytest.fixture
def nia():
    return Agency.objects.get(code="nia")


# The last quarter each seed year has results for.
REPORTED_QUARTER = {2010: 4, 2011: 4, 2012: 2}


def lights(year):
    rows = achievements_for_year(year=year, through_quarter=REPORTED_QUARTER[year])
    return {row.indicator.code: row.outcome.status for row in rows}


def set_policy(agency, year, *, user, reason="調整燈號門檻", **values):
    current = AchievementPolicy.objects.filter(agency=agency, year=year).first()
    return achievement_policy_set(
        agency=agency,
        year=year,
        expected_version=current.version if current else None,
        user=user,
        reason=reason,
        **values,
    )


def test_the_documents_policy_holds_from_the_agencys_earliest_year(nia):
    assert list(nia.achievement_policies.values_list("year", flat=True)) == [2010]
    policies = achievement_policies(pairs=[(nia.pk, year) for year in range(2010, 2014)])
    assert set(policies.values()) == {Policy(decimals=2, rounding=Rounding.HALF_UP)}


def test_a_threshold_change_for_2013_leaves_the_lights_of_2012_as_printed(nia, alice):
    printed_2012 = lights(2012)
    set_policy(nia, 2013, user=alice, green_threshold=Decimal("150"), yellow_threshold=Decimal(140))

    assert lights(2012) == printed_2012
    policies = achievement_policies(pairs=[(nia.pk, 2012), (nia.pk, 2013)])
    assert policies[nia.pk, 2012].green == Decimal("100")
    assert policies[nia.pk, 2013].green == Decimal("150")


def test_a_threshold_change_repaints_its_own_year_and_later_years(nia, alice):
    printed_2010 = lights(2010)
    before = lights(2011)
    set_policy(
        nia, 2011, user=alice, green_threshold=Decimal("99999"), yellow_threshold=Decimal(99999)
    )

    after = lights(2011)
    assert "green" in before.values() and after != before
    assert set(after.values()) <= {"red", "white"}
    assert lights(2010) == printed_2010
    assert "red" in lights(2012).values()
    assert "green" not in lights(2012).values()


def test_the_performance_report_states_the_thresholds_of_its_own_year(client, bob, nia, alice):
    # nia's documents print no lights (agency.yaml's uses_lights: false); switched on from 2010.
    set_policy(nia, 2010, user=alice, uses_lights=True)
    set_policy(nia, 2011, user=alice, green_threshold=Decimal("120"), yellow_threshold=Decimal(90))
    client.force_login(bob)

    html_2010 = client.get("/reports/nia/performance/2010/").content.decode()
    html_2011 = client.get("/reports/nia/performance/2011/").content.decode()

    assert "達成率 ≥ 100%" in html_2010 and "達成率 ≥ 120%" not in html_2010
    assert "達成率 ≥ 120%" in html_2011 and "90% ≤ 達成率 < 120%" in html_2011


def test_a_new_year_starts_from_the_previous_years_values(nia, alice):
    set_policy(nia, 2011, user=alice, rate_decimals=1, rounding="down", uses_lights=False)

    created = set_policy(nia, 2012, user=alice, green_threshold=Decimal("110"))

    assert (created.rate_decimals, created.rounding, created.uses_lights) == (1, "down", False)
    assert created.green_threshold == Decimal("110")
    assert created.yellow_threshold == Decimal("80")


def test_a_year_between_two_rows_follows_the_earlier_one(nia, alice):
    set_policy(nia, 2012, user=alice, rate_decimals=3)
    set_policy(nia, 2013, user=alice, rate_decimals=4)

    policies = achievement_policies(pairs=[(nia.pk, y) for y in (2010, 2011, 2012, 2013, 2020)])

    assert [policies[nia.pk, y].decimals for y in (2010, 2011, 2012, 2013, 2020)] == [2, 2, 3, 4, 4]


def test_an_agency_or_year_without_a_row_gets_the_defaults(nia):
    other = Agency.objects.create(code="other", name="其他機關")

    rows = achievement_policy_rows(pairs=[(other.pk, 2013), (nia.pk, 2009)])

    assert rows[other.pk, 2013].engine_policy == DEFAULT_POLICY
    assert rows[nia.pk, 2009].engine_policy == DEFAULT_POLICY
    assert rows[other.pk, 2013].uses_lights is True
    assert DEFAULT_POLICY == Policy(
        decimals=2, rounding=Rounding.HALF_UP, green=Decimal(100), yellow=Decimal(80)
    )


def test_it_answers_every_pair_in_one_query(nia, alice, django_assert_num_queries):
    others = [Agency.objects.create(code=f"a{n}", name=f"機關{n}") for n in range(5)]
    for agency in others:
        set_policy(agency, 2011, user=alice, rate_decimals=1)
        set_policy(agency, 2012, user=alice, rate_decimals=3)
    pairs = [(a.pk, y) for a in [nia, *others] for y in range(2009, 2015)]

    with django_assert_num_queries(1):
        policies = achievement_policies(pairs=pairs)

    assert len(policies) == len(pairs)
    assert policies[others[0].pk, 2011].decimals == 1
    assert policies[others[0].pk, 2014].decimals == 3


def test_it_refuses_a_stale_version(nia, alice, bob):
    seen = AchievementPolicy.objects.get(agency=nia, year=2010).version
    achievement_policy_set(
        agency=nia, year=2010, expected_version=seen, user=alice, reason="改", rate_decimals=1
    )

    with pytest.raises(ConcurrentEditError):
        achievement_policy_set(
            agency=nia, year=2010, expected_version=seen, user=bob, reason="改", rate_decimals=3
        )
    assert AchievementPolicy.objects.get(agency=nia, year=2010).rate_decimals == 1


def test_it_refuses_a_year_created_by_someone_else_since(nia, alice, bob):
    set_policy(nia, 2013, user=alice, rate_decimals=1)

    with pytest.raises(ConcurrentEditError):
        achievement_policy_set(
            agency=nia, year=2013, expected_version=None, user=bob, reason="改", rate_decimals=3
        )
    assert AchievementPolicy.objects.get(agency=nia, year=2013).rate_decimals == 1


def test_it_requires_a_reason_to_change_an_existing_year(nia, alice):
    with pytest.raises(ValidationError) as caught:
        set_policy(nia, 2010, user=alice, reason="  ", rate_decimals=1)
    assert "reason" in caught.value.message_dict
    assert AchievementPolicy.objects.get(agency=nia, year=2010).rate_decimals == 2


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"yellow_threshold": Decimal("101")}, "yellow_threshold"),
        ({"rate_decimals": 7}, "rate_decimals"),
        ({"green_threshold": Decimal("-1")}, "green_threshold"),
        ({"rounding": "up"}, "rounding"),
    ],
)
def test_it_refuses_invalid_values_and_changes_nothing(nia, alice, values, field):
    with pytest.raises(ValidationError) as caught:
        set_policy(nia, 2013, user=alice, **values)
    assert field in caught.value.message_dict
    assert not AchievementPolicy.objects.filter(agency=nia, year=2013).exists()


def test_each_change_is_in_the_history_with_who_and_why(nia, alice):
    set_policy(nia, 2010, user=alice, reason="依考核要點調整", green_threshold=Decimal("95"))

    latest = AchievementPolicy.objects.get(agency=nia, year=2010).history.first()
    assert latest.history_user == alice
    assert latest.history_change_reason == "依考核要點調整"
    assert latest.prev_record.green_threshold == Decimal("100")
    assert latest.green_threshold == Decimal("95")
