"""Reminders of open windows and pending reviews: a notification (inbox and e-mail) once per
person, kind and period (services.notifications keeps the "once")."""

from datetime import date, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from budget.models import Agency, Membership

from ..models import (
    Indicator,
    Notification,
    ReportingPeriod,
    Result,
)
from .notifications import notifications_for_periods, people_of
from .periods import period_get_or_create

# --- reminders -------------------------------------------------------------------------------

# How long before the entry window closes the units are reminded (the setting's default).
REMIND_DAYS_BEFORE = 3


def _reminder_periods(today: date) -> list[ReportingPeriod]:
    """The periods with something to remind about today: entry open or overdue, or reviews
    not yet past their final deadline. The period of the quarter that ended last is created
    with the defaults, so reminders work before anybody has opened a page (the agencies that
    have it already are read at once)."""
    last_ended = date(today.year, ((today.month - 1) // 3) * 3 + 1, 1) - timedelta(days=1)
    quarter = (last_ended.month - 1) // 3 + 1
    years = Indicator.objects.filter(goal__year=last_ended.year).values("goal__agency")
    have = ReportingPeriod.objects.filter(year=last_ended.year, quarter=quarter).values("agency")
    for agency in Agency.objects.filter(pk__in=years).exclude(pk__in=have):
        period_get_or_create(agency=agency, year=last_ended.year, quarter=quarter)
    return list(
        ReportingPeriod.objects.filter(
            locked=False, opens_on__lte=today, final_review_due__gte=today
        ).select_related("agency")
    )


def _indicators_and_states(periods) -> tuple[dict, dict]:
    """The indicators of each period's agency and year, by (agency, year), in order, and the
    state of each one's result by (indicator, quarter): two queries for all the periods."""
    if not periods:
        return {}, {}
    years = Q()
    for period in periods:
        years |= Q(goal__agency_id=period.agency_id, goal__year=period.year)
    indicators: dict = {}
    for indicator in Indicator.objects.filter(years).select_related("goal", "responsible_unit"):
        indicators.setdefault((indicator.goal.agency_id, indicator.goal.year), []).append(indicator)
    ids = [i.pk for listed in indicators.values() for i in listed]
    states = Result.objects.filter(
        indicator_id__in=ids, quarter__in={period.quarter for period in periods}
    ).values_list("indicator_id", "quarter", "state")
    return indicators, {(indicator, quarter): state for indicator, quarter, state in states}


def reminders_send(*, today: date | None = None) -> int:
    """Reminds the units whose indicators are not submitted as the window nears its end
    (settings.REMIND_DAYS_BEFORE) and after it closed, and the reviewers with results waiting.
    Returns how many notifications were made (each also e-mailed where there is an address).

    A fixed number of queries however many periods, units and people: the periods, their
    indicators and results, the people, then every notification written and mailed at once
    (services.notifications). Only a period created today with the defaults adds its own."""
    today = today or timezone.localdate()
    days_before = getattr(settings, "REMIND_DAYS_BEFORE", REMIND_DAYS_BEFORE)
    Role = Membership.Role
    periods = _reminder_periods(today)
    indicators_of, states = _indicators_and_states(periods)
    batches = []  # (source of the users, kind, period, params), for notifications_for_periods
    for period in periods:
        indicators = indicators_of.get((period.agency_id, period.year), [])
        state = {i.pk: states.get((i.pk, period.quarter)) for i in indicators}
        pending = [i for i in indicators if (state[i.pk] or Result.State.DRAFT) in Result.EDITABLE]
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
                batches.append((("unit", unit.pk), kind, period, params))
        for waiting_state, kind, role in (
            (Result.State.SUBMITTED, Notification.Kind.FIRST_REVIEW_WAITING, Role.PLANNER),
            (Result.State.FIRST_APPROVED, Notification.Kind.FINAL_REVIEW_WAITING, Role.DIRECTOR),
        ):
            waiting = [i for i in indicators if state[i.pk] == waiting_state]
            if not waiting:
                continue
            due = (
                period.first_review_due
                if waiting_state == Result.State.SUBMITTED
                else period.final_review_due
            )
            params = {
                "count": len(waiting),
                "due": due.isoformat(),
                "indicators": [i.name for i in waiting],
            }
            batches.append((("agency", period.agency_id, role), kind, period, params))
    people = people_of(source for source, *_rest in batches)
    made = notifications_for_periods(
        [(people[source], kind, period, params, None) for source, kind, period, params in batches]
    )
    return sum(map(len, made))
