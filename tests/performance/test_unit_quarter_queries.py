"""The unit quarter page runs the same number of queries whatever the number of indicators:
counted exactly with the workflow's two indicators of the unit and with eight."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from performance.services import indicator_create

from .cast import Role, member

pytestmark = pytest.mark.django_db

# Measured, equal for two indicators and for eight. Session, user, the unit with its agency,
# memberships (4); the rows (selectors.unit_quarter): indicators with goal, agency and unit,
# inputs, parts, the quarter's results (4) and, once there are results, their figures and
# evidence (2); the indicators as the engine reads them (entry_indicators: rows, inputs and
# parts in one query, recorded figures, milestones, goals, policies: 6; 7 while the inputs and
# parts were two); the header bell's unread notifications (1).
GET_QUERIES = 15
GET_QUERIES_ENTERED = 17
# The rows bound to the typed values, then results_save_quarter (savepoint, the engine's rows,
# policies, locked results and their figures, the period, the inserts and their history in a
# few statements each whatever the number), a new version of the stored outcomes for the first
# drafts (1: the dashboards show a quarter entered); then the redirect; first drafts all, so no
# stored figures to read. (35 until reading the period took no savepoint and no insert of
# results took one for nothing; 33 until no figures were looked for with no result to have any;
# 32 while the rows and the save read the indicators' inputs and parts in two queries each.)
POST_QUERIES = 30


def _more(flow, alice, n):
    for i in range(n):
        indicator_create(
            user=alice,
            goal=flow.count.goal,
            code=f"extra{i}",
            name=f"額外指標{i}",
            method="count",
            responsible_unit=flow.unit,
            inputs=[{"key": "value", "label": "件數", "unit": "件"}],
            parts=[{"key": "value", "label": "件數", "value": Decimal("40")}],
        )


def _count(client, method, url, data=None):
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(url, data or {})
    return response, len(queries)


@pytest.mark.parametrize("extra", [0, 6], ids=["two", "eight"])
def test_the_page_and_its_save_do_not_grow(client, django_user_model, workflow, alice, extra):
    _more(workflow, alice, extra)
    client.force_login(member(django_user_model, workflow, Role.STAFF))
    url = reverse("unit-quarter", args=[workflow.agency.code, workflow.unit.code, workflow.year, 1])
    page, queries = _count(client, "get", url)
    assert page.status_code == 200
    assert queries == GET_QUERIES
    rows = page.context["rows"]
    data = {}
    for row in rows:
        for bound in row.form:
            data[bound.html_name] = bound.value() or ""
        data[f"{row.form.prefix}-f_value"] = "30"
        data[f"{row.form.prefix}-f_num"] = "1"
        data[f"{row.form.prefix}-f_den"] = "2"
    saved, queries = _count(client, "post", url, data)
    assert saved.status_code == 302
    assert queries == POST_QUERIES
    page, queries = _count(client, "get", url)
    assert len(page.context["rows"]) == 2 + extra
    assert all(row.result is not None for row in page.context["rows"])
    assert queries == GET_QUERIES_ENTERED


# Sending the quarter for 初核: a fixed part (session, user, the unit, the rows, the reviewers
# told and their notifications, written once for the batch) and each row's own transition
# (savepoint, lock, checks, version claim, save and its history row), which stays per row so
# each row keeps its own lock and refusal. (The stored outcomes' new version is one UPDATE.)
# (23 a row until reading the period took no savepoint; 39 fixed until the refresh read the
# rows' indicators alone rather than their agency's whole year and the next; 33 and 21 while
# entry read an indicator's inputs and parts in two queries.)
SUBMIT_FIXED = 32
SUBMIT_PER_ROW = 20


@pytest.mark.parametrize("extra", [0, 6], ids=["two", "eight"])
def test_sending_the_quarter_tells_the_reviewers_once_for_the_batch(
    client, django_user_model, workflow, alice, extra
):
    from performance.models import Notification, Result

    _more(workflow, alice, extra)
    head = member(django_user_model, workflow, Role.HEAD)
    reviewer = member(django_user_model, workflow, Role.PLANNER)
    client.force_login(head)
    url = reverse("unit-quarter", args=[workflow.agency.code, workflow.unit.code, workflow.year, 1])
    rows = client.get(url).context["rows"]
    data = {}
    for row in rows:
        for bound in row.form:
            data[bound.html_name] = bound.value() or ""
        data[f"{row.form.prefix}-f_value"] = "30"
        data[f"{row.form.prefix}-f_num"] = "1"
        data[f"{row.form.prefix}-f_den"] = "2"
    assert client.post(url, data).status_code == 302
    versions = {
        f"v{r.pk}": r.version
        for r in Result.objects.filter(indicator__responsible_unit=workflow.unit, quarter=1)
    }
    sent, queries = _count(
        client,
        "post",
        reverse(
            "unit-quarter-submit", args=[workflow.agency.code, workflow.unit.code, workflow.year, 1]
        ),
        versions,
    )
    assert sent.status_code == 302
    # Every count indicator is sent; the ratio (1 of 2, behind its target without the reason
    # why) is refused by name and stays a draft.
    submitted = Result.objects.filter(state="submitted", indicator__responsible_unit=workflow.unit)
    assert submitted.count() == len(versions) - 1 == 1 + extra
    told = Notification.objects.filter(recipient=reviewer)
    assert sorted(told.values_list("result_id", flat=True)) == sorted(
        submitted.values_list("pk", flat=True)
    )
    assert queries == SUBMIT_FIXED + SUBMIT_PER_ROW * len(versions)
