"""Reminders of open windows and pending reviews: a notification (inbox and e-mail) once per
person, kind and period (services.notifications keeps the "once")."""

from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from budget.models import Agency, Membership

from ..models import (
    Indicator,
    Notification,
    ReportingPeriod,
    Result,
)
from .notifications import notifications_for_period
from .periods import period_get_or_create

# --- reminders -------------------------------------------------------------------------------

# How long before the entry window closes the units are reminded (the setting's default).
REMIND_DAYS_BEFORE = 3


def _reminder_periods(today: date) -> list[ReportingPeriod]:
    """The periods with something to remind about today: entry open or overdue, or reviews
    not yet past their final deadline. The period of the quarter that ended last is created
    with the defaults, so reminders work before anybody has opened a page."""
    last_ended = date(today.year, ((today.month - 1) // 3) * 3 + 1, 1) - timedelta(days=1)
    quarter = (last_ended.month - 1) // 3 + 1
    years = Indicator.objects.filter(goal__year=last_ended.year).values("goal__agency")
    for agency in Agency.objects.filter(pk__in=years):
        period_get_or_create(agency=agency, year=last_ended.year, quarter=quarter)
    return list(
        ReportingPeriod.objects.filter(
            locked=False, opens_on__lte=today, final_review_due__gte=today
        ).select_related("agency")
    )


def _members(agency: Agency, roles, units=None):
    memberships = Membership.objects.filter(agency=agency, role__in=roles).select_related("user")
    if units is not None:
        memberships = memberships.filter(unit__in=units)
    return {m.user for m in memberships}


def reminders_send(*, today: date | None = None) -> int:
    """Reminds the units whose indicators are not submitted as the window nears its end
    (settings.REMIND_DAYS_BEFORE) and after it closed, and the reviewers with results waiting.
    Returns how many notifications were made (each also e-mailed where there is an address)."""
    today = today or timezone.localdate()
    days_before = getattr(settings, "REMIND_DAYS_BEFORE", REMIND_DAYS_BEFORE)
    Role = Membership.Role
    sent = 0
    for period in _reminder_periods(today):
        indicators = Indicator.objects.filter(
            goal__agency=period.agency, goal__year=period.year
        ).select_related("responsible_unit")
        states = dict(
            Result.objects.filter(indicator__in=indicators, quarter=period.quarter).values_list(
                "indicator_id", "state"
            )
        )
        pending = [i for i in indicators if states.get(i.pk, Result.State.DRAFT) in Result.EDITABLE]
        if period.closes_on - timedelta(days=days_before) <= today <= period.closes_on:
            kind = Notification.Kind.ENTRY_DUE_SOON
        elif today > period.closes_on:
            kind = Notification.Kind.ENTRY_OVERDUE
        else:
            kind = None
        if kind is not None:
            by_unit: dict = {}
            for indicator in pending:
                if indicator.responsible_unit_id is not None:
                    by_unit.setdefault(indicator.responsible_unit, []).append(indicator)
            for unit, listed in by_unit.items():
                params = {
                    "closes": period.closes_on.isoformat(),
                    "count": len(listed),
                    "indicators": [i.name for i in listed],
                }
                users = _members(period.agency, (Role.STAFF, Role.HEAD), units=[unit])
                sent += len(
                    notifications_for_period(users, kind=kind, period=period, params=params)
                )
        for state, kind, roles in (
            (Result.State.SUBMITTED, Notification.Kind.FIRST_REVIEW_WAITING, (Role.PLANNER,)),
            (Result.State.FIRST_APPROVED, Notification.Kind.FINAL_REVIEW_WAITING, (Role.DIRECTOR,)),
        ):
            waiting = [i for i in indicators if states.get(i.pk) == state]
            if not waiting:
                continue
            due = (
                period.first_review_due
                if state == Result.State.SUBMITTED
                else period.final_review_due
            )
            params = {
                "count": len(waiting),
                "due": due.isoformat(),
                "indicators": [i.name for i in waiting],
            }
            users = _members(period.agency, roles)
            sent += len(notifications_for_period(users, kind=kind, period=period, params=params))
    return sent
