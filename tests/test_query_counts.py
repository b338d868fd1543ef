"""Every page and API answer runs the same number of queries whatever the data size: each is
counted exactly on the small and on the large data of tests/factories.py. A change that adds a
query to a page changes one number here, knowingly; a query per agency, year or indicator
fails on the large size."""

import pytest

from budget.models import Membership
from budget.services import membership_create

from .factories import LARGE, SMALL, build

pytestmark = pytest.mark.django_db

SIZES = [pytest.param(SMALL, id="small"), pytest.param(LARGE, id="large")]

# Every signed-in request starts with 2: the session and the user; what the user may see adds 1
# (memberships with the agency tree, performance.permissions). A set of achievements
# (`achievements_for_year`) is 6: indicators with goal, agency and unit, their inputs, parts,
# results and figures (of the year and the year before), and the achievement policies.
# An HTML page adds 1 more: the header bell's unread notifications (issue 17; the context
# processor performance.notification_views.notifications, counted only when a page is rendered,
# so the API, xlsx and redirects are unchanged).
QUERIES = {
    # + memberships, the latest year
    "home": 4,
    # + the years with data; a set of achievements
    "achievements": 11,
    "api": 9,
    # + the agency
    "api-agency": 10,
    # + agencies; years of goals, annual policies, headcount budgets
    "reports": 8,
    # + the agency
    "pick": 4,
    # A report section is a set of achievements and the results not yet approved (to list them).
    # + agency, has-year; units, policy, goals, items, headcount budgets, lines; this year's
    # indicators and parts; a set of achievements for each of years N-2 and N-1; the picker's
    # years of goals, policies and headcount budgets; the unapproved results of years N-2 and N-1
    "budget": 31,
    # The PDF and Excel addresses start a job (issue 16): + agency, has-year; the data version
    # (one query over the history tables), the user's job for the same file, the new job.
    "budget-xlsx": 8,
    "budget-pdf": 8,
    # + agency, has-year, the year's achievement policy; a set of achievements; the picker's
    # years; the year's unapproved results
    "performance": 15,
    "performance-xlsx": 8,
    # The 季管考 report's: + agency, the agencies the user sees, the agency's subtree, has-year
    # (goals of the agencies covered), which of those were transcribed (no job for a year without
    # quarters); the data version, the user's job, the new job.
    "quarterly-xlsx": 11,
}
# The job that renders the file (kpitrack.jobs.services.job_execute): + its claim (read, update),
# the agency, the data version, the rendering's own reads, the finish; no session or user.
# (quarterly-xlsx: 26 while entry read the inputs and parts of each year's indicators apart.)
RENDERS = {"budget-xlsx": 33, "performance-xlsx": 19, "quarterly-xlsx": 24}
REDIRECTS = {"home", "pick", "budget-xlsx", "budget-pdf", "performance-xlsx", "quarterly-xlsx"}


def visible(data, bob):
    """The built agencies are under a ministry: bob reads them as its 檢視."""
    membership_create(
        member=bob, agency=data.ministry, role=Membership.Role.VIEWER, user=None, reason="測試"
    )
    return data


def urls(data) -> dict[str, str]:
    agency, year = data.agency.code, data.last_year
    return {
        "home": "/",
        "achievements": f"/achievements/?year={year}&quarter=2",
        "api": f"/api/v1/achievements/?year={year}",
        "api-agency": f"/api/v1/achievements/?year={year}&agency={agency}",
        "reports": "/reports/",
        "pick": f"/reports/pick/?agency={agency}&kind=budget&year={year}",
        "budget": f"/reports/{agency}/budget/{year}/?q=2",
        "budget-xlsx": f"/reports/{agency}/budget/{year}/xlsx/?q=2",
        "budget-pdf": f"/reports/{agency}/budget/{year}/pdf/?q=2",
        "performance": f"/reports/{agency}/performance/{year}/",
        "performance-xlsx": f"/reports/{agency}/performance/{year}/xlsx/",
        "quarterly-xlsx": f"/reports/{agency}/quarterly/{year}/q2/xlsx/",
    }


@pytest.fixture
def reader(client, bob):
    client.force_login(bob)
    return client


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("page", list(QUERIES))
def test_each_page_runs_a_fixed_number_of_queries_at_any_size(
    reader, bob, django_assert_num_queries, size, page
):
    url = urls(visible(build(size), bob))[page]
    with django_assert_num_queries(QUERIES[page]):
        response = reader.get(url)
    assert response.status_code == (302 if page in REDIRECTS else 200)


def _render(reader, url, django_assert_num_queries, queries):
    from kpitrack.jobs.execution import job_execute
    from kpitrack.jobs.models import Job

    response = reader.get(url)
    assert response.status_code == 302
    job = Job.objects.get(pk=response["Location"].split("/")[2])
    with django_assert_num_queries(queries):
        job_execute(job.pk)
    job.refresh_from_db()
    assert job.state == "done", job.error


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("page", list(RENDERS))
def test_each_files_job_runs_a_fixed_number_of_queries_at_any_size(
    reader, bob, django_assert_num_queries, size, page
):
    url = urls(visible(build(size), bob))[page]
    _render(reader, url, django_assert_num_queries, RENDERS[page])


@pytest.mark.pdf
@pytest.mark.parametrize("size", SIZES)
def test_the_pdf_runs_the_queries_of_the_workbook(reader, bob, django_assert_num_queries, size):
    url = urls(visible(build(size), bob))["budget-pdf"]
    _render(reader, url, django_assert_num_queries, RENDERS["budget-xlsx"])


def test_the_large_data_is_on_the_pages(reader, bob):
    """The counts above are of pages that show the data, not of empty ones."""
    data = visible(build(LARGE), bob)
    pages = urls(data)
    body = reader.get(pages["api"]).json()
    assert len(body["results"]) == LARGE.agencies * LARGE.indicators
    assert {row["method"] for row in body["results"]} >= {"multi", "formula", "growth", "rating"}
    assert all(row["status"] != "white" for row in body["results"]), [
        (row["code"], row["reason"]) for row in body["results"] if row["reason"]
    ]
    index = reader.get(pages["reports"]).content.decode()
    for agency in data.agencies:
        assert agency.name in index
        for year in data.years:
            assert f"/reports/{agency.code}/performance/{year}/" in index
    budget = reader.get(pages["budget"]).content.decode()
    assert "施政目標2" in budget and "指標11" in budget
