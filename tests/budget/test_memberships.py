"""Granting and withdrawing roles (budget.services.membership_create/delete): the rules of a
role's place, refusals that write nothing, and the history of who granted what and why."""

import pytest
from django.core.exceptions import ValidationError

from budget.models import Agency, Membership, Unit
from budget.services import membership_create, membership_delete, unit_delete
from kpitrack.core.versioning import ConcurrentEditError

pytestmark = pytest.mark.django_db
Role = Membership.Role


@pytest.fixture
def nia():
    return Agency.objects.get(code="nia")


@pytest.fixture
def unit(nia):
    return Unit.objects.get(agency=nia, code="international-affairs")


def _grant(alice, member, agency, role, unit=None, reason="依 102 年 1 月簽呈"):
    return membership_create(
        member=member, agency=agency, unit=unit, role=role, user=alice, reason=reason
    )


def test_a_grant_is_kept_in_the_history_with_who_and_why(alice, charlie, nia, unit):
    membership = _grant(alice, charlie, nia, Role.STAFF, unit)
    row = membership.history.get()
    assert (row.history_type, row.history_user, row.history_change_reason) == (
        "+",
        alice,
        "依 102 年 1 月簽呈",
    )
    assert (row.role, row.unit_id, row.user_id) == ("staff", unit.pk, charlie.pk)


def test_a_withdrawal_is_kept_in_the_history_with_who_and_why(alice, charlie, nia):
    membership = _grant(alice, charlie, nia, Role.PLANNER)
    pk = membership.pk
    membership_delete(
        membership=membership, expected_version=membership.version, user=alice, reason="調職"
    )
    assert not Membership.objects.filter(user=charlie).exists()
    last = Membership.history.filter(id=pk).order_by("-history_id").first()
    assert (last.history_type, last.history_user, last.history_change_reason) == (
        "-",
        alice,
        "調職",
    )


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_it_refuses_a_grant_without_a_reason(alice, charlie, nia, reason):
    with pytest.raises(ValidationError) as refused:
        _grant(alice, charlie, nia, Role.VIEWER, reason=reason)
    assert "reason" in refused.value.message_dict
    assert not Membership.history.exists()


@pytest.mark.parametrize("role", [Role.STAFF, Role.HEAD])
def test_it_refuses_a_unit_role_without_a_unit(alice, charlie, nia, role):
    with pytest.raises(ValidationError) as refused:
        _grant(alice, charlie, nia, role)
    assert "必須屬於一個單位" in refused.value.message_dict["unit"][0]
    assert not Membership.objects.exists()


@pytest.mark.parametrize("role", [Role.PLANNER, Role.DIRECTOR, Role.VIEWER, Role.ADMIN])
def test_it_refuses_an_agency_role_in_a_unit(alice, charlie, nia, unit, role):
    with pytest.raises(ValidationError) as refused:
        _grant(alice, charlie, nia, role, unit)
    assert "不可指定單位" in refused.value.message_dict["unit"][0]
    assert not Membership.objects.exists()


def test_it_refuses_a_unit_of_another_agency(alice, charlie, unit):
    moi = Agency.objects.get(code="moi")
    with pytest.raises(ValidationError) as refused:
        _grant(alice, charlie, moi, Role.STAFF, unit)
    assert refused.value.message_dict["unit"] == ["單位必須屬於同一機關。"]


def test_it_refuses_the_same_role_twice(alice, charlie, nia, unit):
    _grant(alice, charlie, nia, Role.STAFF, unit)
    _grant(alice, charlie, nia, Role.VIEWER)
    for role, in_unit in ((Role.STAFF, unit), (Role.VIEWER, None)):
        with pytest.raises(ValidationError) as refused:
            _grant(alice, charlie, nia, role, in_unit)
        assert "已有同一角色" in " ".join(refused.value.messages)
    assert Membership.objects.filter(user=charlie).count() == 2


def test_one_user_may_hold_several_roles(alice, charlie, nia, unit):
    _grant(alice, charlie, nia, Role.HEAD, unit)
    _grant(alice, charlie, nia, Role.PLANNER)
    assert set(Membership.objects.filter(user=charlie).values_list("role", flat=True)) == {
        "head",
        "planner",
    }


def test_it_refuses_a_stale_withdrawal(alice, charlie, nia):
    membership = _grant(alice, charlie, nia, Role.ADMIN)
    with pytest.raises(ConcurrentEditError):
        membership_delete(
            membership=membership,
            expected_version=membership.version + 1,
            user=alice,
            reason="調職",
        )
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_it_refuses_to_delete_a_unit_that_has_members(alice, charlie, nia):
    empty = Unit.objects.get(agency=nia, code="civil-service-ethics")
    _grant(alice, charlie, nia, Role.STAFF, empty)
    with pytest.raises(ValidationError) as refused:
        unit_delete(unit=empty, expected_version=empty.version, user=alice, reason="裁撤")
    assert "仍有成員" in refused.value.messages[0]
    assert Unit.objects.filter(pk=empty.pk).exists()


def test_the_agency_review_settings_have_their_defaults(nia):
    assert (nia.second_review, nia.entry_window_days, nia.review_days) == (True, 30, 10)
