"""Writes. Every change to a goal, indicator, target, result, figure or state goes through a
function here, so validation, the optimistic lock and attributed history have one place to live.

The lock unit is the aggregate root: a StrategicGoal; an Indicator with its inputs and target
parts; a Result with its figures. A change to existing data needs a reason and the version the
editor loaded; every row saved or deleted carries who and why into its history row. The version
is claimed on a fresh copy, so a refused call leaves the caller's object as it was.
"""

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from budget.models import Agency, Membership
from kpitrack.core import bulk
from kpitrack.core.engine.achievement import Method, allows_negative, round_decimal
from kpitrack.core.engine.calendar import FIRST_YEAR, LAST_YEAR, is_valid_quarter, is_valid_year
from kpitrack.core.engine.numbers import FigureError, parse_figure
from kpitrack.core.formatting import roc_year
from kpitrack.core.versioning import ConcurrentEditError, attribute, claim_version
from performance.permissions import (
    can_enter,
    can_final_review,
    can_first_review,
    can_manage,
    can_submit,
    require,
)

from . import outcomes
from .filetypes import accepted_kinds, sniff
from .models import (
    EntryException,
    Evidence,
    Indicator,
    IndicatorInput,
    ReminderSent,
    ReportingPeriod,
    Result,
    ResultFigure,
    StrategicGoal,
    TargetPart,
)
from .reasons import figure_error_message, undeclared_inputs_message
from .selectors import entry_indicators, falls_short

GOAL_FIELDS = ("agency", "year", "code", "order", "title")
INDICATOR_FIELDS = (
    "goal",
    "code",
    "order",
    "name",
    "evaluation_system",
    "evaluation_method",
    "measurement_standard",
    "target_text",
    "responsible_unit",
    "weight",
    "method",
    "aggregation",
    "formula",
    "baseline",
    "part_rate_cap",
)
INPUT_FIELDS = ("key", "label", "unit", "order")
PART_FIELDS = (
    "key",
    "label",
    "value",
    "original_value",
    "revision_reason",
    "unit",
    "weight",
    "order",
)
NARRATIVE_FIELDS = ("progress", "benefit", "shortfall_reason", "improvement", "remarks")
RESULT_FIELDS = (
    "owner_unit",
    *NARRATIVE_FIELDS,
    "published_text",
    "published_rate",
    "published_basis",
    "source",
    "layout",
)


def _require_reason(reason: str):
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("請說明修改理由。")}, code="reason_required")


def _check_fields(given: Iterable[str], allowed: Iterable[str]):
    unknown = set(given).difference(allowed)
    if unknown:
        raise ValidationError(
            _("未知的欄位：%(fields)s") % {"fields": "、".join(sorted(unknown))}, code="unknown"
        )


def _save(obj: models.Model, *, user, reason: str):
    obj.full_clean()
    attribute(obj, user=user, reason=reason)
    obj.save()
    return obj


def _delete(obj: models.Model, *, user, reason: str):
    # Deleted one by one (never a queryset delete) so each row leaves an attributed history row.
    attribute(obj, user=user, reason=reason)
    obj.delete()


def _changed(obj: models.Model, values: Mapping) -> bool:
    return any(getattr(obj, name) != value for name, value in values.items())


def _row_error(label: str, exc: ValidationError) -> ValidationError:
    """Names the inline row a message belongs to, so a list of them stays readable."""
    return ValidationError([f"「{label}」：{message}" for message in exc.messages], code="row")


# --- strategic goals -------------------------------------------------------------------------


@transaction.atomic
def strategic_goal_create(*, user, reason: str = "", **fields) -> StrategicGoal:
    _check_fields(fields, GOAL_FIELDS)
    return _save(StrategicGoal(**fields), user=user, reason=reason)


@transaction.atomic
def strategic_goal_update(
    *, goal: StrategicGoal, expected_version: int, user, reason: str, **fields
) -> StrategicGoal:
    _require_reason(reason)
    _check_fields(fields, GOAL_FIELDS)
    current = StrategicGoal.objects.get(pk=goal.pk)
    claim_version(current, expected_version)
    before = {(current.agency_id, current.year), (current.agency_id, current.year + 1)}
    for name, value in fields.items():
        setattr(current, name, value)
    _save(current, user=user, reason=reason)
    # Moving a goal to another year or agency moves its indicators' outcomes with it.
    outcomes.refresh(pairs=before | {(current.agency_id, current.year + n) for n in (0, 1)})
    return current


@transaction.atomic
def strategic_goal_delete(*, goal: StrategicGoal, expected_version: int, user, reason: str):
    """Deletes the goal with its indicators and their results, every row attributed."""
    _require_reason(reason)
    current = StrategicGoal.objects.get(pk=goal.pk)
    claim_version(current, expected_version)
    for indicator in current.indicators.all():
        _delete_indicator_tree(indicator, user=user, reason=reason)
    _delete(current, user=user, reason=reason)
    outcomes.refresh(pairs={(current.agency_id, current.year + 1)})


