"""`make run`'s demo cast: one user per role, FY2013 indicators with units, quarters open."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from budget.models import Membership
from performance import permissions
from performance.models import EntryException, Indicator

pytestmark = pytest.mark.django_db


def test_it_creates_one_user_per_role_who_can_walk_the_flow(client):
    call_command("ensure_demo_users", stdout=StringIO())
    call_command("ensure_demo_users", stdout=StringIO())  # idempotent
    users = {u.username: u for u in get_user_model().objects.all()}
    assert users["demo"].is_superuser
    roles = dict(Membership.objects.values_list("user__username", "role"))
    assert roles == {
        "staff": "staff",
        "head": "head",
        "planner": "planner",
        "director": "director",
        "viewer": "viewer",
    }
    fy2013 = Indicator.objects.filter(goal__agency__code="nia", goal__year=2013)
    assert not fy2013.filter(responsible_unit__isnull=True).exists()
    staff_work = permissions.indicators_for_user(users["staff"], year=2013)
    assert staff_work.count() == 2
    assert permissions.indicators_for_user(users["planner"], year=2013).count() == fy2013.count()
    assert {a.code for a in permissions.agencies_for_user(users["viewer"])} == {"moi", "nia"}
    units = set(fy2013.values_list("responsible_unit", flat=True))
    assert EntryException.objects.filter(year=2013).count() == 4 * len(units)
    # Through the sign-in page (the throttling backend needs the request): every demo user.
    for username in ("demo", "staff", "head", "planner", "director", "viewer"):
        client.logout()
        response = client.post(
            "/accounts/login/", {"username": username, "password": "kpitrack-demo"}
        )
        assert response.status_code == 302, username
        assert client.session["_auth_user_id"] == str(users[username].pk)
