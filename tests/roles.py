"""A cast of users, one per role, in the seeded agency nia (入出國及移民署, under 內政部 moi):
the people the permission tests and the matrix sign in as. Built through the services, like the
demo users of `make run`."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from budget.models import Agency, Membership, Unit
from budget.services import agency_create, membership_create
from performance.models import Indicator
from performance.services import indicator_update

Role = Membership.Role
UNIT = "international-affairs"
OTHER_UNIT = "accounting"
# FY2013 indicators and their units here (the document names none), as `make run`'s demo.
INDICATOR, OTHER_INDICATOR = "intl-cooperation", "finance-audit"
# Every role a request can come as: signed out, signed in with a role elsewhere only, each role
# in nia, and a superuser.
ROLES = (
    "anonymous",
    "outsider",
    "staff",
    "head",
    "planner",
    "director",
    "viewer",
    "admin",
    "superuser",
)


@dataclass
class Cast:
    users: dict  # role -> user (no entry for anonymous)
    agency: Agency
    unit: Unit
    other_unit: Unit
    other_agency: Agency
    indicator: Indicator  # of `unit`, FY2013
    other_indicator: Indicator  # of `other_unit`, FY2013

    def __getitem__(self, role):
        return self.users[role]

    def ids(self) -> dict:
        """What read_cast() needs to read this cast again."""
        return {
            "users": {role: user.pk for role, user in self.users.items()},
            "agency": self.agency.pk,
            "unit": self.unit.pk,
            "other_unit": self.other_unit.pk,
            "other_agency": self.other_agency.pk,
            "indicator": self.indicator.pk,
            "other_indicator": self.other_indicator.pk,
        }


def read_cast(ids: dict) -> Cast:
    """A cast built earlier (build_cast), read afresh: new objects, no cached memberships."""
    by_pk = get_user_model().objects.in_bulk(ids["users"].values())
    agencies = Agency.objects.in_bulk([ids["agency"], ids["other_agency"]])
    units = Unit.objects.in_bulk([ids["unit"], ids["other_unit"]])
    # As indicator_update hands them back: with the unit just assigned.
    indicators = Indicator.objects.select_related("responsible_unit").in_bulk(
        [ids["indicator"], ids["other_indicator"]]
    )
    return Cast(
        users={role: by_pk[pk] for role, pk in ids["users"].items()},
        agency=agencies[ids["agency"]],
        unit=units[ids["unit"]],
        other_unit=units[ids["other_unit"]],
        other_agency=agencies[ids["other_agency"]],
        indicator=indicators[ids["indicator"]],
        other_indicator=indicators[ids["other_indicator"]],
    )


def build_cast() -> Cast:
    User = get_user_model()
    nia = Agency.objects.get(code="nia")
    unit = Unit.objects.get(agency=nia, code=UNIT)
    other_unit = Unit.objects.get(agency=nia, code=OTHER_UNIT)
    other = agency_create(code="other-agency", name="他機關", user=None)
    grants = {
        "outsider": (other, None, Role.ADMIN),
        "staff": (nia, unit, Role.STAFF),
        "head": (nia, unit, Role.HEAD),
        "planner": (nia, None, Role.PLANNER),
        "director": (nia, None, Role.DIRECTOR),
        "viewer": (Agency.objects.get(code="moi"), None, Role.VIEWER),
        "admin": (nia, None, Role.ADMIN),
    }
    users = {}
    for role, (agency, in_unit, as_role) in grants.items():
        # No password: tests sign in with force_login, and hashing one costs a second each.
        users[role] = User.objects.create_user(role, f"{role}@example.org")
        membership_create(
            member=users[role], agency=agency, unit=in_unit, role=as_role, user=None, reason="測試"
        )
    users["superuser"] = User.objects.create_superuser("root", "root@example.org")
    indicators = {}
    for code, owner in ((INDICATOR, unit), (OTHER_INDICATOR, other_unit)):
        indicator = Indicator.objects.get(goal__agency=nia, goal__year=2013, code=code)
        indicators[code] = indicator_update(
            indicator=indicator,
            expected_version=indicator.version,
            user=None,
            reason="測試：指派主辦單位",
            responsible_unit=owner,
        )
    return Cast(
        users=users,
        agency=nia,
        unit=unit,
        other_unit=other_unit,
        other_agency=other,
        indicator=indicators[INDICATOR],
        other_indicator=indicators[OTHER_INDICATOR],
    )
