"""Reporting periods: entry windows, review deadlines, exceptions and locks."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from budget.models import Agency
from kpitrack.core import writes
from kpitrack.core.engine.calendar import FIRST_YEAR, LAST_YEAR, is_valid_quarter, is_valid_year
from kpitrack.core.formatting import roc_year
from kpitrack.core.prepared import Prepared, model_columns, model_from_row
from kpitrack.core.refusals import Conflict, Locked
from kpitrack.core.versioning import attribute, claim_version
from performance.permissions import (
    can_manage,
    require,
)

from ..models import (
    EntryException,
    ReportingPeriod,
    Result,
)
from ..period_reads import period_defaults

# --- the quarterly workflow ------------------------------------------------------------------
#
# A result moves only through these functions, each writing one attributed history row:
#
#   (none) --save_draft--> draft --submit--> submitted --first_approve--> first_approved
#   returned --submit--> submitted            submitted --first_approve--> approved (no 複核)
#   submitted --return--> returned            first_approved --final_approve--> approved
#   first_approved --return--> returned       approved/locked --reopen (admin)--> returned
#   any state --period_lock--> locked (the state it had is kept in locked_from)
#   locked --period_unlock--> the state kept in locked_from
#
# Figures and narrative change only in draft or returned; approved and locked results refuse
# every change but reopen.


class ResultLocked(Locked):
    """The result (or its quarter) is approved or locked, or under review: no change allowed."""


class WindowClosed(Locked):
    """Today is outside the quarter's entry window and the unit has no exception."""

    def __init__(self, message: str, *, period: ReportingPeriod):
        super().__init__(message)
        self.period = period


def _check_year_quarter(year, quarter):
    errors = {}
    if not is_valid_year(year):
        errors["year"] = _("年度必須介於 %(first)s 與 %(last)s 之間。") % {
            "first": FIRST_YEAR,
            "last": LAST_YEAR,
        }
    if not is_valid_quarter(quarter):
        errors["quarter"] = _("季別必須是 1 至 4。")
    if errors:
        raise ValidationError(errors, code="period")


# One at most: the model's order (through the agency) would only cost. Every column, in the
# model's order (what `from_db` takes). Every save of a draft reads it: its SQL is built once
# (kpitrack.core.prepared).
_PERIOD = Prepared(
    lambda agency_id, year, quarter: (
        ReportingPeriod.objects.filter(agency_id=agency_id, year=year, quarter=quarter)
        .order_by()
        .values_list(*model_columns(ReportingPeriod))[:1]
    )
)


def period_get_or_create(*, agency: Agency, year: int, quarter: int) -> ReportingPeriod:
    """The quarter's period, created with the agency's defaults the first time it is asked for:
    entry opens the day after the quarter ends and closes `entry_window_days` later; each
    review level is due `review_days` after the one before. Reading one that is there takes
    no transaction (nor a savepoint inside one): only a creation is a write."""
    _check_year_quarter(year, quarter)
    found = _PERIOD(agency.pk, year, quarter)
    if found:
        return model_from_row(ReportingPeriod, found[0])
    return _period_create(agency=agency, year=year, quarter=quarter)


@writes.atomic
def _period_create(*, agency: Agency, year: int, quarter: int) -> ReportingPeriod:
    period = ReportingPeriod(
        agency=agency, year=year, quarter=quarter, **period_defaults(agency, year, quarter)
    )
    period.full_clean()
    attribute(period, user=None, reason=_("依機關預設建立"))
    try:
        with transaction.atomic():
            period.save()
    except IntegrityError:
        # Somebody else created it in the meantime: theirs is the same defaults.
        return ReportingPeriod.objects.get(agency=agency, year=year, quarter=quarter)
    return period


PERIOD_DATES = ("opens_on", "closes_on", "first_review_due", "final_review_due")


@writes.atomic
def period_update(
    *, period: ReportingPeriod, expected_version: int, user, reason: str, **dates
) -> ReportingPeriod:
    """Move the window or a review deadline (administrator)."""
    require(can_manage(user, period.agency))
    writes.require_reason(reason)
    writes.check_fields(dates, PERIOD_DATES)
    current = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    claim_version(current, expected_version)
    return writes.model_update(current, data=dates, user=user, reason=reason)[0]


