"""Who may see, enter and review what: the one place with the rules.

Roles come from `budget.Membership`. A user's memberships are read once per request and kept on
the user object (one query, with the agency tree a viewer of a parent agency needs), so every
check below is plain arithmetic on sets, never a query per object. Superusers may do everything.

- Any membership in an agency lets its holder see that agency; 檢視 (viewer) of a parent agency,
  such as a ministry, sees every agency under it too.
- 填報人 (staff) enters the indicators of their unit; 單位主管 (head) enters and submits them.
- 初核 (planner) and 複核 (director) review every unit of their agency.
- 管理者 (admin) does all of that in their agency, and manages windows, exceptions and reopening.

A page asked for something that does not exist answers 404; for something that exists but is
not the user's, 403 (`require`, `get_agency_for_user`). Agencies and indicators are public
bodies and published plans, so their existence is no secret worth a misleading 404.
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import FilteredRelation, Q
from django.http import Http404

from budget.models import Agency, Membership, Unit
from performance.models import Indicator

Role = Membership.Role
# The attribute of the user object that holds its access for this request.
_CACHE = "_kpitrack_access"


@dataclass(frozen=True)
class Access:
    """One user's memberships, as sets of ids."""

    visible: frozenset[int] = frozenset()  # agencies the user may see
    roles: dict[str, frozenset[int]] = field(default_factory=dict)  # agency roles -> agency ids
    unit_roles: dict[str, frozenset[int]] = field(default_factory=dict)  # unit roles -> unit ids

    def agencies(self, *roles: str) -> frozenset[int]:
        return frozenset().union(*(self.roles.get(role, ()) for role in roles))

    def units(self, *roles: str) -> frozenset[int]:
        return frozenset().union(*(self.unit_roles.get(role, ()) for role in roles))


_NOBODY = Access()


def _load(user) -> Access:
    # One query: every agency with the user's memberships in it (NULLs where none). Agencies are
    # few (a ministry has tens), and the whole tree is what a viewer of a parent agency needs,
    # at any depth.
    rows = Agency.objects.annotate(
        mine=FilteredRelation("memberships", condition=Q(memberships__user=user))
    ).values_list("id", "parent_id", "mine__role", "mine__unit_id")
    children: dict[int, set[int]] = {}
    visible: set[int] = set()
    roles: dict[str, set[int]] = {}
    unit_roles: dict[str, set[int]] = {}
    for agency_id, parent_id, role, unit_id in rows:
        children.setdefault(parent_id, set()).add(agency_id)
        if role is None:
            continue
        visible.add(agency_id)
        if unit_id is None:
            roles.setdefault(role, set()).add(agency_id)
        else:
            unit_roles.setdefault(role, set()).add(unit_id)
    under = set(roles.get(Role.VIEWER, ()))
    stack = list(under)
    while stack:
        for child in children.get(stack.pop(), set()) - under:
            under.add(child)
            stack.append(child)
    visible |= under
    return Access(
        visible=frozenset(visible),
        roles={role: frozenset(ids) for role, ids in roles.items()},
        unit_roles={role: frozenset(ids) for role, ids in unit_roles.items()},
    )


def access(user) -> Access:
    """The user's memberships, read on first use in a request and kept on the user object."""
    if not user.is_authenticated or not user.is_active:
        return _NOBODY
    cached = user.__dict__.get(_CACHE)
    if cached is None:
        cached = user.__dict__[_CACHE] = _load(user)
    return cached


def _everything(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_superuser


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


# Agencies


def agencies_for_user(user):
    if _everything(user):
        return Agency.objects.all()
    return Agency.objects.filter(pk__in=access(user).visible)


def can_view_agency(user, agency: Agency) -> bool:
    return _everything(user) or agency.pk in access(user).visible


def get_agency_for_user(user, code: str) -> Agency:
    """The agency of `code`: 404 when there is none, 403 when it is not the user's."""
    agency = Agency.objects.filter(code=code).first()
    if agency is None:
        raise Http404("agency")
    require(can_view_agency(user, agency))
    return agency


# Entry and review


def units_user_enters(user, agency: Agency):
    """The units of `agency` whose indicators the user enters (all of them for its admin)."""
    units = Unit.objects.filter(agency=agency)
    if _everything(user) or agency.pk in access(user).agencies(Role.ADMIN):
        return units
    return units.filter(pk__in=access(user).units(Role.STAFF, Role.HEAD))


def _agency_id(indicator: Indicator) -> int:
    # select_related("goal") where indicators are listed: this reads the goal's agency id.
    return indicator.goal.agency_id


def can_enter(user, indicator: Indicator) -> bool:
    mine = access(user)
    return (
        _everything(user)
        or _agency_id(indicator) in mine.agencies(Role.ADMIN)
        or indicator.responsible_unit_id in mine.units(Role.STAFF, Role.HEAD)
    )


def can_submit(user, indicator: Indicator) -> bool:
    mine = access(user)
    return (
        _everything(user)
        or _agency_id(indicator) in mine.agencies(Role.ADMIN)
        or indicator.responsible_unit_id in mine.units(Role.HEAD)
    )


def can_first_review(user, agency: Agency) -> bool:
    return _everything(user) or agency.pk in access(user).agencies(Role.PLANNER, Role.ADMIN)


def can_final_review(user, agency: Agency) -> bool:
    return _everything(user) or agency.pk in access(user).agencies(Role.DIRECTOR, Role.ADMIN)


def can_manage(user, agency: Agency) -> bool:
    """Windows, entry exceptions, locks and reopening approved results."""
    return _everything(user) or agency.pk in access(user).agencies(Role.ADMIN)


def indicators_for_user(user, *, year: int):
    """The indicators of `year` that the user may enter or review."""
    indicators = Indicator.objects.filter(goal__year=year)
    if _everything(user):
        return indicators
    mine = access(user)
    return indicators.filter(
        Q(goal__agency_id__in=mine.agencies(Role.PLANNER, Role.DIRECTOR, Role.ADMIN))
        | Q(responsible_unit_id__in=mine.units(Role.STAFF, Role.HEAD))
    )
