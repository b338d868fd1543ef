"""E-mail reminders of open windows and pending reviews, sent once per kind and period."""

from datetime import date, timedelta

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from budget.models import Agency, Membership
from kpitrack.core.formatting import roc_year

from ..models import (
    Indicator,
    ReminderSent,
    ReportingPeriod,
    Result,
)
from .periods import period_get_or_create

# --- reminders -------------------------------------------------------------------------------

REMIND_DAYS_BEFORE = 3  # how long before the entry window closes the units are reminded


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


def _send_once(user, kind: str, period: ReportingPeriod, subject: str, lines: list[str]) -> bool:
    """E-mail `user` unless this reminder went out before; the row and the mail commit together,
    so a failed send is retried on the next run and a sent one never is."""
    if not user.email or not user.is_active:
        return False
    with transaction.atomic():
        _, created = ReminderSent.objects.get_or_create(user=user, kind=kind, period=period)
        if not created:
            return False
        send_mail(subject, "\n".join(lines), None, [user.email])
    return True


def _members(agency: Agency, roles, units=None):
    memberships = Membership.objects.filter(agency=agency, role__in=roles).select_related("user")
    if units is not None:
        memberships = memberships.filter(unit__in=units)
    return {m.user for m in memberships}


def reminders_send(*, today: date | None = None) -> int:
    """Reminds the units whose indicators are not submitted as the window nears its end and
    after it closed, and the reviewers with results waiting. Returns how many were sent."""
    today = today or timezone.localdate()
    Role = Membership.Role
    sent = 0
    for period in _reminder_periods(today):
        label = _("%(year)s第%(quarter)s季") % {
            "year": roc_year(period.year),
            "quarter": period.quarter,
        }
        indicators = Indicator.objects.filter(
            goal__agency=period.agency, goal__year=period.year
        ).select_related("responsible_unit")
        states = dict(
            Result.objects.filter(indicator__in=indicators, quarter=period.quarter).values_list(
                "indicator_id", "state"
            )
        )
        pending = [i for i in indicators if states.get(i.pk, Result.State.DRAFT) in Result.EDITABLE]
        if period.closes_on - timedelta(days=REMIND_DAYS_BEFORE) <= today <= period.closes_on:
            kind = ReminderSent.Kind.ENTRY_DUE_SOON
            subject = _("【kpitrack】%(period)s績效填報將於 %(closes)s 截止") % {
                "period": label,
                "closes": period.closes_on.isoformat(),
            }
        elif today > period.closes_on:
            kind = ReminderSent.Kind.ENTRY_OVERDUE
            subject = _("【kpitrack】%(period)s績效填報已於 %(closes)s 截止，尚未送出") % {
                "period": label,
                "closes": period.closes_on.isoformat(),
            }
        else:
            kind = None
        if kind is not None:
            by_unit: dict = {}
            for indicator in pending:
                if indicator.responsible_unit_id is not None:
                    by_unit.setdefault(indicator.responsible_unit, []).append(indicator)
            for unit, listed in by_unit.items():
                lines = [_("下列指標尚未送出：")] + [f"- {i.name}" for i in listed]
                for user in _members(period.agency, (Role.STAFF, Role.HEAD), units=[unit]):
                    sent += _send_once(user, kind, period, subject, lines)
        for state, kind, roles, words in (
            (
                Result.State.SUBMITTED,
                ReminderSent.Kind.FIRST_REVIEW_WAITING,
                (Role.PLANNER,),
                _("【kpitrack】%(period)s有 %(count)s 項成果待初核（期限 %(due)s）"),
            ),
            (
                Result.State.FIRST_APPROVED,
                ReminderSent.Kind.FINAL_REVIEW_WAITING,
                (Role.DIRECTOR,),
                _("【kpitrack】%(period)s有 %(count)s 項成果待複核（期限 %(due)s）"),
            ),
        ):
            waiting = [i for i in indicators if states.get(i.pk) == state]
            if not waiting:
                continue
            due = (
                period.first_review_due
                if state == Result.State.SUBMITTED
                else period.final_review_due
            )
            subject = words % {"period": label, "count": len(waiting), "due": due.isoformat()}
            lines = [f"- {i.name}" for i in waiting]
            for user in _members(period.agency, roles):
                sent += _send_once(user, kind, period, subject, lines)
    return sent