# --- indicators, their inputs and target parts -----------------------------------------------


def _revise(part: TargetPart, value: Decimal | None, reason: str):
    """A revised target keeps the value first set and says why it moved."""
    if part.original_value is None:
        part.original_value = part.value
    part.value = value
    part.revision_reason = reason


def _sync_rows(indicator, model, rows, fields, *, user, reason, revise=False):
    """Makes `indicator`'s inputs (or parts) exactly `rows`: a row with an `id` updates that row,
    one without updates the row of the same key or adds one; rows not listed are deleted."""
    existing = {obj.pk: obj for obj in model.objects.filter(indicator=indicator)}
    by_key = {obj.key: obj for obj in existing.values()}
    plan = []
    for row in rows:
        row = dict(row)
        row_id = row.pop("id", None)
        _check_fields(row, fields)
        if row_id is not None and row_id not in existing:
            raise ValidationError(_("資料列 %(id)s 不屬於此指標。") % {"id": row_id}, code="row")
        obj = existing.get(row_id) if row_id is not None else by_key.get(row.get("key"))
        plan.append((obj, row))
    kept = {obj.pk for obj, _row in plan if obj is not None}
    for pk, obj in existing.items():
        if pk not in kept:
            _delete(obj, user=user, reason=reason)
    for obj, row in plan:
        if obj is None:
            obj = model(indicator=indicator, **row)
            if revise and "original_value" not in row:
                obj.original_value = obj.value
        else:
            if not _changed(obj, row):
                continue
            if revise and "value" in row and row["value"] != obj.value:
                _revise(obj, row.pop("value"), row.pop("revision_reason", "") or reason)
            for name, new in row.items():
                setattr(obj, name, new)
        try:
            _save(obj, user=user, reason=reason)
        except ValidationError as exc:
            raise _row_error(obj.label or obj.key, exc) from None


def _write_indicator(indicator, *, inputs, parts, user, reason):
    """The indicator's own row, then its inputs and parts, then the checks that need all three."""
    indicator.clean_fields()
    indicator.validate_unique()
    indicator.validate_constraints()
    attribute(indicator, user=user, reason=reason)
    indicator.save()
    if inputs is not None:
        _sync_rows(indicator, IndicatorInput, inputs, INPUT_FIELDS, user=user, reason=reason)
    if parts is not None:
        _sync_rows(indicator, TargetPart, parts, PART_FIELDS, user=user, reason=reason, revise=True)
    indicator.check_formula(list(indicator.inputs.values_list("key", flat=True)))
    outcomes.refresh_for(indicator)
    return indicator


@transaction.atomic
def indicator_create(
    *,
    user,
    reason: str = "",
    inputs: Iterable[Mapping] = (),
    parts: Iterable[Mapping] = (),
    **fields,
) -> Indicator:
    _check_fields(fields, INDICATOR_FIELDS)
    return _write_indicator(
        Indicator(**fields), inputs=inputs, parts=parts, user=user, reason=reason
    )


@transaction.atomic
def indicator_update(
    *,
    indicator: Indicator,
    expected_version: int,
    user,
    reason: str,
    inputs: Iterable[Mapping] | None = None,
    parts: Iterable[Mapping] | None = None,
    **fields,
) -> Indicator:
    """Change the definition; `inputs`/`parts`, when given, are the complete new lists."""
    _require_reason(reason)
    _check_fields(fields, INDICATOR_FIELDS)
    current = Indicator.objects.get(pk=indicator.pk)
    claim_version(current, expected_version)
    moved_from = current.goal if "goal" in fields else None
    if moved_from is not None:
        outcomes.forget(indicator_id=current.pk)
    for name, value in fields.items():
        setattr(current, name, value)
    written = _write_indicator(current, inputs=inputs, parts=parts, user=user, reason=reason)
    if moved_from is not None:
        outcomes.refresh(pairs={(moved_from.agency_id, moved_from.year + n) for n in (0, 1)})
    return written


@transaction.atomic
def target_part_revise(
    *,
    part: TargetPart,
    value: Decimal | None,
    expected_version: int,
    user,
    reason: str,
    revision_reason: str = "",
) -> TargetPart:
    """Revise a target: the original value stays, the revision and its reason are recorded.

    `expected_version` is the indicator's: its parts are edited under its lock.
    """
    _require_reason(reason)
    indicator = Indicator.objects.get(pk=part.indicator_id)
    claim_version(indicator, expected_version)
    _save(indicator, user=user, reason=reason)
    current = TargetPart.objects.get(pk=part.pk)
    _revise(current, value, revision_reason or reason)
    _save(current, user=user, reason=reason)
    outcomes.refresh_for(indicator)
    return current


def _delete_indicator_tree(indicator: Indicator, *, user, reason: str):
    for result in indicator.results.all():
        _delete_result_tree(result, user=user, reason=reason)
    for row in [*indicator.inputs.all(), *indicator.parts.all()]:
        _delete(row, user=user, reason=reason)
    _delete(indicator, user=user, reason=reason)


