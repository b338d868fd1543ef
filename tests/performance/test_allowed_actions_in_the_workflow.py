"""The result workflow read once, through a real quarter: the services agree with
`permissions.allowed_actions` under the row lock, the entry page offers exactly what it allows,
and `access_result`/`access_evidence` answer 404 for what does not exist and 403 for what is not
the user's. (Apart from tests/performance/test_allowed_actions.py, whose module shares the cast's
rows: the workflow's people have the same usernames.)"""

import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from performance import permissions, services
from performance.models import Evidence, Result
from tests.performance.test_allowed_actions import STATES

S = Result.State

pytestmark = pytest.mark.django_db


# --- the services say what allowed_actions says ----------------------------------------------


def _result_in(workflow, alice, state) -> Result:
    result = services.result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("120")},
        narrative={"progress": "辦理完成"},
        expected_version=None,
        user=alice,
    )
    Result.objects.filter(pk=result.pk).update(state=state)
    return Result.objects.get(pk=result.pk)


SERVICES = {
    "submit": lambda r, u: services.result_submit(result=r, expected_version=r.version, user=u),
    "first_approve": lambda r, u: services.result_first_approve(
        result=r, expected_version=r.version, user=u
    ),
    "final_approve": lambda r, u: services.result_final_approve(
        result=r, expected_version=r.version, user=u
    ),
    "return": lambda r, u: services.result_return(
        result=r, expected_version=r.version, user=u, comment="請修正"
    ),
    "reopen": lambda r, u: services.result_reopen(
        result=r, expected_version=r.version, user=u, reason="更正"
    ),
}


@pytest.mark.parametrize("state", [s for s in STATES if s is not None])
def test_each_service_accepts_exactly_what_allowed_actions_offers(workflow, alice, people, state):
    for name, user in people.items():
        for service, call in SERVICES.items():
            result = _result_in(workflow, alice, state)
            actions = permissions.allowed_actions(user, result, workflow.count)
            offered = (
                bool(actions & {"first_return", "final_return"})
                if service == "return"
                else service in actions
            )
            try:
                call(result, user)
            except (PermissionDenied, services.ResultLocked):
                accepted = False
            else:
                accepted = True
            assert accepted == offered, (name, service, state)
            Result.objects.filter(pk=result.pk).delete()


# --- fetch, then check -----------------------------------------------------------------------


def test_access_result_is_404_for_a_missing_indicator_quarter_or_result(workflow, people):
    staff, outsider = people["staff"], people["other_staff"]
    indicator = workflow.count
    with pytest.raises(Http404):
        permissions.access_result(staff, 10**9, 1, entered=False)
    with pytest.raises(Http404):
        permissions.access_result(staff, indicator.pk, 5, entered=False)
    # Not entered yet: None when that is fine, 404 when a result is needed — even for a user
    # who may not touch it, since nothing is there.
    assert permissions.access_result(staff, indicator.pk, 1, entered=False) == (indicator, None)
    with pytest.raises(Http404):
        permissions.access_result(staff, indicator.pk, 1)
    with pytest.raises(Http404):
        permissions.access_result(outsider, indicator.pk, 1, to=permissions.ENTER)


def test_access_result_is_403_for_what_is_not_the_users(workflow, alice, people, django_user_model):
    result = _result_in(workflow, alice, S.DRAFT)
    indicator = workflow.count
    nobody = django_user_model.objects.create_user("nobody")
    with pytest.raises(PermissionDenied):
        permissions.access_result(nobody, indicator.pk, 1)
    with pytest.raises(PermissionDenied):
        permissions.access_result(people["other_staff"], indicator.pk, 1, to=permissions.ENTER)
    found, got = permissions.access_result(people["staff"], indicator.pk, 1, to=permissions.ENTER)
    assert (found, got) == (indicator, result)


def test_access_evidence_is_404_when_absent_and_403_when_not_theirs(
    workflow, alice, people, django_user_model
):
    result = _result_in(workflow, alice, S.DRAFT)
    evidence = Evidence.objects.create(
        result=result, file="evidence/x.pdf", original_name="x.pdf", size=1, uploaded_by=alice
    )
    assert permissions.access_evidence(people["planner"], evidence.pk) == evidence
    with pytest.raises(Http404):
        permissions.access_evidence(people["planner"], 10**9)
    with pytest.raises(PermissionDenied):
        permissions.access_evidence(django_user_model.objects.create_user("nobody"), evidence.pk)


# --- the page offers what allowed_actions offers -----------------------------------------------

# The entry page offers every action but viewing (the page itself); reopening is a link to the
# administrator's reopening screen (/manage/…/reopen/), where the reason is asked.
NOT_ON_THE_PAGE = {"view"}


def _offered(response) -> set[str]:
    return set(re.findall(r'data-action="([a-z_]+)"', response.content.decode()))


@pytest.mark.parametrize("state", STATES)
def test_the_entry_pages_buttons_are_the_allowed_actions(client, workflow, alice, people, state):
    result = None if state is None else _result_in(workflow, alice, state)
    url = reverse("result-entry", args=[workflow.count.pk, 1])
    for name, user in people.items():
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, name
        expected = permissions.allowed_actions(user, result, workflow.count) - NOT_ON_THE_PAGE
        assert _offered(response) == expected, (name, state)
