"""The management screens' lists run the same number of queries whatever the data size (as
tests/test_query_counts.py for the other pages): the small and the large data of
tests/factories.py, with one entry exception, history row and frozen result at the small size
and many at the large."""

from datetime import timedelta

import pytest
from django.utils import timezone

from budget.models import Membership, Unit
from budget.services import membership_create
from performance.models import Result
from performance.services import entry_exception_grant, period_get_or_create, period_update
from tests.factories import LARGE, SMALL, build

pytestmark = pytest.mark.django_db

SIZES = [pytest.param(SMALL, 1, id="small"), pytest.param(LARGE, 8, id="large")]

# Every signed-in request starts with 2: the session and the user; then the agency and the
# user's memberships (permissions.access_managed_agency; the menu reads the same memberships);
# the header bell's unread notifications.
QUERIES = {
    # + years of goals and of periods; the year's periods, open exceptions, frozen results
    "agency": 10,
    # + the period; its history, the exceptions' history, the units' names
    "quarter": 9,
    # + the exceptions (with unit and grantor), the period, the units of the form
    "exceptions": 8,
    # + the period, the results by state
    "lock": 7,
    # + the frozen results (with indicator, goal and unit)
    "results": 6,
}


def _urls(agency, year, quarter=1) -> dict[str, str]:
    base = f"/manage/{agency.code}/{year}/q{quarter}/"
    return {
        "agency": f"/manage/{agency.code}/?year={year}",
        "quarter": base,
        "exceptions": f"{base}exceptions/",
        "lock": f"{base}lock/",
        "results": f"{base}results/",
    }


def _managed(size, many: int, manager):
    """The built data, `manager` the last agency's 管理者, and `many` units with an exception
    of the last year's first quarter and `many` moves of its window."""
    data = build(size)
    agency, year = data.agency, data.last_year
    membership_create(
        member=manager, agency=agency, role=Membership.Role.ADMIN, user=None, reason="測試"
    )
    units = Unit.objects.bulk_create(
        Unit(agency=agency, code=f"extra{n}", name=f"加開{n}組", order=10 + n) for n in range(many)
    )
    until = timezone.localdate() + timedelta(days=7)
    for unit in units:
        entry_exception_grant(
            agency=agency, unit=unit, year=year, quarter=1, until=until, user=manager, reason="補登"
        )
    period = period_get_or_create(agency=agency, year=year, quarter=1)
    for n in range(many):
        period = period_update(
            period=period,
            expected_version=period.version,
            user=manager,
            reason=f"第{n}次調整",
            closes_on=period.closes_on + timedelta(days=1),
        )
    return data


@pytest.fixture
def manager(client, django_user_model):
    user = django_user_model.objects.create_user("manager", "manager@example.org")
    client.force_login(user)
    return user


@pytest.mark.parametrize("size, many", SIZES)
@pytest.mark.parametrize("page", list(QUERIES))
def test_each_list_runs_a_fixed_number_of_queries_at_any_size(
    client, manager, django_assert_num_queries, size, many, page
):
    data = _managed(size, many, manager)
    url = _urls(data.agency, data.last_year)[page]
    with django_assert_num_queries(QUERIES[page]):
        response = client.get(url)
    assert response.status_code == 200


def test_the_large_data_is_on_the_lists(client, manager):
    """The counts above are of lists that show the data, not of empty ones."""
    data = _managed(LARGE, 8, manager)
    urls = _urls(data.agency, data.last_year)
    exceptions = client.get(urls["exceptions"]).content.decode()
    assert all(f"加開{n}組" in exceptions for n in range(8))
    frozen = Result.objects.filter(
        indicator__goal__agency=data.agency, indicator__goal__year=data.last_year, quarter=1
    ).count()
    assert frozen == LARGE.indicators
    results = client.get(urls["results"]).content.decode()
    assert results.count("/reopen/") == frozen
    quarter = client.get(urls["quarter"]).content.decode()
    assert all(f"第{n}次調整" in quarter for n in range(8))
