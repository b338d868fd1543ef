"""Where each person lands after signing in: the page they work from.

One mapping, `LANDINGS`, says which page each role starts on, in priority order for someone
holding several roles (the first that applies wins). Staff and heads start on their unit's
current quarter, the reviewers on what waits for their review, viewers and administrators on
the dashboards, a superuser (or someone with no role) on the home page. Pages are named by URL
name, so moving a role's start page is a change to its entry here.
"""

from urllib.parse import urlencode

from django.urls import reverse

from budget.models import Membership, Unit

from . import permissions, selectors

Role = Membership.Role


def _unit_quarter(user, role) -> str:
    """The unit quarter page of the user's unit and its agency's current quarter; 我的工作 for
    that unit while no quarter of the agency has opened (there is no quarter to show yet)."""
    unit = (
        Unit.objects.select_related("agency")
        .filter(pk__in=permissions.access(user).units(role))
        .order_by("agency__code", "code")
        .first()
    )
    current = selectors.current_quarter(agencies=[unit.agency_id])
    if current is None:
        return f"{reverse('my-work')}?{urlencode({'unit': unit.pk})}"
    return reverse("unit-quarter", args=[unit.agency.code, unit.code, *current])


def _review_queue(user, role) -> str:
    """The review queue: it opens on the agency the user reviews (or a list of them) and the
    newest quarter with something waiting for the user's review."""
    return reverse("review-queue")


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
