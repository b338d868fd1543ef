"""The result workflow read once: `permissions.allowed_actions` for every role and state, the
services agreeing with it under the row lock, and `access_*` answering 404 for what does not
exist and 403 for what is not the user's."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from performance import permissions
from performance.models import Result

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
