"""The rules every quarterly entry passes: the window, the state, the figures, and on submit the
explanation of a result behind its milestone (Q1-Q3) or short of the target (Q4)."""

from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from kpitrack.core.engine.achievement import Method, allows_negative, round_decimal
from kpitrack.core.engine.calendar import FULL_YEAR
from kpitrack.core.engine.numbers import (
    FIGURE_DECIMAL_PLACES,
    FIGURE_LIMIT,
    FigureError,
    parse_figure,
)
from kpitrack.core.prepared import Prepared

from ..models import (
    EntryException,
    Indicator,
    ReportingPeriod,
    Result,
    StrategicGoal,
)
from ..reasons import figure_bounds_message, figure_error_message
from ..selectors import falls_short
from .periods import (
    ResultLocked,
    WindowClosed,
    _check_year_quarter,
    _window_message,
    period_get_or_create,
)
from .results import _declared_inputs_error

# An agency's exceptions of a year's quarter, (unit id, until). In no order: a set (the model's,
# through agency and unit, would only cost). Its SQL is built once (kpitrack.core.prepared).
_EXCEPTIONS = Prepared(
    lambda agency_id, year, quarter: (
        EntryException.objects.filter(agency_id=agency_id, year=year, quarter=quarter)
        .order_by()
        .values_list("unit_id", "until")
    )
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
            # The exceptions open today: the quarter's few, kept by their date here (a date is
            # not a parameter a prepared read takes).
            self._excepted[key] = {
                unit_id
                for unit_id, until in _EXCEPTIONS(goal.agency_id, goal.year, self.quarter)
                if until >= self.today
            }
        return self._excepted[key]


def _check_window(indicator: Indicator, quarter: _Quarter) -> ReportingPeriod:
    period = quarter.period(indicator.goal)
    if period.opens_on <= quarter.today <= period.closes_on:
        return period
    unit = indicator.responsible_unit_id
    if unit is not None and unit in quarter.excepted_units(indicator.goal):
        return period
    raise WindowClosed(_window_message(period, quarter.today), period=period)


def _check_editable(state: str | None, indicator, quarter: int, shared: _Quarter | None = None):
    """Refuses entry to a frozen or reviewed result (`state` None: there is none yet), a locked
    quarter or a closed window. `indicator` needs its goal and responsible unit.

    A returned result may be fixed after the window: review happens after it closes.
    """
    if state in Result.FROZEN:
        raise ResultLocked(
            _("此成果%(state)s，不可修改；如需更正，請洽管理者重新開放並說明理由。")
            % {"state": Result.State(state).label}
        )
    if state in Result.UNDER_REVIEW:
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
            if exc.code in ("out_of_range", "too_many_decimals"):
                # The bounds of this input, not of storage: a count's lower bound is 0.
                low = -FIGURE_LIMIT if allows_negative(method) else Decimal(0)
                places = (
                    None if method in (Method.ORDINAL, Method.RATING) else FIGURE_DECIMAL_PLACES
                )
                errors[key] = figure_bounds_message(str(text), low, FIGURE_LIMIT, places=places)
            else:
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
    """Submitting a result behind its milestone (Q1-Q3) or short of the target (Q4) needs
    未達成原因 and 改善措施 (`narrative` by field name); `indicator` is an EntryIndicator,
    `figures` the quarter's. A draft saves whatever it holds: this is checked on submit."""
    raw = indicator.progress_raw_rate(quarter, figures)
    if not falls_short(raw):
        return
    policy = indicator.policy
    rate = round_decimal(raw, policy.decimals, policy.rounding)
    errors = {}
    for name in ("shortfall_reason", "improvement"):
        if not (narrative.get(name) or "").strip():
            values = {
                "rate": rate,
                "q": quarter,
                "field": Result._meta.get_field(name).verbose_name,
            }
            if quarter == FULL_YEAR:
                message = _("達成率 %(rate)s%% 未達目標，送出前必須填寫「%(field)s」。")
            else:
                message = _(
                    "第%(q)s季達成進度 %(rate)s%% 落後預定進度，送出前必須填寫「%(field)s」。"
                )
            errors[name] = message % values
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
