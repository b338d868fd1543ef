"""Writes of the budget side: agencies, units, annual policies, headcounts and achievement policies.

Every write goes through one function here: it validates (`full_clean`), claims the aggregate's
version so a stale editor is refused, and attributes the history row (who and why).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kpitrack.versioning import attribute, claim_version

from .models import AchievementPolicy

ACHIEVEMENT_POLICY_FIELDS = (
    "rate_decimals",
    "rounding",
    "green_threshold",
    "yellow_threshold",
    "uses_lights",
)


def _require_reason(reason: str) -> str:
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("修改既有資料時，請說明修改理由。")}, code="reason")
    return reason.strip()


def _only(values: dict, allowed) -> None:
    unknown = set(values) - set(allowed)
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")


def achievement_policy_set(
    *, agency, year: int, expected_version: int | None, user, reason: str, **values
) -> AchievementPolicy:
    """Set how `agency` computes and paints achievements from `year` on.

    A year without its own row starts as a copy of the policy then in force (the previous
    year's), so only what is given changes. `expected_version` is the version the editor loaded,
    None when the year had no row of its own; a row changed or created since is refused.
    """
    _only(values, ACHIEVEMENT_POLICY_FIELDS)
    with transaction.atomic():
        policy = AchievementPolicy.objects.filter(agency=agency, year=year).first()
        if policy is None:
            if expected_version is not None:
                # The row this editor loaded is gone: refused like any other stale edit.
                claim_version(AchievementPolicy(agency=agency, year=year), expected_version)
            reason = reason.strip() if reason else ""
            policy = _copy_of_policy_in_force(agency, year)
        else:
            values = {k: v for k, v in values.items() if getattr(policy, k) != v}
            if not values and expected_version == policy.version:
                return policy
            reason = _require_reason(reason)
            claim_version(policy, expected_version)
        for name, value in values.items():
            setattr(policy, name, value)
        policy.full_clean()
        attribute(policy, user=user, reason=reason)
        policy.save()
    return policy


def _copy_of_policy_in_force(agency, year: int) -> AchievementPolicy:
    previous = (
        AchievementPolicy.objects.filter(agency=agency, year__lt=year).order_by("-year").first()
    )
    policy = AchievementPolicy(agency=agency, year=year)
    if previous is not None:
        for name in ACHIEVEMENT_POLICY_FIELDS:
            setattr(policy, name, getattr(previous, name))
    return policy
