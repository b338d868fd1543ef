"""Where each person lands after signing in: the page they work from.

One mapping, `LANDINGS`, says which page each role starts on, in priority order for someone
holding several roles (the first that applies wins). Staff and heads start on their unit's
current quarter, the reviewers on what waits for their review, viewers and administrators on
the dashboards, a superuser (or someone with no role) on the home page. Pages are named by URL
name, so a later page (the unit quarter page, the review queue) replaces one by changing its
entry here.
"""

from urllib.parse import urlencode

from django.urls import reverse

from budget.models import Membership, Unit

from . import permissions, selectors
from .models import Result

Role = Membership.Role

# The state each reviewer's list opens on: what waits for that reviewer.
WAITING_FOR = {Role.PLANNER: Result.State.SUBMITTED, Role.DIRECTOR: Result.State.FIRST_APPROVED}


def _unit_quarter(user, role) -> str:
    """我的工作 for the user's unit and the current quarter (the unit quarter page to come)."""
    unit = (
        Unit.objects.filter(pk__in=permissions.access(user).units(role))
        .order_by("agency__code", "code")
        .first()
    )
    query = {}
    current = selectors.current_quarter(agencies=[unit.agency_id])
    if current is not None:
        query.update(year=current[0], quarter=current[1])
    query["unit"] = unit.pk
    return f"{reverse('my-work')}?{urlencode(query)}"


def _review_queue(user, role) -> str:
    """我的工作 showing what waits for this reviewer (the review queue to come)."""
    query = {}
    current = selectors.current_quarter(agencies=permissions.access(user).agencies(role))
    if current is not None:
        query.update(year=current[0], quarter=current[1])
    query["state"] = WAITING_FOR[role]
    return f"{reverse('my-work')}?{urlencode(query)}"


def _dashboard(user, role) -> str:
    return reverse("dashboards:index")


# (role, where it lands), first match wins: the roles that work on results before those that
# read them.
LANDINGS = (
    (Role.HEAD, _unit_quarter),
    (Role.STAFF, _unit_quarter),
    (Role.PLANNER, _review_queue),
    (Role.DIRECTOR, _review_queue),
    (Role.ADMIN, _dashboard),
    (Role.VIEWER, _dashboard),
)


def landing_url_for(user) -> str:
    """The address `user` starts from after signing in (when no safe `next` says otherwise)."""
    if user.is_superuser:
        return reverse("home")
    mine = permissions.access(user)
    for role, landing in LANDINGS:
        if mine.units(role) if role in Membership.UNIT_ROLES else mine.agencies(role):
            return landing(user, role)
    return reverse("home")
