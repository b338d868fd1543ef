"""A small agency for the quarterly workflow: one unit, two indicators of this year (a count
with target 100 and a ratio with target 90 %), and the quarter's entry window open today.

Its rows are written once per test module and read afresh for each test (`workflow`). A module
of transactional tests, which commit, defines its own `workflow` that calls build_workflow."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from budget.models import Agency, Membership, Unit
from budget.services import agency_create, membership_create, unit_create
from performance.models import Indicator, ReportingPeriod
from performance.services import (
    indicator_create,
    period_get_or_create,
    period_update,
    strategic_goal_create,
)


@dataclass
class Workflow:
    agency: Agency
    unit: Unit
    other_unit: Unit
    year: int
    quarter: int
    count: Indicator
    ratio: Indicator
    elsewhere: Indicator  # of the other unit

    def period(self) -> ReportingPeriod:
        return period_get_or_create(agency=self.agency, year=self.year, quarter=self.quarter)

    def set_window(self, user, *, opens_in: int, closes_in: int) -> ReportingPeriod:
        """The window from today + `opens_in` to today + `closes_in` days."""
        today = timezone.localdate()
        period = self.period()
        closes_on = today + timedelta(days=closes_in)
        return period_update(
            period=period,
            expected_version=period.version,
            user=user,
            reason="測試用填報期間",
            opens_on=today + timedelta(days=opens_in),
            closes_on=closes_on,
            first_review_due=closes_on + timedelta(days=10),
            final_review_due=closes_on + timedelta(days=20),
        )

    def add_unit(self, user, *, code: str, name: str) -> Indicator:
        """A new unit of the agency, and a count indicator of this year's goal (code `code`,
        named 指標<code>) that it is responsible for."""
        unit = unit_create(agency=self.agency, user=user, code=code, name=name)
        return indicator_create(
            user=user,
            goal=self.count.goal,
            code=code,
            name=f"指標{code}",
            method="count",
            responsible_unit=unit,
            inputs=[{"key": "value", "label": "件數"}],
            parts=[{"key": "value", "label": "件數", "value": Decimal("10")}],
        )

    def ids(self) -> dict:
        """What read_workflow() needs to read this workflow again."""
        return {
            "agency": self.agency.pk,
            "unit": self.unit.pk,
            "other_unit": self.other_unit.pk,
            "year": self.year,
            "quarter": self.quarter,
            "count": self.count.pk,
            "ratio": self.ratio.pk,
            "elsewhere": self.elsewhere.pk,
        }


def read_workflow(ids: dict) -> Workflow:
    """A workflow built earlier (build_workflow), read afresh: new objects for each test."""
    agency = Agency.objects.get(pk=ids["agency"])
    units = Unit.objects.in_bulk([ids["unit"], ids["other_unit"]])
    for unit in units.values():
        unit.agency = agency
    # As indicator_create hands them back: goal (with its agency) and unit at hand.
    indicators = Indicator.objects.select_related("goal").in_bulk(
        [ids["count"], ids["ratio"], ids["elsewhere"]]
    )
    for indicator in indicators.values():
        indicator.goal.agency = agency
        indicator.responsible_unit = units[indicator.responsible_unit_id]
    return Workflow(
        agency=agency,
        unit=units[ids["unit"]],
        other_unit=units[ids["other_unit"]],
        year=ids["year"],
        quarter=ids["quarter"],
        count=indicators[ids["count"]],
        ratio=indicators[ids["ratio"]],
        elsewhere=indicators[ids["elsewhere"]],
    )


def build_workflow(alice) -> Workflow:
    agency = agency_create(user=alice, code="wf", name="流程測試署")
    unit = unit_create(agency=agency, user=alice, code="ops", name="業務組")
    other = unit_create(agency=agency, user=alice, code="admin", name="秘書室")
    year = timezone.localdate().year
    goal = strategic_goal_create(user=alice, agency=agency, year=year, code="g1", title="目標")

    def indicator(code, method, inputs, parts, unit):
        return indicator_create(
            user=alice,
            goal=goal,
            code=code,
            name=f"指標{code}",
            method=method,
            responsible_unit=unit,
            inputs=inputs,
            parts=parts,
        )

    count = indicator(
        "count",
        "count",
        [{"key": "value", "label": "辦理件數", "unit": "件"}],
        [{"key": "value", "label": "件數", "value": Decimal("100")}],
        unit,
    )
    ratio = indicator(
        "ratio",
        "ratio",
        [
            {"key": "num", "label": "查獲件數", "order": 1},
            {"key": "den", "label": "受理件數", "order": 2},
        ],
        [{"key": "rate", "label": "查獲率", "value": Decimal("90")}],
        unit,
    )
    elsewhere = indicator(
        "other",
        "count",
        [{"key": "value", "label": "件數"}],
        [{"key": "value", "label": "件數", "value": Decimal("10")}],
        other,
    )
    flow = Workflow(agency, unit, other, year, 1, count, ratio, elsewhere)
    flow.set_window(alice, opens_in=-1, closes_in=10)
    return flow


@pytest.fixture(scope="module")
def _workflow_rows(django_db_setup, django_db_blocker):
    """The workflow's rows, written once per test module (tests/conftest.py rows_for_the_module):
    about 80 queries, which each of some 190 tests used to pay."""
    from tests.conftest import make_alice, rows_for_the_module, run_commit_work_now

    with rows_for_the_module(django_db_blocker):
        ids = build_workflow(make_alice()).ids()
        run_commit_work_now()
        yield ids


@pytest.fixture
def workflow(_workflow_rows, alice) -> Workflow:
    return read_workflow(_workflow_rows)


@pytest.fixture
def people(workflow, alice, django_user_model) -> dict:
    """One user per workflow role in the workflow's agency (staff and head in its unit), and a
    staff member of the other unit."""
    Role = Membership.Role
    grants = {
        "staff": (Role.STAFF, workflow.unit),
        "head": (Role.HEAD, workflow.unit),
        "planner": (Role.PLANNER, None),
        "director": (Role.DIRECTOR, None),
        "admin": (Role.ADMIN, None),
        "other_staff": (Role.STAFF, workflow.other_unit),
    }
    users = {}
    for name, (role, unit) in grants.items():
        user = django_user_model.objects.create_user(name, f"{name}@example.org")
        membership_create(
            member=user, agency=workflow.agency, unit=unit, role=role, user=alice, reason="測試"
        )
        users[name] = user
    return users
