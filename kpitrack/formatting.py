"""How figures, percentages and years read on every page, report, workbook and API answer."""

from decimal import Decimal

from django.utils.translation import gettext as _

from kpitrack.engine.calendar import to_roc


def roc_year(year) -> str:
    """民國 year with the Gregorian year beside it: 民國102年（2013）."""
    if year in (None, ""):
        return ""
    return _("民國%(roc)s年（%(year)s）") % {"roc": to_roc(int(year)), "year": year}


def roc(year):
    """The bare ROC year number, for headings that already say 年度."""
    if year in (None, ""):
        return ""
    return to_roc(int(year))


def figure(value) -> str:
    """A Decimal with thousands separators and no trailing zeros beyond its precision."""
    if value is None or value == "":
        return ""
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):,}"
    return f"{value.normalize():,f}"


def percent(value) -> str:
    if value is None or value == "":
        return ""
    return f"{figure(value)}%"