@writes.atomic
def entry_exception_grant(
    *, agency: Agency, unit, year: int, quarter: int, until: date, user, reason: str
) -> EntryException:
    """Let one unit enter one quarter until `until`, whatever the window says (administrator).
    A unit may hold several; the latest date counts."""
    require(can_manage(user, agency))
    writes.require_reason(reason)
    _check_year_quarter(year, quarter)
    exception = EntryException(
        agency=agency,
        unit=unit,
        year=year,
        quarter=quarter,
        until=until,
        reason=reason,
        granted_by=user,
    )
    return writes.save(exception, user=user, reason=reason)


@writes.atomic
def entry_exception_withdraw(*, exception: EntryException, user, reason: str) -> None:
    """Take an exception back (administrator): it opens entry no more. The row is deleted; its
    history keeps who granted and who withdrew it, and why."""
    require(can_manage(user, exception.agency))
    writes.require_reason(reason)
    current = EntryException.objects.select_for_update().filter(pk=exception.pk).first()
    if current is None:
        raise ValidationError(_("這項例外已被撤回。"), code="gone")
    writes.delete(current, user=user, reason=reason)


@writes.atomic
def period_lock(*, period: ReportingPeriod, user, reason: str) -> ReportingPeriod:
    """Freeze a quarter: every result of it becomes 已鎖定, remembering the state it was in;
    no result can be added. Only `result_reopen` changes a locked result afterwards."""
    require(can_manage(user, period.agency))
    writes.require_reason(reason)
    current = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    if current.locked:
        raise ResultLocked(_("本季已經鎖定。"))
    current.locked = True
    current.version += 1
    writes.save(current, user=user, reason=reason)
    results = Result.objects.select_for_update().filter(
        indicator__goal__agency=current.agency,
        indicator__goal__year=current.year,
        quarter=current.quarter,
    )
    for result in results.exclude(state=Result.State.LOCKED):
        result.locked_from = result.state
        result.state = Result.State.LOCKED
        result.version += 1
        writes.save(result, user=user, reason=reason)
    return current


@writes.atomic
def period_unlock(*, period: ReportingPeriod, user, reason: str) -> ReportingPeriod:
    """Undo a lock (administrator): every result the lock froze goes back to the state it was
    in (a reopened one is left as it is now), and new results may be entered again within the
    window."""
    require(can_manage(user, period.agency))
    writes.require_reason(reason)
    current = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    if not current.locked:
        # Somebody unlocked it since the page was loaded.
        raise Conflict(_("本季並未鎖定（可能已由其他管理者解除）。"))
    current.locked = False
    current.version += 1
    writes.save(current, user=user, reason=reason)
    results = Result.objects.select_for_update().filter(
        indicator__goal__agency=current.agency,
        indicator__goal__year=current.year,
        quarter=current.quarter,
        state=Result.State.LOCKED,
    )
    for result in results:
        # A result locked without a remembered state (loaded as locked) goes back to the unit,
        # as a reopened one does, rather than being promoted to a state nobody gave it.
        result.state = result.locked_from or Result.State.RETURNED
        result.locked_from = ""
        result.version += 1
        writes.save(result, user=user, reason=reason)
    return current


def _window_message(period: ReportingPeriod, today: date) -> str:
    values = {
        "year": roc_year(period.year),
        "quarter": period.quarter,
        "opens": period.opens_on.isoformat(),
        "closes": period.closes_on.isoformat(),
        "today": today.isoformat(),
    }
    if today < period.opens_on:
        return (
            _(
                "%(year)s第%(quarter)s季的填報期間為 %(opens)s 至 %(closes)s，"
                "尚未開放（今天是 %(today)s）。"
            )
            % values
        )
    return (
        _(
            "%(year)s第%(quarter)s季的填報期間為 %(opens)s 至 %(closes)s，已於 %(closes)s 截止"
            "（今天是 %(today)s）；如需逾期填報，請洽管理者開放例外。"
        )
        % values
    )
