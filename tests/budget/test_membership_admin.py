"""Roles granted and withdrawn in the admin, through the services."""

import pytest

from budget.models import Agency, Membership, Unit

pytestmark = pytest.mark.django_db


def test_a_role_granted_in_the_admin_carries_its_reason(client, alice, charlie):
    nia = Agency.objects.get(code="nia")
    unit = Unit.objects.get(agency=nia, code="personnel")
    client.force_login(alice)
    data = {"user": charlie.pk, "agency": nia.pk, "unit": unit.pk, "role": "staff"}
    refused = client.post("/admin/budget/membership/add/", {**data, "change_reason": ""})
    assert refused.status_code == 200 and not Membership.objects.exists()
    response = client.post("/admin/budget/membership/add/", {**data, "change_reason": "派令"})
    assert response.status_code == 302
    row = Membership.history.get()
    assert (row.history_user, row.history_change_reason, row.role) == (alice, "派令", "staff")


def test_the_admin_answers_a_misplaced_role_next_to_the_unit(client, alice, charlie):
    nia = Agency.objects.get(code="nia")
    client.force_login(alice)
    data = {"user": charlie.pk, "agency": nia.pk, "unit": "", "role": "head"}
    response = client.post("/admin/budget/membership/add/", {**data, "change_reason": "派令"})
    assert response.status_code == 200
    assert "必須屬於一個單位" in response.content.decode()
    assert not Membership.objects.exists()


def test_a_role_is_withdrawn_in_the_admin_with_a_reason(client, alice, charlie):
    from budget.services import membership_create

    nia = Agency.objects.get(code="nia")
    membership = membership_create(
        member=charlie, agency=nia, role="viewer", user=alice, reason="派令"
    )
    client.force_login(alice)
    url = f"/admin/budget/membership/{membership.pk}/delete/"
    data = {"post": "yes", "loaded_version": membership.version}
    client.post(url, {**data, "change_reason": ""})
    assert Membership.objects.filter(pk=membership.pk).exists()
    client.post(url, {**data, "change_reason": "離職"})
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert Membership.history.latest("history_id").history_change_reason == "離職"