@transaction.atomic
def indicator_delete(*, indicator: Indicator, expected_version: int, user, reason: str):
    """Deletes the indicator with its inputs, parts, results and figures, every row attributed."""
    _require_reason(reason)
    current = Indicator.objects.get(pk=indicator.pk)
    claim_version(current, expected_version)
    pairs = outcomes.pairs_after([current])
    _delete_indicator_tree(current, user=user, reason=reason)
    outcomes.refresh(pairs=pairs)


# --- results and their figures ---------------------------------------------------------------


def _declared_inputs_error(inputs: Iterable, bad: Iterable[str]) -> ValidationError:
    """`inputs` are the indicator's (anything with a key and a label)."""
    valid = "、".join(f"{i.label}（{i.key}）" for i in inputs)
    return ValidationError(
        {"figures": undeclared_inputs_message("、".join(sorted(bad)), valid)}, code="undeclared"
    )


def _write_figures(result: Result, *, figures, published, delete, user, reason):
    declared = set(result.indicator.inputs.values_list("key", flat=True))
    bad = (set(figures) | set(published)) - declared
    if bad:
        raise _declared_inputs_error(result.indicator.inputs.all(), bad)
    existing = {f.key: f for f in result.figures.all()}
    missing = set(delete) - set(existing)
    if missing:
        raise ValidationError(
            {
                "figures": _("沒有「%(keys)s」的填報數值可刪除。")
                % {"keys": "、".join(sorted(missing))}
            },
            code="missing",
        )
    for key in delete:
        _delete(existing.pop(key), user=user, reason=reason)
    for key in sorted(set(figures) | set(published)):
        figure = existing.get(key) or ResultFigure(result=result, key=key)
        values = {}
        if key in figures:
            values["value"] = figures[key]
        if key in published:
            values["published_rate"] = published[key]
        if figure.pk and not _changed(figure, values):
            continue
        for name, value in values.items():
            setattr(figure, name, value)
        try:
            _save(figure, user=user, reason=reason)
        except ValidationError as exc:
            raise _row_error(key, exc) from None


@transaction.atomic
def result_create(
    *,
    indicator: Indicator,
    quarter: int,
    user,
    reason: str = "",
    state: str = Result.State.DRAFT,
    figures: Mapping[str, Decimal | None] | None = None,
    published: Mapping[str, str] | None = None,
    **fields,
) -> Result:
    """A new quarter's result; `figures` by input key, `published` the printed part rates."""
    _check_fields(fields, RESULT_FIELDS)
    result = _save(
        Result(indicator=indicator, quarter=quarter, state=state, **fields),
        user=user,
        reason=reason,
    )
    _write_figures(
        result,
        figures=figures or {},
        published=published or {},
        delete=(),
        user=user,
        reason=reason,
    )
    outcomes.refresh_for(indicator)
    return result


@transaction.atomic
def result_update(
    *,
    result: Result,
    expected_version: int,
    user,
    reason: str,
    figures: Mapping[str, Decimal | None] | None = None,
    published: Mapping[str, str] | None = None,
    delete_figures: Iterable[str] = (),
    **fields,
) -> Result:
    """Change narrative and figures; refuse if the result changed since `expected_version`."""
    _require_reason(reason)
    _check_fields(fields, RESULT_FIELDS)
    current = Result.objects.select_related("indicator").get(pk=result.pk)
    claim_version(current, expected_version)
    for name, value in fields.items():
        setattr(current, name, value)
    _save(current, user=user, reason=reason)
    _write_figures(
        current,
        figures=figures or {},
        published=published or {},
        delete=list(delete_figures),
        user=user,
        reason=reason,
    )
    outcomes.refresh_for(current.indicator)
    return current


def result_figure_delete(
    *, figure: ResultFigure, expected_version: int, user, reason: str
) -> Result:
    """`expected_version` is the result's: its figures are edited under its lock."""
    return result_update(
        result=figure.result,
        expected_version=expected_version,
        user=user,
        reason=reason,
        delete_figures=[figure.key],
    )


@transaction.atomic
def result_state_set(
    *, result: Result, state: str, expected_version: int, user, reason: str
) -> Result:
    """An administrator sets a state directly; the review workflow will add its own rules."""
    _require_reason(reason)
    if state not in Result.State.values:
        raise ValidationError(
            {"state": _("「%(state)s」不是成果狀態。") % {"state": state}}, code="state"
        )
    current = Result.objects.select_related("indicator__goal").get(pk=result.pk)
    claim_version(current, expected_version)
    current.state = state
    _save(current, user=user, reason=reason)
    outcomes.refresh_for(current.indicator)  # only approved figures count
    return current


def _delete_result_tree(result: Result, *, user, reason: str):
    for figure in result.figures.all():
        _delete(figure, user=user, reason=reason)
    _delete(result, user=user, reason=reason)


@transaction.atomic
def result_delete(*, result: Result, expected_version: int, user, reason: str):
    _require_reason(reason)
    current = Result.objects.select_related("indicator__goal").get(pk=result.pk)
    claim_version(current, expected_version)
    _delete_result_tree(current, user=user, reason=reason)
    outcomes.refresh_for(current.indicator)


