"""Reads of an agency's quarters for the management screens (管理者): windows and deadlines,
entry exceptions, locks, the results an administrator may reopen, and the quarter's history.
Each in a fixed number of queries, whatever the number of quarters, units or results."""

import calendar
from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext

from budget.models import Agency, Unit
from kpitrack.core.engine.calendar import QUARTERS

from .models import EntryException, ReportingPeriod, Result
from .selectors import HistoryEntry, _entries, _history, _newest_first


def quarter_end(year: int, quarter: int) -> date:
    last_month = quarter * 3
    return date(year, last_month, calendar.monthrange(year, last_month)[1])


def period_defaults(agency: Agency, year: int, quarter: int) -> dict:
    """The agency's default window and deadlines of a quarter: entry opens the day after the
    quarter ends and closes `entry_window_days` later; each review level is due `review_days`
    after the one before."""
    opens_on = quarter_end(year, quarter) + timedelta(days=1)
    closes_on = opens_on + timedelta(days=agency.entry_window_days)
    first_review_due = closes_on + timedelta(days=agency.review_days)
    return {
        "opens_on": opens_on,
        "closes_on": closes_on,
        "first_review_due": first_review_due,
        "final_review_due": first_review_due + timedelta(days=agency.review_days),
    }


def period_or_default(*, agency: Agency, year: int, quarter: int) -> ReportingPeriod:
    """The quarter's period, or (nobody has asked for it yet) an unsaved one with the agency's
    defaults: reading a quarter writes nothing. One query."""
    period = ReportingPeriod.objects.filter(agency=agency, year=year, quarter=quarter).first()
    if period is None:
        return ReportingPeriod(
            agency=agency, year=year, quarter=quarter, **period_defaults(agency, year, quarter)
        )
    period.agency = agency
    return period


@dataclass(frozen=True)
class QuarterRow:
    period: ReportingPeriod  # unsaved (pk None) while the agency's defaults apply
    exceptions: int  # exceptions still open today
    frozen: int  # approved or locked results

    @property
    def quarter(self) -> int:
        return self.period.quarter


def quarters_of_year(*, agency: Agency, year: int) -> list[QuarterRow]:
    """The four quarters of `year`: window, deadlines, lock, open exceptions and frozen results.
    Three queries."""
    stored = {p.quarter: p for p in ReportingPeriod.objects.filter(agency=agency, year=year)}
    for period in stored.values():
        period.agency = agency  # read once, by the caller
    today = timezone.localdate()
    exceptions = dict(
        EntryException.objects.filter(agency=agency, year=year, until__gte=today)
        .values_list("quarter")
        .annotate(n=Count("id"))
        .order_by()
    )
    frozen = dict(
        Result.objects.filter(
            indicator__goal__agency=agency, indicator__goal__year=year, state__in=Result.FROZEN
        )
        .values_list("quarter")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = []
    for quarter in QUARTERS:
        period = stored.get(quarter) or ReportingPeriod(
            agency=agency, year=year, quarter=quarter, **period_defaults(agency, year, quarter)
        )
        rows.append(QuarterRow(period, exceptions.get(quarter, 0), frozen.get(quarter, 0)))
    return rows


def years_to_manage(*, agency: Agency) -> tuple[list[int], int]:
    """The years with goals or periods of `agency`, and this year, newest first; and the year a
    page opens on: this year when the agency has goals for it, else its latest year with goals.
    Two queries."""
    this_year = timezone.localdate().year
    goal_years = set(agency.goals.order_by().values_list("year", flat=True).distinct())
    years = goal_years | set(agency.periods.order_by().values_list("year", flat=True).distinct())
    years.add(this_year)
    default = this_year if this_year in goal_years or not goal_years else max(goal_years)
    return sorted(years, reverse=True), default


def quarter_exceptions(*, agency: Agency, year: int, quarter: int) -> list[EntryException]:
    """The quarter's entry exceptions, with unit and grantor, by unit. One query."""
    return list(
        EntryException.objects.filter(agency=agency, year=year, quarter=quarter)
        .select_related("unit", "granted_by")
        .order_by("unit__order", "unit__id", "-until", "id")
    )


def units_of(agency: Agency):
    return Unit.objects.filter(agency=agency).order_by("order", "id")


def frozen_results(*, agency: Agency, year: int, quarter: int) -> list[Result]:
    """The quarter's approved and locked results — the ones only an administrator's reopening
    changes — with indicator, goal and unit. One query."""
    return list(
        Result.objects.filter(
            indicator__goal__agency=agency,
            indicator__goal__year=year,
            quarter=quarter,
            state__in=Result.FROZEN,
        )
        .select_related("indicator__goal", "indicator__responsible_unit")
        .order_by("indicator__goal__order", "indicator__order", "indicator__id")
    )


def quarter_state_counts(*, agency: Agency, year: int, quarter: int) -> list[tuple[str, int]]:
    """How many of the quarter's results are in each state (label, number), every state listed.
    One query."""
    counts = dict(
        Result.objects.filter(
            indicator__goal__agency=agency, indicator__goal__year=year, quarter=quarter
        )
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [(str(label), counts.get(state, 0)) for state, label in Result.State.choices]


PERIOD_HISTORY_FIELDS = ("opens_on", "closes_on", "first_review_due", "final_review_due", "locked")


def quarter_history(*, agency: Agency, year: int, quarter: int) -> list[HistoryEntry]:
    """Who moved the quarter's window, locked or unlocked it, granted or withdrew an exception,
    when and why; newest first. Three queries (periods, exceptions, the units' names)."""
    where = {"agency_id": agency.pk, "year": year, "quarter": quarter}
    periods = _history(ReportingPeriod, PERIOD_HISTORY_FIELDS, **where)
    exceptions = _history(EntryException, ("until",), extra=("unit_id",), **where)
    names = dict(Unit.objects.filter(agency=agency).values_list("id", "name"))
    locked = str(ReportingPeriod._meta.get_field("locked").verbose_name)
    words = {"True": gettext("已鎖定"), "False": gettext("未鎖定"), "": ""}
    return _newest_first(
        [
            replace(e, old=words[e.old], new=words[e.new]) if e.what == locked else e
            for e in _entries(periods, ReportingPeriod, PERIOD_HISTORY_FIELDS)
        ],
        _entries(
            exceptions,
            EntryException,
            ("until",),
            lambda row: f"{EntryException._meta.verbose_name}「{names.get(row.unit_id, '')}」",
        ),
    )
