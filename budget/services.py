"""Writes of the budget side: agencies, units, annual policies, headcounts and achievement policies.

Every write goes through one function here: it validates (`full_clean`) inside one transaction,
claims the aggregate root's version so a stale editor is refused (`ConcurrentEditError`), and
attributes every history row (who and why), with the steps every write of both apps takes
(kpitrack.core.writes). Refusals are `ValidationError`s whose messages are meant for the user;
nothing is written when one is raised. A policy or 複核 change reaches the stored outcomes on
commit without this module knowing of them (performance registers what those rows touch).

Child rows (a policy's goals and their items, a headcount's lines) are given as a list of dicts:
`{"pk": id, **fields}` changes a row, `{**fields}` without a pk adds one, and
`{"pk": id, "delete": True}` deletes one; rows not mentioned are left as they are.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kpitrack.core import writes
from kpitrack.core.logs import security_event
from kpitrack.core.versioning import claim_version

from .models import (
    AchievementPolicy,
    Agency,
    AnnualPolicy,
    HeadcountBudget,
    HeadcountLine,
    Membership,
    PolicyGoal,
    PolicyGoalItem,
    Unit,
)

AGENCY_FIELDS = (
    "code",
    "name",
    "name_en",
    "parent",
    "duties",
    "organisation_intro",
    "leadership",
    "second_review",
    "separate_review_duties",
    "entry_window_days",
    "review_days",
)
UNIT_FIELDS = ("code", "name", "kind", "duties", "order", "parent")
ANNUAL_POLICY_FIELDS = ("intro",)
GOAL_FIELDS = ("order", "title", "body")
ITEM_FIELDS = ("order", "text")
HEADCOUNT_FIELDS = ("programme", "order", "explanation")
LINE_FIELDS = ("category", "previous", "change")
ACHIEVEMENT_POLICY_FIELDS = (
    "rate_decimals",
    "rounding",
    "green_threshold",
    "yellow_threshold",
    "uses_lights",
)


def _optional_reason(reason: str | None) -> str:
    return reason.strip() if reason else ""


def _claim_existing(obj, *, expected_version, reason):
    reason = writes.require_reason(reason)
    claim_version(obj, expected_version)
    return reason


# Agencies


@writes.atomic
def agency_create(*, user, reason: str = "", **values) -> Agency:
    writes.check_fields(values, AGENCY_FIELDS)
    return writes.save(Agency(**values), user=user, reason=_optional_reason(reason))


@writes.atomic
def agency_update(*, agency: Agency, expected_version: int, user, reason: str, **values) -> Agency:
    writes.check_fields(values, AGENCY_FIELDS)
    why = _claim_existing(agency, expected_version=expected_version, reason=reason)
    return writes.model_update(agency, data=values, user=user, reason=why)[0]


# Units


@writes.atomic
def unit_create(*, agency: Agency, user, reason: str = "", **values) -> Unit:
    writes.check_fields(values, UNIT_FIELDS)
    return writes.save(Unit(agency=agency, **values), user=user, reason=_optional_reason(reason))


@writes.atomic
def unit_update(*, unit: Unit, expected_version: int, user, reason: str, **values) -> Unit:
    """Parent and cycle rules live in Unit.clean: same agency, no unit above itself."""
    writes.check_fields(values, UNIT_FIELDS)
    why = _claim_existing(unit, expected_version=expected_version, reason=reason)
    return writes.model_update(unit, data=values, user=user, reason=why)[0]


@writes.atomic
def unit_delete(*, unit: Unit, expected_version: int, user, reason: str) -> None:
    why = _claim_existing(unit, expected_version=expected_version, reason=reason)
    children = list(unit.children.values_list("name", flat=True))
    if children:
        raise ValidationError(
            _("「%(unit)s」之下還有單位（%(children)s），請先移動或刪除它們。")
            % {"unit": unit.name, "children": "、".join(children)},
            code="has_children",
        )
    if unit.memberships.exists():
        raise ValidationError(
            _("「%(unit)s」仍有成員，請先移除他們的角色。") % {"unit": unit.name},
            code="has_members",
        )
    if unit.indicators.exists() or unit.results.exists():
        raise ValidationError(
            _("「%(unit)s」仍是績效指標的主辦單位或成果的填報單位，不能刪除。")
            % {"unit": unit.name},
            code="in_use",
        )
    writes.delete(unit, user=user, reason=why)


# Annual policies (施政目標與重點): the policy covers its goals and their items.


def _goal_items(user, reason):
    def apply(row, goal):
        if "items" in row:
            writes.sync_children(
                model=PolicyGoalItem,
                parent_field="goal",
                parent=goal,
                rows=row["items"],
                fields=ITEM_FIELDS,
                user=user,
                reason=reason,
            )

    return apply


def _policy_goals(policy, goals, user, reason):
    writes.sync_children(
        model=PolicyGoal,
        parent_field="policy",
        parent=policy,
        rows=goals,
        fields=GOAL_FIELDS,
        user=user,
        reason=reason,
        nested="items",
        children=_goal_items(user, reason),
    )


@writes.atomic
def annual_policy_create(
    *, agency: Agency, year: int, user, reason: str = "", goals: Iterable[dict] = (), **values
) -> AnnualPolicy:
    writes.check_fields(values, ANNUAL_POLICY_FIELDS)
    why = _optional_reason(reason)
    policy = writes.save(AnnualPolicy(agency=agency, year=year, **values), user=user, reason=why)
    _policy_goals(policy, goals, user, why)
    return policy


@writes.atomic
def annual_policy_update(
    *,
    policy: AnnualPolicy,
    expected_version: int,
    user,
    reason: str,
    goals: Iterable[dict] = (),
    **values,
) -> AnnualPolicy:
    writes.check_fields(values, ("year", *ANNUAL_POLICY_FIELDS))
    why = _claim_existing(policy, expected_version=expected_version, reason=reason)
    writes.model_update(policy, data=values, user=user, reason=why)
    _policy_goals(policy, goals, user, why)
    return policy


@writes.atomic
def annual_policy_delete(*, policy: AnnualPolicy, expected_version: int, user, reason: str) -> None:
    """Goals and items go too, each leaving its own deletion in the history."""
    why = _claim_existing(policy, expected_version=expected_version, reason=reason)
    for goal in policy.goals.prefetch_related("items"):
        for item in goal.items.all():
            writes.delete(item, user=user, reason=why)
        writes.delete(goal, user=user, reason=why)
    writes.delete(policy, user=user, reason=why)


# Headcount budgets (預算員額): the budget covers its lines.


def _lines(budget, lines, user, reason):
    writes.sync_children(
        model=HeadcountLine,
        parent_field="budget",
        parent=budget,
        rows=lines,
        fields=LINE_FIELDS,
        user=user,
        reason=reason,
    )


@writes.atomic
def headcount_budget_create(
    *, agency: Agency, year: int, user, reason: str = "", lines: Iterable[dict] = (), **values
) -> HeadcountBudget:
    writes.check_fields(values, HEADCOUNT_FIELDS)
    why = _optional_reason(reason)
    budget = writes.save(HeadcountBudget(agency=agency, year=year, **values), user=user, reason=why)
    _lines(budget, lines, user, why)
    return budget


@writes.atomic
def headcount_budget_update(
    *,
    budget: HeadcountBudget,
    expected_version: int,
    user,
    reason: str,
    lines: Iterable[dict] = (),
    **values,
) -> HeadcountBudget:
    writes.check_fields(values, ("year", *HEADCOUNT_FIELDS))
    why = _claim_existing(budget, expected_version=expected_version, reason=reason)
    writes.model_update(budget, data=values, user=user, reason=why)
    _lines(budget, lines, user, why)
    return budget


@writes.atomic
def headcount_budget_delete(
    *, budget: HeadcountBudget, expected_version: int, user, reason: str
) -> None:
    why = _claim_existing(budget, expected_version=expected_version, reason=reason)
    for line in budget.lines.all():
        writes.delete(line, user=user, reason=why)
    writes.delete(budget, user=user, reason=why)


# Achievement policies (rounding and lights per agency and year)


@writes.atomic
def achievement_policy_set(
    *, agency: Agency, year: int, expected_version: int | None, user, reason: str, **values
) -> AchievementPolicy:
    """Set how `agency` computes and paints achievements from `year` on.

    A year without its own row starts as a copy of the policy then in force (the previous
    year's), so only what is given changes. `expected_version` is the version the editor loaded,
    None when the year had no row of its own; a row changed or created since is refused.
    """
    writes.check_fields(values, ACHIEVEMENT_POLICY_FIELDS)
    policy = AchievementPolicy.objects.filter(agency=agency, year=year).first()
    if policy is None:
        if expected_version is not None:
            # The row this editor loaded is gone: refused like any other stale edit.
            claim_version(AchievementPolicy(agency=agency, year=year), expected_version)
        why = _optional_reason(reason)
        policy = _copy_of_policy_in_force(agency, year)
    else:
        if not writes.changed(policy, values) and expected_version == policy.version:
            return policy
        why = _claim_existing(policy, expected_version=expected_version, reason=reason)
    return writes.model_update(policy, data=values, user=user, reason=why)[0]


def _copy_of_policy_in_force(agency: Agency, year: int) -> AchievementPolicy:
    previous = (
        AchievementPolicy.objects.filter(agency=agency, year__lt=year).order_by("-year").first()
    )
    policy = AchievementPolicy(agency=agency, year=year)
    if previous is not None:
        for name in ACHIEVEMENT_POLICY_FIELDS:
            setattr(policy, name, getattr(previous, name))
    return policy


# Memberships (who holds which role where). A role changes by deleting one and creating another,
# so each grant and each withdrawal is its own history row with who and why.


def _forget_memberships(member) -> None:
    # performance.permissions caches a user's memberships on the user object for one request.
    member.__dict__.pop("_kpitrack_access", None)


def membership_create(
    *, member, agency: Agency, role: str, unit: Unit | None = None, user, reason: str
) -> Membership:
    """Give `member` `role` in `agency` (in `unit` for 填報人 and 單位主管)."""
    why = _require_grant_reason(reason)
    membership = _membership_save(
        Membership(user=member, agency=agency, unit=unit, role=role), user, why
    )
    _forget_memberships(member)
    _log_role("role_granted", membership, user, why)
    return membership


@writes.atomic
def _membership_save(membership: Membership, user, why: str) -> Membership:
    try:
        membership.full_clean()
    except ValidationError as exc:
        if "__all__" in exc.message_dict:
            raise ValidationError(_("這位使用者在此已有同一角色。"), code="duplicate") from None
        raise
    return writes.save(membership, user=user, reason=why)


def membership_delete(*, membership: Membership, expected_version: int, user, reason: str) -> None:
    _membership_delete(membership, expected_version, user, reason)
    _forget_memberships(membership.user)
    _log_role("role_withdrawn", membership, user, reason.strip())


def _log_role(event: str, membership: Membership, user, why: str) -> None:
    """The security log's record of a grant or a withdrawal, written once it has committed (the
    admin's own transaction may still roll it back)."""
    facts = {
        "user": user.get_username() if user is not None else "-",
        "target": membership.user.get_username(),
        "role": membership.role,
        "agency": membership.agency.code,
        "unit": membership.unit.code if membership.unit_id else None,
        "reason": why,
    }
    transaction.on_commit(lambda: security_event(event, **facts))


@writes.atomic
def _membership_delete(membership: Membership, expected_version: int, user, reason: str) -> None:
    why = _claim_existing(membership, expected_version=expected_version, reason=reason)
    writes.delete(membership, user=user, reason=why)


def _require_grant_reason(reason: str | None) -> str:
    # A grant says why in its own words (the appointment behind it); same code as any reason.
    if not reason or not reason.strip():
        raise ValidationError(
            {"reason": _("授予角色時，請說明理由（例如依據的派令或簽呈）。")},
            code="reason_required",
        )
    return reason.strip()
