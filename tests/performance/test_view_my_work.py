"""My work: the quarter's indicators a person enters or reviews, with target, latest figures,
state and days left, counts by state; a fixed number of queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from performance.models import Indicator
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
    # session, user, memberships, the plan years; the indicators with agency and unit, their
    # inputs and parts (one query, a UNION ALL), results with their figures (one query: issue
    # 16's load); the quarter's periods and entry exceptions (one query, a UNION ALL) (8);
    # the judgement of the quarters entered against their milestones, from the rows read above
    # (分季目標, policies: 2; 7 while it read the indicators again as entry reads them); the
    # units the filter offers (1: read once, as rows, to list them and to clean the one chosen;
    # Django's own choices read them again, until forms._ReadOnceChoices); the header bell's
    # unread notifications (1)
    assert count() == before == 12
    for indicator in Indicator.objects.filter(code__startswith="more"):
        result_save_draft(
            indicator=indicator,
            quarter=1,
            figures={"value": Decimal("1")},
            narrative={},
            expected_version=None,
            user=alice,
        )
    assert count() == 12


# --- filters (issue 17): by unit and by state; each count links to its own list ---------------


def test_it_filters_by_unit(client, workflow):
    client.force_login(_planner(workflow))
    page = _page(client, workflow, unit=workflow.other_unit.pk).content.decode()
    assert workflow.elsewhere.name in page
    assert workflow.count.name not in page and workflow.ratio.name not in page


def test_it_filters_by_state_and_counts_every_state_still(client, workflow, alice):
    _draft(workflow, alice)
    client.force_login(_planner(workflow))
    response = _page(client, workflow, state="draft")
    page = response.content.decode()
    assert workflow.count.name in page
    assert workflow.ratio.name not in page and workflow.elsewhere.name not in page
    counts = {c.state: c.count for c in response.context["work"].counts}
    assert counts["draft"] == 1 and counts["none"] == 2


def test_not_entered_is_a_state_to_filter_by(client, workflow, alice):
    _draft(workflow, alice)
    client.force_login(_planner(workflow))
    page = _page(client, workflow, state="none").content.decode()
    assert workflow.count.name not in page
    assert workflow.ratio.name in page and workflow.elsewhere.name in page


def test_each_count_links_to_its_filtered_list(client, workflow, alice):
    _draft(workflow, alice)
    client.force_login(_planner(workflow))
    response = _page(client, workflow, unit=workflow.unit.pk)
    page = response.content.decode()
    links = dict((count.state, link) for count, link in response.context["count_links"])
    draft = links["draft"]
    assert f'href="{draft.replace("&", "&amp;")}"' in page
    assert "unit=" + str(workflow.unit.pk) in draft and "state=draft" in draft
    assert f"year={workflow.year}" in draft and "quarter=1" in draft
    followed = client.get(reverse("my-work") + draft).content.decode()
    assert workflow.count.name in followed and workflow.ratio.name not in followed


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"state": "done"}, "狀態「done」不存在"),
        ({"unit": "999999"}, "找不到這個單位，或您不能查看它"),
        ({"unit": "abc"}, "找不到這個單位，或您不能查看它"),
    ],
)
def test_a_bad_filter_is_answered_with_400_and_a_message(client, workflow, params, message):
    client.force_login(_planner(workflow))
    response = _page(client, workflow, **params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_unit_of_an_agency_the_user_cannot_see_is_refused(client, workflow, django_user_model):
    from budget.models import Agency, Unit
    from budget.services import agency_create

    other = agency_create(code="far-away", name="遠方機關", user=None)
    far_unit = Unit.objects.create(agency=Agency.objects.get(pk=other.pk), code="far", name="遠")
    client.force_login(_planner(workflow))
    response = _page(client, workflow, unit=far_unit.pk)
    assert response.status_code == 400


def test_a_unit_filter_reads_no_unit_again(client, workflow):
    """The unit chosen is one of the rows the filter lists (ModelChoiceField read it again, one
    query more than the page without a filter)."""
    client.force_login(_planner(workflow))
    counted = []
    for params in ({}, {"unit": workflow.other_unit.pk}):
        with CaptureQueriesContext(connection) as queries:
            assert _page(client, workflow, **params).status_code == 200
        counted.append(len(queries))
    # Nothing entered: no judgement to read (the 12 above less 2).
    assert counted == [10, 10]


@pytest.mark.parametrize(("spelled", "found"), [("0{}", True), (" {} ", True), ("{}.0", False)])
def test_a_units_id_is_read_as_the_database_reads_it(client, workflow, spelled, found):
    """As ModelChoiceField answered (the id as an integer column reads it): the same page for
    "07" as for "7"; "7.0" is no unit."""
    client.force_login(_planner(workflow))
    response = _page(client, workflow, unit=spelled.format(workflow.other_unit.pk))
    assert response.status_code == (200 if found else 400)
    if found:
        page = response.content.decode()
        assert workflow.elsewhere.name in page and workflow.count.name not in page


def test_the_filters_have_labels(client, workflow):
    client.force_login(_planner(workflow))
    page = _page(client, workflow).content.decode()
    assert '<label for="id_unit">' in page and 'id="id_unit"' in page
    assert '<label for="id_state">' in page and 'id="id_state"' in page


def _planner(workflow):
    from django.contrib.auth import get_user_model

    return member(get_user_model(), workflow, Role.PLANNER, name="filter-planner")


def _draft(workflow, user):
    result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("120")},
        narrative={},
        expected_version=None,
        user=user,
    )


def test_it_links_to_the_units_workbook_for_the_quarter(client, workflow):
    client.force_login(_planner(workflow))
    response = _page(client, workflow, unit=workflow.unit.pk)
    link = response.context["workbook_link"]
    assert link.startswith(reverse("workbook") + "?")
    assert f"scope={workflow.agency.code}%7C{workflow.unit.code}" in link
    assert f"year={workflow.year}" in link and "quarter=1" in link
    assert f'href="{link.replace("&", "&amp;")}"' in response.content.decode()
    page = client.get(link)
    assert page.status_code == 200 and reverse("workbook-download") in page.content.decode()


@pytest.mark.parametrize("quarter", [1, 2])  # the demo enters Q1 and Q2
def test_its_judgements_are_the_quarter_judgements_entry_reads(django_user_model, quarter):
    """My work judges the quarters entered from the rows it read (results up to the quarter):
    the same judgements as `quarter_judgements`, which reads every quarter again, for every
    method the demo makes (growth and formulas reading last year's among them)."""
    from django.core.management import call_command

    from performance.selectors import my_work, quarter_judgements

    call_command("generate_demo", agencies=1, indicators=20, years=2, last_year=2042, prefix="mw")
    user = django_user_model.objects.create_superuser("mw-admin")
    work = my_work(user=user, year=2042, quarter=quarter)
    judged = {row.indicator.pk: row.judgement for row in work.rows if row.judgement is not None}
    entered = [row.indicator.pk for row in work.rows if row.result is not None]
    assert entered and sorted(judged) == sorted(entered)
    assert {"growth", "formula"} <= {row.indicator.method for row in work.rows}
    assert judged == quarter_judgements(ids=entered, quarter=quarter)