# --- the quarterly workflow ------------------------------------------------------------------
#
# A result moves only through these functions, each writing one attributed history row:
#
#   (none) --save_draft--> draft --submit--> submitted --first_approve--> first_approved
#   returned --submit--> submitted            submitted --first_approve--> approved (no 複核)
#   submitted --return--> returned            first_approved --final_approve--> approved
#   first_approved --return--> returned       approved/locked --reopen (admin)--> returned
#   any state --period_lock--> locked (the state it had is kept in locked_from)
#
# Figures and narrative change only in draft or returned; approved and locked results refuse
# every change but reopen.


class ResultLocked(Exception):
    """The result (or its quarter) is approved or locked, or under review: no change allowed."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class WindowClosed(Exception):
    """Today is outside the quarter's entry window and the unit has no exception."""

    def __init__(self, message: str, *, period: ReportingPeriod):
        super().__init__(message)
        self.message = message
        self.period = period


def _quarter_end(year: int, quarter: int) -> date:
    last_month = quarter * 3
    return date(year, last_month, calendar.monthrange(year, last_month)[1])


def _period_defaults(agency: Agency, year: int, quarter: int) -> dict:
    window = agency.entry_window_days
    review = agency.review_days
    opens_on = _quarter_end(year, quarter) + timedelta(days=1)
    closes_on = opens_on + timedelta(days=window)
    first_review_due = closes_on + timedelta(days=review)
    return {
        "opens_on": opens_on,
        "closes_on": closes_on,
        "first_review_due": first_review_due,
        "final_review_due": first_review_due + timedelta(days=review),
    }


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


