"""Stand-in for kpitrack.permissions' role rules until h8a's module lands (then deleted):
only a superuser may do anything, so nothing is ever allowed that the real rules would refuse."""

from django.core.exceptions import PermissionDenied


def _superuser(user, _obj) -> bool:
    return bool(user is not None and user.is_active and user.is_superuser)


can_enter = can_submit = can_first_review = can_final_review = can_manage = _superuser


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


# budget.Agency's workflow settings (h8a) with their announced defaults.
_AGENCY_DEFAULTS = {"second_review": True, "entry_window_days": 30, "review_days": 10}


def agency_setting(agency, name: str):
    return getattr(agency, name, _AGENCY_DEFAULTS[name])
