"""The completion board's reads: for one agency and quarter, per unit (for a ministry, per agency
under it), how far the quarter's results have come, the days to the entry deadline and the
on-time rate. A fixed number of queries however many units, agencies or indicators.

Counted per indicator of the year (its responsible unit): 未填 (no result for the quarter), 草稿,
已送出 (submitted or first-approved: in a reviewer's hands), 退回, 已核定. A locked quarter
counts each result by the state it had when locked.

On-time rate: of the indicators due (all the unit's indicators of the year), the share whose
result is now submitted, under review or approved and was first submitted on or before the
period's closing day (closes_on, local time). A late first submission never counts as on time,
and neither does a result sent back that is not yet submitted again."""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from budget.models import Agency, Unit

from .models import Indicator, Notification, ReportingPeriod, Result
from .period_reads import period_defaults
from .services.notifications import remind_event

State = Result.State
COLUMNS = ("not_entered", "draft", "submitted", "returned", "approved")
_COLUMN_OF = {
    State.DRAFT: "draft",
    State.SUBMITTED: "submitted",
    State.FIRST_APPROVED: "submitted",
    State.RETURNED: "returned",
    State.APPROVED: "approved",
}
_SENT = ("submitted", "approved")


@dataclass
class BoardRow:
    label: str
    agency: Agency
    unit: Unit | None  # None: a row of a whole agency (a ministry's board), or no unit
    closes_on: date
    days_left: int
    counts: dict = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))
    on_time: int = 0
    reminded_today: bool = False
    pending: list = field(default_factory=list)  # names of the indicators not yet sent

    @property
    def overdue(self) -> int:
        return -self.days_left

    @property
    def due(self) -> int:
        return sum(self.counts.values())

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.due if self.due else None

    @property
    def cells(self) -> list[int]:
        return [self.counts[c] for c in COLUMNS]


@dataclass
class Board:
    agency: Agency
    year: int
    quarter: int
    is_ministry: bool
    rows: list[BoardRow]


def _column(state: str, locked_from: str) -> str:
    if state == State.LOCKED:
        state = locked_from or State.APPROVED
    return _COLUMN_OF.get(state, "draft")


def completion_board(*, agency: Agency, year: int, quarter: int, today: date | None = None):
    """The board of `agency` (with the agencies directly under it when it has any: a ministry,
    one row per agency) for `quarter` of `year`. Seven queries."""
    today = today or timezone.localdate()
    agencies = [agency, *Agency.objects.filter(parent=agency).order_by("code")]
    is_ministry = len(agencies) > 1
    ids = [a.pk for a in agencies]
    by_id = {a.pk: a for a in agencies}
    periods = {
        p.agency_id: p
        for p in ReportingPeriod.objects.filter(agency_id__in=ids, year=year, quarter=quarter)
    }
    closes = {
        a.pk: periods[a.pk].closes_on
        if a.pk in periods
        else period_defaults(a, year, quarter)["closes_on"]
        for a in agencies
    }
    units = {u.pk: u for u in Unit.objects.filter(agency_id__in=ids).order_by("order", "code")}
    indicators = list(
        Indicator.objects.filter(goal__agency_id__in=ids, goal__year=year)
        .order_by("goal__order", "order", "code")
        .values_list("pk", "name", "goal__agency_id", "responsible_unit_id")
    )
    results = {
        indicator_id: (pk, state, locked_from)
        for pk, indicator_id, state, locked_from in Result.objects.filter(
            indicator__goal__agency_id__in=ids, indicator__goal__year=year, quarter=quarter
        ).values_list("pk", "indicator_id", "state", "locked_from")
    }
    first_sent = dict(
        Result.history.filter(id__in=[r[0] for r in results.values()], state=State.SUBMITTED)
        .values("id")
        .annotate(first=Min("history_date"))
        .values_list("id", "first")
    )
    rows: dict = {}

    def row_for(agency_id, unit_id) -> BoardRow:
        key = agency_id if is_ministry else unit_id
        if key not in rows:
            unit = None if is_ministry else units.get(unit_id)
            if is_ministry:
                label = by_id[agency_id].name
            else:
                label = unit.name if unit else _("未指定單位")
            rows[key] = BoardRow(
                label=label,
                agency=by_id[agency_id],
                unit=unit,
                closes_on=closes[agency_id],
                days_left=(closes[agency_id] - today).days,
            )
        return rows[key]

    if not is_ministry:  # every unit has a row, even one with nothing due
        for unit in units.values():
            row_for(agency.pk, unit.pk)
    for pk, name, agency_id, unit_id in indicators:
        row = row_for(agency_id, unit_id)
        result = results.get(pk)
        column = "not_entered" if result is None else _column(result[1], result[2])
        row.counts[column] += 1
        if column not in _SENT:
            row.pending.append(name)
        sent_at = first_sent.get(result[0]) if result else None
        if column in _SENT and sent_at and timezone.localdate(sent_at) <= row.closes_on:
            row.on_time += 1
    if not is_ministry and agency.pk in periods:
        events = {
            remind_event(row.unit, periods[agency.pk]): row
            for row in rows.values()
            if row.unit is not None
        }
        reminded = Notification.objects.filter(
            kind=Notification.Kind.REMINDER, event__in=list(events)
        ).values_list("event", flat=True)
        for event in set(reminded):
            events[event].reminded_today = True
    return Board(
        agency=agency, year=year, quarter=quarter, is_ministry=is_ministry, rows=list(rows.values())
    )
