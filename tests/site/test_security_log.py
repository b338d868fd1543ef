"""Security events (logger "kpitrack.security", kpitrack.core.logs.security_event): each is one
record with `event`, `user` (who acted), `address`, and its own facts as fields."""

import logging

import pytest
from django.db import transaction

from budget.models import Agency, Membership, Unit
from budget.services import membership_create, membership_delete

pytestmark = pytest.mark.django_db


@pytest.fixture
def security(caplog):
    """The security events logged during the test, as a function returning them."""
    caplog.set_level(logging.INFO, logger="kpitrack.security")

    def events(name=None):
        return [
            r
            for r in caplog.records
            if r.name == "kpitrack.security" and (name is None or r.event == name)
        ]

    return events


def test_a_failed_sign_in_names_the_username_and_address_never_the_password(client, bob, security):
    response = client.post(
        "/accounts/login/",
        {"username": "bob", "password": "not-bobs-secret"},
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 200
    [record] = security("login_failed")
    assert record.levelno == logging.WARNING
    assert (record.username, record.user, record.address) == ("bob", "-", "10.1.2.3")
    assert "not-bobs-secret" not in record.getMessage()
    assert "not-bobs-secret" not in repr(vars(record))


def test_a_username_cannot_forge_a_log_line(client, security):
    client.post("/accounts/login/", {"username": "x\nINFO forged", "password": "p"})
    [record] = security("login_failed")
    assert "\n" not in record.getMessage()


def test_signing_in_and_out_are_recorded(client, bob, security):
    client.post("/accounts/login/", {"username": "bob", "password": "bob-password"})
    client.post("/accounts/logout/")
    [signed_in] = security("login")
    [signed_out] = security("logout")
    assert (signed_in.user, signed_in.address) == ("bob", "127.0.0.1")
    assert (signed_out.user, signed_out.address) == ("bob", "127.0.0.1")


@pytest.mark.parametrize(
    "url",
    [
        "/dashboards/moi/",  # a page: PermissionDenied, answered by Django's 403 handler
        "/api/v1/dashboards/moi/",  # the API: its own JSON 403
    ],
)
def test_a_refusal_is_recorded_with_user_method_and_path(client, bob, security, url):
    client.force_login(bob)
    response = client.get(url)
    assert response.status_code == 403
    [record] = security("permission_denied")
    assert record.levelno == logging.WARNING
    assert (record.user, record.method, record.path, record.address) == (
        "bob",
        "GET",
        url,
        "127.0.0.1",
    )


def test_a_csrf_refusal_is_recorded_too(bob, security):
    from django.test import Client

    Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "bob"})
    [record] = security("permission_denied")
    assert (record.user, record.method, record.path) == ("-", "POST", "/accounts/login/")


def test_an_answer_that_is_not_a_refusal_records_nothing(client, bob, security):
    client.force_login(bob)
    assert client.get("/dashboards/nia/").status_code == 200
    assert client.get("/no-such-page/").status_code == 404
    assert security("permission_denied") == []


def test_a_password_changed_on_the_password_page_is_recorded(client, bob, security):
    client.force_login(bob)
    new = "a-new-and-long-passphrase-42"
    response = client.post(
        "/accounts/password/",
        {"old_password": "bob-password", "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    [record] = security("password_changed")
    assert (record.user, record.target, record.address) == ("bob", "bob", "127.0.0.1")
    assert new not in repr(vars(record))


def test_a_refused_password_change_records_no_change(client, bob, security):
    client.force_login(bob)
    client.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": "x-long-enough-1", "new_password2": "x"},
    )
    assert security("password_changed") == []


def test_a_password_set_by_an_administrator_in_the_admin_is_recorded(client, alice, bob, security):
    client.force_login(alice)
    new = "set-by-the-administrator-77"
    response = client.post(
        f"/admin/auth/user/{bob.pk}/password/",
        {"password1": new, "password2": new, "usable_password": "true"},
    )
    assert response.status_code == 302
    [record] = security("password_changed")
    assert (record.user, record.target) == ("alice", "bob")


def test_a_password_set_outside_a_request_is_recorded_without_a_user(bob, security):
    # manage.py changepassword, a script: no request, so no one signed in.
    bob.set_password("from-the-command-line-3")
    bob.save()
    [record] = security("password_changed")
    assert (record.user, record.target, record.address) == ("-", "bob", "-")


@pytest.fixture
def nia():
    return Agency.objects.get(code="nia")


def test_a_role_grant_and_withdrawal_are_recorded_when_they_commit(
    alice, charlie, nia, security, django_capture_on_commit_callbacks
):
    unit = Unit.objects.get(agency=nia, code="international-affairs")
    with django_capture_on_commit_callbacks(execute=True):
        membership = membership_create(
            member=charlie,
            agency=nia,
            unit=unit,
            role=Membership.Role.STAFF,
            user=alice,
            reason="依派令",
        )
    [granted] = security("role_granted")
    assert (granted.user, granted.target, granted.role, granted.agency, granted.unit) == (
        "alice",
        "charlie",
        "staff",
        "nia",
        "international-affairs",
    )
    assert granted.reason == "依派令"
    with django_capture_on_commit_callbacks(execute=True):
        membership_delete(
            membership=membership, expected_version=membership.version, user=alice, reason="調職"
        )
    [withdrawn] = security("role_withdrawn")
    assert (withdrawn.user, withdrawn.target, withdrawn.role, withdrawn.reason) == (
        "alice",
        "charlie",
        "staff",
        "調職",
    )


def test_a_grant_that_rolls_back_is_not_recorded(
    alice, charlie, nia, security, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                membership_create(
                    member=charlie,
                    agency=nia,
                    role=Membership.Role.VIEWER,
                    user=alice,
                    reason="依派令",
                )
                raise RuntimeError("the admin's save failed after the grant")
        except RuntimeError:
            pass
    assert security("role_granted") == []
    assert not Membership.objects.filter(user=charlie).exists()
