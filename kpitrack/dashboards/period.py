"""Which year and quarter a dashboard shows: what the request asks for, read by the one period
form, and otherwise the latest quarter with approved data, never an empty year or quarter."""

from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext as _

from kpitrack.core.engine.calendar import FULL_YEAR
from kpitrack.core.forms import PeriodForm, YearField

from .selectors import Scope, latest_approved, years_of


class BadPeriod(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Period:
    year: int | None  # None: the scope has no indicators at all
    quarter: int
    notice: str | None  # said when the chosen year has no approved data yet
    years: list[int]


def resolve_period(data, scope: Scope) -> Period:
    """Raises BadPeriod with the form's message. Two or three queries."""
    years = years_of(scope)
    data = data.copy()
    asked_year, asked_quarter = bool(data.get("year")), bool(data.get("quarter"))
    latest = None
    if not asked_year:
        latest = latest_approved(scope)
        if latest is None and not years:
            return Period(None, FULL_YEAR, None, years)
        data["year"] = str(latest[0] if latest else years[0])
    form = PeriodForm(data)
    if not form.is_valid():
        raise BadPeriod(form.message)
    year, quarter = form.cleaned_data["year"], form.cleaned_data["quarter"]
    notice = None
    if not asked_quarter:
        if latest is None or latest[0] != year:
            latest = latest_approved(scope, year)
        if latest is None:
            notice = _("這個年度尚無已核定的資料。")
        else:
            quarter = latest[1]
    return Period(year, quarter, notice, years)


def parse_indicator_year(data, years: list[int]) -> int:
    """The asked year, else the newest; raises BadPeriod."""
    if not data.get("year"):
        return years[-1]
    try:
        year = YearField().clean(data["year"])
    except forms.ValidationError as exc:
        raise BadPeriod(exc.messages[0]) from None
    if year not in years:
        raise BadPeriod(_("這個指標在 %(year)s 年沒有資料。") % {"year": year})
    return year
