"""Writes of the budget side: agencies, units, annual policies, headcounts and achievement policies.

Every write goes through one function here: it validates (`full_clean`) inside one transaction,
claims the aggregate root's version so a stale editor is refused (`ConcurrentEditError`), and
attributes every history row (who and why). Refusals are `ValidationError`s whose messages are
meant for the user; nothing is written when one is raised.

Child rows (a policy's goals and their items, a headcount's lines) are given as a list of dicts:
`{"pk": id, **fields}` changes a row, `{**fields}` without a pk adds one, and
`{"pk": id, "delete": True}` deletes one; rows not mentioned are left as they are.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from kpitrack.core.versioning import attribute, claim_version

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
# Orders being swapped pass through here, so two rows never hold the same order mid-save.
_PARKED_ORDER = 2_000_000_000


def _require_reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("修改既有資料時，請說明修改理由。")}, code="reason")
    return reason.strip()


def _optional_reason(reason: str | None) -> str:
    return reason.strip() if reason else ""


def _only(values: dict, allowed: Iterable[str]) -> None:
    unknown = set(values) - set(allowed) - {"pk", "delete"}
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")


def _save(obj: models.Model, *, user, reason: str) -> models.Model:
    obj.full_clean()
    attribute(obj, user=user, reason=reason)
    obj.save()
    return obj


def _delete(obj: models.Model, *, user, reason: str) -> None:
    attribute(obj, user=user, reason=reason)
    obj.delete()


def _atomic_write(write):
    """Run `write` in one transaction; a constraint the checks above missed is a refusal too."""
    try:
        with transaction.atomic():
            return write()
    except IntegrityError as exc:
        raise ValidationError(
            _("資料與既有資料重複或衝突，未儲存任何變更。"), code="integrity"
        ) from exc


def _sync_children(
    *,
    model: type[models.Model],
    parent_field: str,
    parent: models.Model,
    rows: Iterable[dict],
    fields: Iterable[str],
    user,
    reason: str,
    children=None,
) -> list[models.Model]:
    """Apply row changes to `parent`'s children; returns the rows kept or added, in input order.

    `children(row, obj)` applies the nested rows of one row after it is saved.
    """
    rows = list(rows)
    for row in rows:
        _only({k: v for k, v in row.items() if k != "items"}, fields)
    existing = {obj.pk: obj for obj in model.objects.filter(**{parent_field: parent})}
    missing = [row["pk"] for row in rows if row.get("pk") is not None and row["pk"] not in existing]
    if missing:
        raise ValidationError(
            _("要修改的資料已不存在，可能已被其他人刪除；請重新載入後再修改。"), code="gone"
        )
    for row in rows:
        if row.get("delete"):
            _delete(existing[row["pk"]], user=user, reason=reason)
    kept = [row for row in rows if not row.get("delete")]
    if "order" in fields:
        for n, row in enumerate(kept):
            obj = existing.get(row.get("pk"))
            if obj is not None and "order" in row and row["order"] != obj.order:
                obj.order = _PARKED_ORDER + n
                obj.save_without_historical_record(update_fields=["order"])
    saved = []
    for row in kept:
        obj = existing.get(row.get("pk")) or model(**{parent_field: parent})
        for name in fields:
            if name in row:
                setattr(obj, name, row[name])
        _save(obj, user=user, reason=reason)
        if children is not None:
            children(row, obj)
        saved.append(obj)
    return saved


def _claim_existing(obj, *, expected_version, reason):
    reason = _require_reason(reason)
    claim_version(obj, expected_version)
    return reason


# Agencies


def agency_create(*, user, reason: str = "", **values) -> Agency:
    _only(values, AGENCY_FIELDS)
    return _atomic_write(
        lambda: _save(Agency(**values), user=user, reason=_optional_reason(reason))
    )


def agency_update(*, agency: Agency, expected_version: int, user, reason: str, **values) -> Agency:
    _only(values, AGENCY_FIELDS)

    def write():
        why = _claim_existing(agency, expected_version=expected_version, reason=reason)
        for name, value in values.items():
            setattr(agency, name, value)
        return _save(agency, user=user, reason=why)

    return _atomic_write(write)


# Units


def unit_create(*, agency: Agency, user, reason: str = "", **values) -> Unit:
    _only(values, UNIT_FIELDS)
    return _atomic_write(
        lambda: _save(Unit(agency=agency, **values), user=user, reason=_optional_reason(reason))
    )


def unit_update(*, unit: Unit, expected_version: int, user, reason: str, **values) -> Unit:
    """Parent and cycle rules live in Unit.clean: same agency, no unit above itself."""
    _only(values, UNIT_FIELDS)

    def write():
        why = _claim_existing(unit, expected_version=expected_version, reason=reason)
        for name, value in values.items():
            setattr(unit, name, value)
        return _save(unit, user=user, reason=why)

    return _atomic_write(write)


def unit_delete(*, unit: Unit, expected_version: int, user, reason: str) -> None:
    def write():
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
        _delete(unit, user=user, reason=why)

    _atomic_write(write)


# Annual policies (施政目標與重點): the policy covers its goals and their items.


def _goal_items(user, reason):
    def apply(row, goal):
        if "items" in row:
            _sync_children(
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
    _sync_children(
        model=PolicyGoal,
        parent_field="policy",
        parent=policy,
        rows=goals,
        fields=GOAL_FIELDS,
        user=user,
        reason=reason,
        children=_goal_items(user, reason),
    )


def annual_policy_create(
    *, agency: Agency, year: int, user, reason: str = "", goals: Iterable[dict] = (), **values
) -> AnnualPolicy:
    _only(values, ANNUAL_POLICY_FIELDS)
    why = _optional_reason(reason)

    def write():
        policy = _save(AnnualPolicy(agency=agency, year=year, **values), user=user, reason=why)
        _policy_goals(policy, goals, user, why)
        return policy

    return _atomic_write(write)


def annual_policy_update(
    *,
    policy: AnnualPolicy,
    expected_version: int,
    user,
    reason: str,
    goals: Iterable[dict] = (),
    **values,
) -> AnnualPolicy:
    _only(values, ("year", *ANNUAL_POLICY_FIELDS))

    def write():
        why = _claim_existing(policy, expected_version=expected_version, reason=reason)
        for name, value in values.items():
            setattr(policy, name, value)
        _save(policy, user=user, reason=why)
        _policy_goals(policy, goals, user, why)
        return policy

    return _atomic_write(write)


def annual_policy_delete(*, policy: AnnualPolicy, expected_version: int, user, reason: str) -> None:
    """Goals and items go too, each leaving its own deletion in the history."""

    def write():
        why = _claim_existing(policy, expected_version=expected_version, reason=reason)
        for goal in policy.goals.prefetch_related("items"):
            for item in goal.items.all():
                _delete(item, user=user, reason=why)
            _delete(goal, user=user, reason=why)
        _delete(policy, user=user, reason=why)

    _atomic_write(write)


# Headcount budgets (預算員額): the budget covers its lines.


def _lines(budget, lines, user, reason):
    _sync_children(
        model=HeadcountLine,
        parent_field="budget",
        parent=budget,
        rows=lines,
        fields=LINE_FIELDS,
        user=user,
        reason=reason,
    )


def headcount_budget_create(
    *, agency: Agency, year: int, user, reason: str = "", lines: Iterable[dict] = (), **values
) -> HeadcountBudget:
    _only(values, HEADCOUNT_FIELDS)
    why = _optional_reason(reason)

    def write():
        budget = _save(HeadcountBudget(agency=agency, year=year, **values), user=user, reason=why)
        _lines(budget, lines, user, why)
        return budget

    return _atomic_write(write)


def headcount_budget_update(
    *,
    budget: HeadcountBudget,
    expected_version: int,
    user,
    reason: str,
    lines: Iterable[dict] = (),
    **values,
) -> HeadcountBudget:
    _only(values, ("year", *HEADCOUNT_FIELDS))

    def write():
        why = _claim_existing(budget, expected_version=expected_version, reason=reason)
        for name, value in values.items():
            setattr(budget, name, value)
        _save(budget, user=user, reason=why)
        _lines(budget, lines, user, why)
        return budget

    return _atomic_write(write)


def headcount_budget_delete(
    *, budget: HeadcountBudget, expected_version: int, user, reason: str
) -> None:
    def write():
        why = _claim_existing(budget, expected_version=expected_version, reason=reason)
        for line in budget.lines.all():
            _delete(line, user=user, reason=why)
        _delete(budget, user=user, reason=why)

    _atomic_write(write)


# Achievement policies (rounding and lights per agency and year)


def achievement_policy_set(
    *, agency: Agency, year: int, expected_version: int | None, user, reason: str, **values
) -> AchievementPolicy:
    """Set how `agency` computes and paints achievements from `year` on.

    A year without its own row starts as a copy of the policy then in force (the previous
    year's), so only what is given changes. `expected_version` is the version the editor loaded,
    None when the year had no row of its own; a row changed or created since is refused.
    """
    _only(values, ACHIEVEMENT_POLICY_FIELDS)

    def write():
        policy = AchievementPolicy.objects.filter(agency=agency, year=year).first()
        if policy is None:
            if expected_version is not None:
                # The row this editor loaded is gone: refused like any other stale edit.
                claim_version(AchievementPolicy(agency=agency, year=year), expected_version)
            why = _optional_reason(reason)
            policy = _copy_of_policy_in_force(agency, year)
        else:
            changes = {k: v for k, v in values.items() if getattr(policy, k) != v}
            if not changes and expected_version == policy.version:
                return policy
            why = _claim_existing(policy, expected_version=expected_version, reason=reason)
        for name, value in values.items():
            setattr(policy, name, value)
        return _save(policy, user=user, reason=why)

    return _atomic_write(write)


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

    def write():
        membership = Membership(user=member, agency=agency, unit=unit, role=role)
        try:
            membership.full_clean()
        except ValidationError as exc:
            if "__all__" in exc.message_dict:
                raise ValidationError(_("這位使用者在此已有同一角色。"), code="duplicate") from None
            raise
        return _save(membership, user=user, reason=why)

    membership = _atomic_write(write)
    _forget_memberships(member)
    return membership


def membership_delete(*, membership: Membership, expected_version: int, user, reason: str) -> None:
    def write():
        why = _claim_existing(membership, expected_version=expected_version, reason=reason)
        _delete(membership, user=user, reason=why)

    _atomic_write(write)
    _forget_memberships(membership.user)


def _require_grant_reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise ValidationError(
            {"reason": _("授予角色時，請說明理由（例如依據的派令或簽呈）。")}, code="reason"
        )
    return reason.strip()
