"""A user per role in the workflow agency (tests/performance/conftest.py `workflow`)."""

from budget.models import Membership
from budget.services import agency_update, membership_create

Role = Membership.Role


def member(django_user_model, workflow, role: str, *, unit=None, name: str | None = None):
    name = name or role
    user = django_user_model.objects.create_user(name, f"{name}@example.org", f"{name}-password")
    if role in (Role.STAFF, Role.HEAD) and unit is None:
        unit = workflow.unit
    membership_create(
        member=user, agency=workflow.agency, role=role, unit=unit, user=None, reason="測試角色"
    )
    return user


def keep_review_duties_together(workflow, by) -> None:
    """The workflow agency lets one person submit, first-approve and final-approve (a small
    agency's setting), changed by `by` (a 管理者)."""
    agency_update(
        agency=workflow.agency,
        expected_version=workflow.agency.version,
        user=by,
        reason="小機關人力不足",
        separate_review_duties=False,
    )
