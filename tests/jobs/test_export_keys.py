"""The data version in an export's key is per agency (issue 16, stored exports): a save in
another agency keeps this agency's stored file, served without rendering; a save of anything
this agency's report prints makes a new key; a ministry's 季管考 report follows the agencies it
covers. One query, however many tables and rows."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budget.models import (
    AchievementPolicy,
    Agency,
    AnnualPolicy,
    HeadcountBudget,
    HeadcountLine,
    PolicyGoal,
    PolicyGoalItem,
    Unit,
)
from kpitrack.jobs.models import Job
from kpitrack.reports import exports
from kpitrack.reports.exports import PRINTED_MODELS, QUARTERLY_MODELS, export_key
from performance.models import (
    Indicator,
    IndicatorInput,
    Milestone,
    Result,
    ResultFigure,
    StrategicGoal,
    TargetPart,
)
from tests.factories import Size, build

from .running import run_queued_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def built():
    return build(Size(agencies=2, years=3, indicators=3))


def _of(model, agency):
    """A row of `model` that `agency`'s report of the built years prints."""
    path = {
        Agency: "pk",
        PolicyGoal: "policy__agency",
        PolicyGoalItem: "goal__policy__agency",
        HeadcountLine: "budget__agency",
        Indicator: "goal__agency",
        IndicatorInput: "indicator__goal__agency",
        TargetPart: "indicator__goal__agency",
        Milestone: "part__indicator__goal__agency",
        Result: "indicator__goal__agency",
        ResultFigure: "result__indicator__goal__agency",
    }.get(model, "agency")
    return model.objects.filter(**{path: agency.pk}).order_by("pk").first()


def _narrative(agency):
    result = _of(Result, agency)
    result.progress = "改寫的辦理情形"
    result.save()


def _figure(agency):
    figure = _of(ResultFigure, agency)
    figure.value += 1
    figure.save()


def _target(agency):
    part = _of(TargetPart, agency)
    part.value += 1
    part.save()


def _headcount(agency):
    line = _of(HeadcountLine, agency)
    line.change += 1
    line.save()


def _policy_item(agency):
    item = _of(PolicyGoalItem, agency)
    item.text = "改寫的重點"
    item.save()


def _deleted_indicator(agency):
    _of(Indicator, agency).delete()


def _deleted_goal(agency):
    # Its indicators go with it; the goal's own history row carries the agency.
    _of(StrategicGoal, agency).delete()


def _input(agency):
    row = _of(IndicatorInput, agency)
    row.label = "改寫"
    row.save()


def _unit(agency):
    unit = _of(Unit, agency)
    unit.name = "改名的組"
    unit.save()


def _name(agency):
    agency.name = "改名的署"
    agency.save()


def _lights(agency):
    AchievementPolicy.objects.create(agency=agency, year=2030, green_threshold=Decimal("90"))


def _policy(agency):
    policy = _of(AnnualPolicy, agency)
    policy.intro = "改寫的前言"
    policy.save()


def _budget(agency):
    budget = _of(HeadcountBudget, agency)
    budget.programme = "改名的計畫"
    budget.save()


SAVES = [
    _narrative,
    _figure,
    _target,
    _headcount,
    _policy_item,
    _deleted_indicator,
    _deleted_goal,
    _input,
    _unit,
    _name,
    _lights,
    _policy,
    _budget,
]


@pytest.mark.parametrize("save", SAVES, ids=lambda save: save.__name__.strip("_"))
def test_a_save_changes_the_key_of_its_agency_only(built, save):
    this, other = built.agencies
    year = built.last_year
    keys = {a.pk: export_key(a, "budget", year, 2, "xlsx") for a in (this, other)}
    save(this)
    assert export_key(other, "budget", year, 2, "xlsx") == keys[other.pk]
    this.refresh_from_db()
    assert export_key(this, "budget", year, 2, "xlsx") != keys[this.pk]


