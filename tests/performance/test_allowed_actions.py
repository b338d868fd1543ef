"""The result workflow read once: `permissions.allowed_actions` for every role and state, the
services agreeing with it under the row lock, and `access_*` answering 404 for what does not
exist and 403 for what is not the user's."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from performance import permissions, services
from performance.models import Evidence, Result

pytestmark = pytest.mark.django_db

S = Result.State
STATES = (None, S.DRAFT, S.RETURNED, S.SUBMITTED, S.FIRST_APPROVED, S.APPROVED, S.LOCKED)

# What each role may do to its unit's indicator's result in each state (None: not entered yet),
# written out by hand rather than derived from Result.TRANSITIONS, so a change to the table
# shows here. "view" is everyone's in the agency (and the parent agency's viewer's).
_WRITER = {"view", "edit"}
_REVIEW_1 = {"view", "first_approve", "first_return"}
_REVIEW_2 = {"view", "final_approve", "final_return"}
EXPECTED = {
    "anonymous": dict.fromkeys(STATES, set()),
    "outsider": dict.fromkeys(STATES, set()),
    "staff": {None: _WRITER, S.DRAFT: _WRITER, S.RETURNED: _WRITER}
    | dict.fromkeys((S.SUBMITTED, S.FIRST_APPROVED, S.APPROVED, S.LOCKED), {"view"}),
    "head": dict.fromkeys((None, S.DRAFT, S.RETURNED), _WRITER | {"submit"})
    | dict.fromkeys((S.SUBMITTED, S.FIRST_APPROVED, S.APPROVED, S.LOCKED), {"view"}),
    "planner": dict.fromkeys(STATES, {"view"}) | {S.SUBMITTED: _REVIEW_1},
    "director": dict.fromkeys(STATES, {"view"}) | {S.FIRST_APPROVED: _REVIEW_2},
    "viewer": dict.fromkeys(STATES, {"view"}),
    "admin": dict.fromkeys((None, S.DRAFT, S.RETURNED), _WRITER | {"submit"})
    | {S.SUBMITTED: _REVIEW_1, S.FIRST_APPROVED: _REVIEW_2}
    | dict.fromkeys((S.APPROVED, S.LOCKED), {"view", "reopen"}),
}
EXPECTED["superuser"] = EXPECTED["admin"]


@pytest.mark.parametrize("role", list(EXPECTED))
def test_allowed_actions_for_each_role_and_state(cast, role):
    user = AnonymousUser() if role == "anonymous" else cast[role]
    got = {
        state: set(
            permissions.allowed_actions(
                user, None if state is None else Result(state=state), cast.indicator
            )
        )
        for state in STATES
    }
    assert got == EXPECTED[role]


def test_another_units_staff_only_views(cast):
    staff, head = cast["staff"], cast["head"]
    for state in STATES:
        result = None if state is None else Result(state=state)
        assert permissions.allowed_actions(staff, result, cast.other_indicator) == {"view"}
        assert permissions.allowed_actions(head, result, cast.other_indicator) == {"view"}


def test_the_state_groups_cover_every_state_once():
    groups = (Result.EDITABLE, Result.UNDER_REVIEW, Result.FROZEN)
    assert sorted(s for group in groups for s in group) == sorted(S.values)
    # A right misspelt in the table would quietly refuse everybody.
    assert {move.right for move in Result.TRANSITIONS.values()} <= set(permissions.RIGHTS)


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


def test_access_indicator_is_404_when_absent_and_403_when_not_theirs(cast, django_user_model):
    outsider = cast["outsider"]
    assert permissions.access_indicator(cast["staff"], cast.indicator.pk) == cast.indicator
    assert permissions.access_indicator(cast["viewer"], cast.indicator.pk) == cast.indicator
    with pytest.raises(Http404):
        permissions.access_indicator(cast["staff"], 10**9)
    with pytest.raises(PermissionDenied):
        permissions.access_indicator(outsider, cast.indicator.pk)
    # A right the user lacks on an indicator they see is 403 too.
    with pytest.raises(PermissionDenied):
        permissions.access_indicator(cast["staff"], cast.other_indicator.pk, to=permissions.ENTER)
    with pytest.raises(PermissionDenied):
        permissions.access_indicator(cast["viewer"], cast.indicator.pk, to=permissions.ENTER)
    assert permissions.access_indicator(cast["staff"], cast.indicator.pk, to=permissions.ENTER)
    # Any one of several rights will do.
    both = (permissions.FIRST_REVIEW, permissions.FINAL_REVIEW)
    assert permissions.access_indicator(cast["director"], cast.indicator.pk, to=both)
    with pytest.raises(PermissionDenied):
        permissions.access_indicator(cast["staff"], cast.indicator.pk, to=both)


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

# The entry page offers every action but reopening (an administrator's, from the admin) and
# viewing (the page itself).
NOT_ON_THE_PAGE = {"view", "reopen"}


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
