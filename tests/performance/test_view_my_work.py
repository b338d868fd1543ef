"""My work: the quarter's indicators a person enters or reviews, with target, latest figures,
state and days left, counts by state; a fixed number of queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from performance.services import indicator_create, result_save_draft

from .cast import Role, member

pytestmark = pytest.mark.django_db


def _page(client, workflow, **params):
    query = {"year": workflow.year, "quarter": 1, **params}
    return client.get(reverse("my-work"), query)


def test_staff_sees_their_units_indicators_with_state_and_days_left(
    client, django_user_model, workflow, alice
):
    staff = member(django_user_model, workflow, Role.STAFF)
    result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("120")},
        narrative={},
        expected_version=None,
        user=alice,
    )
    client.force_login(staff)
    response = _page(client, workflow)
    assert response.status_code == 200
    page = response.content.decode()
    assert workflow.count.name in page and workflow.ratio.name in page
    assert workflow.elsewhere.name not in page  # another unit's
    assert reverse("result-entry", args=[workflow.count.pk, 1]) in page
    assert "辦理件數 120" in page
    assert "剩 10 天" in page
    assert "未填報：<strong>1</strong>" in page and "草稿：<strong>1</strong>" in page


def test_a_planner_sees_every_unit(client, django_user_model, workflow):
    planner = member(django_user_model, workflow, Role.PLANNER)
    client.force_login(planner)
    page = _page(client, workflow).content.decode()
    assert workflow.elsewhere.name in page
    assert "未填報：<strong>3</strong>" in page


def test_a_bad_year_or_quarter_is_answered_with_400(client, alice, workflow):
    client.force_login(alice)
    response = _page(client, workflow, quarter="9")
    assert response.status_code == 400
    assert "季別必須是 1 到 4 的整數" in response.content.decode()


def test_it_runs_the_same_queries_whatever_the_number_of_indicators(
    client, django_user_model, workflow, alice
):
    planner = member(django_user_model, workflow, Role.PLANNER)
    client.force_login(planner)
    result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("120")},
        narrative={},
        expected_version=None,
        user=alice,
    )

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert _page(client, workflow).status_code == 200
        return len(queries)

    before = count()
    for n in range(3):
        indicator_create(
            user=alice,
            goal=workflow.count.goal,
            code=f"more{n}",
            name=f"更多{n}",
            method="count",
            responsible_unit=workflow.unit,
            inputs=[{"key": "value", "label": "件數"}],
            parts=[{"key": "value", "label": "件數", "value": Decimal("5")}],
        )
    # session, user, memberships, the plan years; the indicators with goal, agency and unit,
    # their inputs, parts, results and figures; the quarter's periods and entry exceptions;
    # the header bell's unread notifications (issue 17)
    assert count() == before == 12