def test_a_milestone_changes_the_quarterly_key_of_its_agency_only(built):
    this, other = built.agencies
    year = built.last_year
    before = {a.pk: export_key(a, "quarterly", year, 1, "xlsx", [a.pk]) for a in (this, other)}
    Milestone.objects.create(part=_of(TargetPart, this), quarter=1, value=Decimal("5"))
    assert export_key(other, "quarterly", year, 1, "xlsx", [other.pk]) == before[other.pk]
    assert export_key(this, "quarterly", year, 1, "xlsx", [this.pk]) != before[this.pk]


def test_a_ministrys_quarterly_key_follows_the_agencies_it_covers(built):
    covered, uncovered = built.agencies
    ministry, year = built.ministry, built.last_year
    members = [ministry.pk, covered.pk]

    def key():
        return export_key(ministry, "quarterly", year, 1, "xlsx", members)

    first = key()
    _figure(uncovered)
    assert key() == first
    _figure(covered)
    second = key()
    assert second != first
    _name(ministry)  # the heading names the ministry
    assert key() != second


def test_a_row_moved_to_another_agency_makes_a_new_key_for_both(built):
    """The move's history row names the new parent only: the agency it left still printed it."""
    this, other = built.agencies
    year = built.last_year
    indicator = _of(Indicator, this)
    indicator.save()  # its history, as every write through the services leaves
    keys = {a.pk: export_key(a, "budget", year, 2, "xlsx") for a in (this, other)}
    indicator.goal, indicator.code = _of(StrategicGoal, other), "moved"
    indicator.save()
    assert export_key(this, "budget", year, 2, "xlsx") != keys[this.pk]
    assert export_key(other, "budget", year, 2, "xlsx") != keys[other.pk]


@pytest.mark.parametrize("size", [Size(1, 1, 1), Size(3, 3, 9)], ids=["small", "large"])
def test_the_key_takes_one_query_whatever_the_size(size):
    built = build(size, prefix=f"q{size.agencies}")
    members = [built.ministry.pk, *(a.pk for a in built.agencies)]
    _figure(built.agency)
    exports.template_version()  # read once per process, from files
    with CaptureQueriesContext(connection) as budget:
        export_key(built.agency, "budget", built.last_year, 2, "xlsx")
    with CaptureQueriesContext(connection) as quarterly:
        export_key(built.ministry, "quarterly", built.last_year, 1, "xlsx", members)
    assert (len(budget), len(quarterly)) == (1, 1)


def test_the_history_columns_the_key_reads_are_indexed():
    """Each subquery finds the agency's rows through the history table's parent column."""
    with connection.cursor() as cursor:
        for model in {*PRINTED_MODELS, *QUARTERLY_MODELS} - {Agency}:
            table = model.history.model._meta.db_table
            parent = exports._OWNER.get(model, "agency")
            column = model._meta.get_field(parent).column
            indexed = {
                tuple(c["columns"])
                for c in connection.introspection.get_constraints(cursor, table).values()
                if c["index"]
            }
            assert (column,) in indexed, table
            assert ("id",) in indexed, table


# --- the stored file, through the report's job ------------------------------------------------


def _renders(monkeypatch):
    count = []
    original = exports.xlsx_bytes

    def counted(report):
        count.append(report)
        return original(report)

    monkeypatch.setattr(exports, "xlsx_bytes", counted)
    return count


def test_a_save_in_another_agency_serves_the_stored_file_without_rendering(
    built, client, alice, monkeypatch
):
    this, other = built.agencies
    renders = _renders(monkeypatch)
    client.force_login(alice)
    url = f"/reports/{this.code}/budget/{built.last_year}/xlsx/?q=2"
    assert client.get(url).status_code == 302
    (job,) = run_queued_jobs()
    assert job.state == Job.State.DONE and len(renders) == 1
    _figure(other)
    _headcount(other)
    stored = client.get(url)
    assert stored.status_code == 200  # the file at once, no job
    assert len(renders) == 1 and Job.objects.count() == 1
    _figure(this)
    assert client.get(url).status_code == 302
    (second,) = run_queued_jobs()
    assert second.result != job.result and len(renders) == 2