@transaction.atomic
def period_get_or_create(*, agency: Agency, year: int, quarter: int) -> ReportingPeriod:
    """The quarter's period, created with the agency's defaults the first time it is asked for:
    entry opens the day after the quarter ends and closes `entry_window_days` later; each
    review level is due `review_days` after the one before."""
    _check_year_quarter(year, quarter)
    period = ReportingPeriod.objects.filter(agency=agency, year=year, quarter=quarter).first()
    if period is not None:
        return period
    period = ReportingPeriod(
        agency=agency, year=year, quarter=quarter, **_period_defaults(agency, year, quarter)
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


@transaction.atomic
def period_update(
    *, period: ReportingPeriod, expected_version: int, user, reason: str, **dates
) -> ReportingPeriod:
    """Move the window or a review deadline (administrator)."""
    require(can_manage(user, period.agency))
    _require_reason(reason)
    _check_fields(dates, PERIOD_DATES)
    current = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    claim_version(current, expected_version)
    for name, value in dates.items():
        setattr(current, name, value)
    return _save(current, user=user, reason=reason)


@transaction.atomic
def entry_exception_grant(
    *, agency: Agency, unit, year: int, quarter: int, until: date, user, reason: str
) -> EntryException:
    """Let one unit enter one quarter until `until`, whatever the window says (administrator)."""
    require(can_manage(user, agency))
    _require_reason(reason)
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
    return _save(exception, user=user, reason=reason)


@transaction.atomic
def period_lock(*, period: ReportingPeriod, user, reason: str) -> ReportingPeriod:
    """Freeze a quarter: every result of it becomes 已鎖定, remembering the state it was in;
    no result can be added. Only `result_reopen` changes a locked result afterwards."""
    require(can_manage(user, period.agency))
    _require_reason(reason)
    current = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    if current.locked:
        raise ResultLocked(_("本季已經鎖定。"))
    current.locked = True
    current.version += 1
    _save(current, user=user, reason=reason)
    results = Result.objects.select_for_update().filter(
        indicator__goal__agency=current.agency,
        indicator__goal__year=current.year,
        quarter=current.quarter,
    )
    for result in results.exclude(state=Result.State.LOCKED):
        result.locked_from = result.state
        result.state = Result.State.LOCKED
        result.version += 1
        _save(result, user=user, reason=reason)
    outcomes.refresh(pairs={(current.agency_id, current.year)})
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


class _Quarter:
    """What the checks of one quarter's entries share, each read once however many indicators
    are entered: the quarter's period per agency and year, and the units with an open
    exception."""

    def __init__(self, quarter: int):
        self.quarter = quarter
        self.today = timezone.localdate()
        self._periods: dict[tuple[int, int], ReportingPeriod] = {}
        self._excepted: dict[tuple[int, int], set[int]] = {}
        self._years: set[int] = set()

    def check_year(self, year: int):
        """_check_year_quarter, once per year however many indicators are entered."""
        if year not in self._years:
            _check_year_quarter(year, self.quarter)
            self._years.add(year)

    def period(self, goal: StrategicGoal) -> ReportingPeriod:
        key = (goal.agency_id, goal.year)
        if key not in self._periods:
            self._periods[key] = period_get_or_create(
                agency=goal.agency, year=goal.year, quarter=self.quarter
            )
        return self._periods[key]

    def excepted_units(self, goal: StrategicGoal) -> set[int]:
        key = (goal.agency_id, goal.year)
        if key not in self._excepted:
            self._excepted[key] = set(
                EntryException.objects.filter(
                    agency_id=goal.agency_id,
                    year=goal.year,
                    quarter=self.quarter,
                    until__gte=self.today,
                ).values_list("unit_id", flat=True)
            )
        return self._excepted[key]


def _check_window(indicator: Indicator, quarter: _Quarter) -> ReportingPeriod:
    period = quarter.period(indicator.goal)
    if period.opens_on <= quarter.today <= period.closes_on:
        return period
    unit = indicator.responsible_unit_id
    if unit is not None and unit in quarter.excepted_units(indicator.goal):
        return period
    raise WindowClosed(_window_message(period, quarter.today), period=period)


_UNDER_REVIEW = (Result.State.SUBMITTED, Result.State.FIRST_APPROVED)
_FROZEN = (Result.State.APPROVED, Result.State.LOCKED)
_EDITABLE = (Result.State.DRAFT, Result.State.RETURNED)


def _check_editable(state: str | None, indicator, quarter: int, shared: _Quarter | None = None):
    """Refuses entry to a frozen or reviewed result (`state` None: there is none yet), a locked
    quarter or a closed window. `indicator` needs its goal and responsible unit.

    A returned result may be fixed after the window: review happens after it closes.
    """
    if state in _FROZEN:
        raise ResultLocked(
            _("此成果%(state)s，不可修改；如需更正，請洽管理者重新開放並說明理由。")
            % {"state": Result.State(state).label}
        )
    if state in _UNDER_REVIEW:
        raise ResultLocked(
            _("此成果%(state)s，審核中不可修改；如需修改，請審核人退回。")
            % {"state": Result.State(state).label}
        )
    if state is not None and state != Result.State.DRAFT:
        return
    shared = shared or _Quarter(quarter)
    # A locked quarter has every result locked already; only a new one can still be refused.
    if state is None and shared.period(indicator.goal).locked:
        raise ResultLocked(_("本季已由管理者鎖定，不可再填報。"))
    _check_window(indicator, shared)


def _clean_figures(method: str, inputs: Iterable, raw: Mapping) -> dict[str, Decimal | None]:
    """Every entered figure parsed and checked against the method, each problem on its key;
    `inputs` are the indicator's (anything with a key and a label), in their order."""
    inputs = {i.key: i for i in inputs}
    undeclared = raw.keys() - inputs.keys()
    if undeclared:
        raise _declared_inputs_error(inputs.values(), undeclared)
    errors, values = {}, {}
    for key, text in raw.items():
        if text is None or (isinstance(text, str) and not text.strip()):
            values[key] = None
            continue
        try:
            value = parse_figure(text)
        except FigureError as exc:
            errors[key] = figure_error_message(exc)
            continue
        label = inputs[key].label
        if value < 0 and not allows_negative(method):
            errors[key] = _("「%(label)s」不可為負數。") % {"label": label}
        elif method == Method.ORDINAL and value != value.to_integral_value():
            errors[key] = _("「%(label)s」必須是整數的等第代碼。") % {"label": label}
        elif method == Method.RATING and value not in (0, 1):
            errors[key] = _("「%(label)s」只能填 1（達成）或 0（未達成）。") % {"label": label}
        else:
            values[key] = value
    if method == Method.RATIO and len(inputs) == 2:
        numerator, denominator = list(inputs)
        top, bottom = values.get(numerator), values.get(denominator)
        if top is not None and bottom is not None and top > bottom:
            errors[numerator] = _("分子「%(top)s」不可大於分母「%(bottom)s」。") % {
                "top": inputs[numerator].label,
                "bottom": inputs[denominator].label,
            }
    if errors:
        raise ValidationError(errors, code="figure")
    return values


def _check_shortfall(indicator, quarter: int, figures, narrative: Mapping[str, str]):
    """Falling short of the target needs 未達成原因 and 改善措施 (`narrative` by field name);
    `indicator` is an EntryIndicator, `figures` the quarter's."""
    raw = indicator.raw_rate(quarter, figures)
    if not falls_short(raw):
        return
    policy = indicator.policy
    rate = round_decimal(raw, policy.decimals, policy.rounding)
    errors = {}
    for name in ("shortfall_reason", "improvement"):
        if not (narrative.get(name) or "").strip():
            errors[name] = _("達成率 %(rate)s%% 未達目標，必須填寫「%(field)s」。") % {
                "rate": rate,
                "field": Result._meta.get_field(name).verbose_name,
            }
    if errors:
        raise ValidationError(errors, code="shortfall")


def _locked_result(result_or_pk) -> Result:
    pk = getattr(result_or_pk, "pk", result_or_pk)
    # Only the result's row: PostgreSQL refuses FOR UPDATE on the nullable side of the outer
    # join that the optional responsible unit brings.
    return (
        Result.objects.select_for_update(of=("self",))
        .select_related("indicator__goal__agency", "indicator__responsible_unit")
        .get(pk=pk)
    )


@dataclass(frozen=True)
class DraftEntry:
    """One indicator's figures and narrative for `results_save_drafts`. `expected_version` is
    None for a result not there yet; a figure is a Decimal, a string as typed, or None to leave
    it empty."""

    indicator_id: int
    figures: Mapping[str, Decimal | str | None]
    narrative: Mapping[str, str]
    expected_version: int | None


class DraftsRefused(Exception):
    """At least one entry was refused, so none was written. `refusals` maps each refused
    entry's index to what `result_save_draft` would have raised for it alone."""

    def __init__(self, refusals: dict[int, Exception]):
        super().__init__(f"{len(refusals)} refused")
        self.refusals = refusals


@dataclass
class _Draft:
    """A checked entry: the result's row as it will be (every field, by attname), its recorded
    figures (key -> (id, value, published rate)) and the entered values."""

    row: dict
    new: bool
    recorded: dict[str, tuple[int, Decimal | None, str]]
    values: dict[str, Decimal | None]


_REFUSALS = (ValidationError, PermissionDenied, ConcurrentEditError, ResultLocked, WindowClosed)
_RESULT_COLUMNS = tuple(f.attname for f in Result._meta.concrete_fields)
_STALE = gettext_lazy("這筆資料在您開啟後已被其他人修改，請重新載入確認最新內容後再修改。")


def _stored_results(indicators: dict, quarter: int):
    """The quarter's results of `indicators` (EntryIndicator by id), locked, as rows (by
    indicator id), and their figures."""
    rows = {
        row["indicator_id"]: row
        for row in Result.objects.select_for_update()
        .filter(indicator_id__in=list(indicators), quarter=quarter)
        .values(*_RESULT_COLUMNS)
    }
    figures: dict[int, dict[str, tuple[int, Decimal | None, str]]] = {}
    by_result = {row["id"]: row["indicator_id"] for row in rows.values()}
    for pk, result_id, key, value, published in ResultFigure.objects.filter(
        result__quarter=quarter, result__indicator__goal_id__in=_goals(indicators)
    ).values_list("id", "result_id", "key", "value", "published_rate"):
        if result_id in by_result:
            figures.setdefault(by_result[result_id], {})[key] = (pk, value, published)
    return rows, figures


def _goals(indicators: dict) -> set[int]:
    # Rows are looked up by goal and kept by id: see selectors._entry_rows.
    return {indicator.goal.pk for indicator in indicators.values()}


def _current(row: dict | None) -> Result | None:
    return Result.objects.filter(pk=row["id"]).first() if row else None


def _draft(entry: DraftEntry, indicator, stored, recorded, shared: _Quarter, *, user) -> _Draft:
    """One entry through every check but the shortfall, in the order a single save has always
    made them; raises the first refusal."""
    if indicator is None:
        raise ValidationError(_("這個指標已不存在。"), code="missing")
    require(can_enter(user, indicator))
    shared.check_year(indicator.goal.year)
    _check_fields(entry.narrative, NARRATIVE_FIELDS)
    if stored is not None and stored["version"] != entry.expected_version:
        raise ConcurrentEditError(str(_STALE), current=_current(stored))
    if stored is None and entry.expected_version is not None:
        raise ConcurrentEditError(_("這筆成果已被刪除，請重新載入。"), current=None)
    _check_editable(stored["state"] if stored else None, indicator, shared.quarter, shared)
    values = _clean_figures(indicator.method, indicator.inputs, entry.figures)
    if stored is None:
        row = {
            **_NEW_RESULT,
            "indicator_id": indicator.pk,
            "quarter": shared.quarter,
            "state": Result.State.DRAFT,
            "owner_unit_id": indicator.responsible_unit_id,
        }
    else:
        row = dict(stored)
    for name, text in entry.narrative.items():
        # Unlimited text fields: what full_clean would check of them is that they are text.
        if text is not None and not isinstance(text, str):
            raise ValidationError({name: _("必須是文字。")}, code="narrative")
        row[name] = text or ""
    return _Draft(row, stored is None, recorded or {}, values)


_NEW_RESULT = bulk.defaults(Result)


@transaction.atomic
def results_save_drafts(
    *, quarter: int, entries: Sequence[DraftEntry], user, reason: str = ""
) -> None:
    """Create or change many indicators' results of one quarter as drafts (a returned one
    stays returned), all or none: what `result_save_draft` does for one, with the same checks
    in the same order, in a number of queries that does not grow with the entries.

    Raises DraftsRefused, naming every refused entry, having written nothing; or
    ConcurrentEditError when somebody else entered one of these quarters for the first time
    while this ran (the database's uniqueness refuses the whole batch).
    """
    ids = [entry.indicator_id for entry in entries]
    indicators = entry_indicators(ids=ids)
    stored, recorded = _stored_results(indicators, quarter)
    shared = _Quarter(quarter)
    drafts: dict[int, _Draft] = {}
    refusals: dict[int, Exception] = {}
    seen: set[int] = set()
    for index, entry in enumerate(entries):
        indicator = indicators.get(entry.indicator_id)
        try:
            if entry.indicator_id in seen:
                raise ValidationError(_("同一個指標在這批資料中出現兩次。"), code="twice")
            seen.add(entry.indicator_id)
            draft = _draft(
                entry,
                indicator,
                stored.get(entry.indicator_id),
                recorded.get(entry.indicator_id),
                shared,
                user=user,
            )
            figures = {key: value for key, (_pk, value, _published) in draft.recorded.items()}
            _check_shortfall(indicator, quarter, {**figures, **draft.values}, draft.row)
        except _REFUSALS as exc:
            refusals[index] = exc
        else:
            drafts[index] = draft
    if refusals:
        raise DraftsRefused(refusals)
    _write_drafts(list(drafts.values()), user=user, reason=reason)


def _write_drafts(drafts: list[_Draft], *, user, reason: str):
    """The drafts' rows, their figures and every history row: a few statements for all."""
    now = timezone.now()
    user_id = user.pk if user is not None and user.is_authenticated else None
    logged = {"user_id": user_id, "reason": reason, "when": now}
    new = [d.row for d in drafts if d.new]
    changed = [d.row for d in drafts if not d.new]
    for row in new:
        row["updated_at"] = now
    for row in changed:
        row["updated_at"] = now
        row["version"] += 1
    try:
        with transaction.atomic():
            pks = bulk.insert(Result, new)
    except IntegrityError:
        # A first save of the same quarter by somebody else got in between: theirs won.
        raise ConcurrentEditError(str(_STALE), current=None) from None
    for row, pk in zip(new, pks, strict=True):
        row["id"] = pk
    bulk.update(Result, changed, [*NARRATIVE_FIELDS, "version", "updated_at"])
    bulk.history(Result, new, new=True, **logged)
    bulk.history(Result, changed, new=False, **logged)
    added, altered = [], []
    for draft in drafts:
        for key in sorted(draft.values):
            pk, value, published = draft.recorded.get(key, (None, None, ""))
            if pk is not None and value == draft.values[key]:
                continue
            row = {
                "id": pk,
                "result_id": draft.row["id"],
                "key": key,
                "value": draft.values[key],
                "published_rate": published,
            }
            (altered if pk is not None else added).append(row)
    for row, pk in zip(added, bulk.insert(ResultFigure, added), strict=True):
        row["id"] = pk
    bulk.update(ResultFigure, altered, ["value"])
    bulk.history(ResultFigure, added, new=True, **logged)
    bulk.history(ResultFigure, altered, new=False, **logged)


def result_save_draft(
    *,
    indicator: Indicator,
    quarter: int,
    figures: Mapping[str, Decimal | str | None],
    narrative: Mapping[str, str],
    expected_version: int | None,
    user,
    reason: str = "",
) -> Result:
    """Create or change the quarter's result as a draft (a returned one stays returned).

    `expected_version` is None for a result not there yet; a figure is a Decimal, a string as
    typed, or None to leave it empty. Raises ValidationError (keyed by input key or narrative
    field), PermissionDenied, ConcurrentEditError, ResultLocked, WindowClosed.
    """
    entry = DraftEntry(indicator.pk, figures, narrative, expected_version)
    with transaction.atomic():
        try:
            results_save_drafts(quarter=quarter, entries=[entry], user=user, reason=reason)
        except DraftsRefused as exc:
            raise exc.refusals[0] from None
        return Result.objects.get(indicator_id=indicator.pk, quarter=quarter)


def _transition(result: Result, expected_version: int, allowed_from, to: str, *, user, reason):
    current = _locked_result(result)
    if current.state not in allowed_from:
        raise ResultLocked(
            _("此成果目前為「%(state)s」，不能執行這個動作。")
            % {"state": current.get_state_display()}
        )
    claim_version(current, expected_version)
    current.state = to
    return current


@transaction.atomic
def result_submit(*, result: Result, expected_version: int, user, reason: str = "") -> Result:
    """The unit sends a draft (or a fixed returned result) for 初核: every figure entered."""
    current = _locked_result(result)
    require(can_submit(user, current.indicator))
    _check_editable(current.state, current.indicator, current.quarter)
    figures = {f.key: f.value for f in current.figures.all()}
    missing = {
        i.key: _("送出前必須填寫「%(label)s」。") % {"label": i.label}
        for i in current.indicator.inputs.all()
        if figures.get(i.key) is None
    }
    if missing:
        raise ValidationError(missing, code="required")
    entry = entry_indicators(ids=[current.indicator_id])[current.indicator_id]
    narrative = {name: getattr(current, name) for name in NARRATIVE_FIELDS}
    _check_shortfall(entry, current.quarter, figures, narrative)
    current = _transition(
        current, expected_version, _EDITABLE, Result.State.SUBMITTED, user=user, reason=reason
    )
    return _save(current, user=user, reason=reason)


@transaction.atomic
def result_first_approve(
    *, result: Result, expected_version: int, user, reason: str = ""
) -> Result:
    """初核 approves; when the agency has switched 複核 off this approval is final."""
    current = _locked_result(result)
    agency = current.indicator.goal.agency
    require(can_first_review(user, agency))
    to = Result.State.FIRST_APPROVED if agency.second_review else Result.State.APPROVED
    current = _transition(
        current, expected_version, (Result.State.SUBMITTED,), to, user=user, reason=reason
    )
    current.review_comment = ""
    _save(current, user=user, reason=reason)
    outcomes.refresh_for(current.indicator)  # approved figures now count
    return current


@transaction.atomic
def result_final_approve(
    *, result: Result, expected_version: int, user, reason: str = ""
) -> Result:
    """複核 approves: the figures are final and frozen."""
    current = _locked_result(result)
    require(can_final_review(user, current.indicator.goal.agency))
    current = _transition(
        current,
        expected_version,
        (Result.State.FIRST_APPROVED,),
        Result.State.APPROVED,
        user=user,
        reason=reason,
    )
    current.review_comment = ""
    _save(current, user=user, reason=reason)
    outcomes.refresh_for(current.indicator)  # approved figures now count
    return current


@transaction.atomic
def result_return(*, result: Result, expected_version: int, user, comment: str) -> Result:
    """初核 (a submitted result) or 複核 (a first-approved one) sends it back with a comment
    that the unit sees until it is approved."""
    if not comment or not comment.strip():
        raise ValidationError({"comment": _("退回時請說明需要修正之處。")}, code="required")
    current = _locked_result(result)
    agency = current.indicator.goal.agency
    if current.state == Result.State.FIRST_APPROVED:
        require(can_final_review(user, agency))
    else:
        require(can_first_review(user, agency))
    current = _transition(
        current, expected_version, _UNDER_REVIEW, Result.State.RETURNED, user=user, reason=comment
    )
    current.review_comment = comment.strip()
    return _save(current, user=user, reason=comment)


@transaction.atomic
def result_reopen(*, result: Result, expected_version: int, user, reason: str) -> Result:
    """An administrator reopens an approved or locked result for correction: it goes back to
    the unit as returned, with the reason as the comment."""
    current = _locked_result(result)
    require(can_manage(user, current.indicator.goal.agency))
    _require_reason(reason)
    current = _transition(
        current, expected_version, _FROZEN, Result.State.RETURNED, user=user, reason=reason
    )
    current.locked_from = ""
    current.review_comment = reason.strip()
    _save(current, user=user, reason=reason)
    outcomes.refresh_for(current.indicator)  # its figures no longer count until approved again
    return current


# --- evidence --------------------------------------------------------------------------------


@transaction.atomic
def evidence_add(*, result: Result, upload, user, reason: str = "") -> Evidence:
    """Attach a file: its size within EVIDENCE_MAX_BYTES and its content one of the accepted
    kinds (whatever its name says). Only while the result may be edited."""
    current = _locked_result(result)
    require(can_enter(user, current.indicator))
    _check_editable(current.state, current.indicator, current.quarter)
    limit = settings.EVIDENCE_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            {
                "file": _("檔案大小 %(size)s 超過上限 %(limit)s。")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            },
            code="too_large",
        )
    if upload.size == 0:
        raise ValidationError({"file": _("檔案是空的。")}, code="empty")
    upload.seek(0)
    kind = sniff(upload)
    upload.seek(0)
    if kind is None:
        raise ValidationError(
            {
                "file": _("「%(name)s」的內容不是可接受的檔案類型（%(kinds)s）。")
                % {"name": upload.name, "kinds": accepted_kinds()}
            },
            code="type",
        )
    if not kind.matches(upload.name):
        raise ValidationError(
            {
                "file": _("「%(name)s」的內容是 %(kind)s，與副檔名不符。")
                % {"name": upload.name, "kind": kind.label}
            },
            code="type",
        )
    evidence = Evidence(
        result=current,
        original_name=Path(upload.name).name[:255],
        content_type=kind.content_type,
        size=upload.size,
        uploaded_by=user,
    )
    evidence.file.save(upload.name, upload, save=False)
    # A refused write must not leave the file behind.
    try:
        return _save(evidence, user=user, reason=reason or _("上傳佐證資料"))
    except Exception:
        evidence.file.delete(save=False)
        raise


@transaction.atomic
def evidence_delete(*, evidence: Evidence, user, reason: str) -> None:
    """Remove a file: its history row stays, the stored file goes once the deletion commits."""
    _require_reason(reason)
    current = Evidence.objects.select_related("result").get(pk=evidence.pk)
    result = _locked_result(current.result_id)
    require(can_enter(user, result.indicator))
    _check_editable(result.state, result.indicator, result.quarter)
    name, storage = current.file.name, current.file.storage
    _delete(current, user=user, reason=reason)
    transaction.on_commit(lambda: storage.delete(name))


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
        pending = [i for i in indicators if states.get(i.pk, Result.State.DRAFT) in _EDITABLE]
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
