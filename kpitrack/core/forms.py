"""The period form: which year, how far into it, and (where the caller allows) which agency.
Pages, the API, the report views and `render_report` all read a period through it, so a bad
value gets the same message everywhere."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kpitrack.core.engine.calendar import (
    FIRST_YEAR,
    FULL_YEAR,
    LAST_YEAR,
    Problem,
    parse_quarter,
    parse_year,
)


class _CalendarField(forms.CharField):
    """Text read by a calendar parser; each problem it reports has its message here."""

    parse = None
    messages: dict[Problem, str] = {}

    def __init__(self, *, default=None, messages=None, **kwargs):
        self.default = default
        super().__init__(required=default is None, **kwargs)
        self.messages = {**self.messages, **(messages or {})}
        self.error_messages["required"] = self.messages[Problem.MISSING]

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return self.default
        parsed = type(self).parse(value)
        if not parsed.ok:
            raise forms.ValidationError(
                self.messages[parsed.problem],
                code=parsed.problem.value,
                params={"first": FIRST_YEAR, "last": LAST_YEAR},
            )
        return parsed.value


class YearField(_CalendarField):
    """A Gregorian year within kpitrack's bounds, typed as ASCII digits."""

    parse = staticmethod(parse_year)
    messages = {
        Problem.MISSING: _("請指定年度（西元年，例如 2013）。"),
        Problem.NOT_A_NUMBER: _("年度必須是西元年的數字，例如 2013。"),
        Problem.OUT_OF_RANGE: _("年度必須介於 %(first)s 與 %(last)s 之間。"),
    }


class QuarterField(_CalendarField):
    """How far into the year: through quarter 1-4."""

    parse = staticmethod(parse_quarter)
    messages = dict.fromkeys(Problem, _("季別必須是 1 到 4 的整數。"))


class PeriodForm(forms.Form):
    """A year and a quarter-to-date (default: the whole year), and an agency code when the
    caller passes how to look one up (`agency_by_code`: a code's agency, or None; e.g.
    budget.selectors.agency_by_code); without it there is no agency field.
    `cleaned_data["agency"]` is then an Agency or None."""

    year = YearField()
    quarter = QuarterField(default=FULL_YEAR)
    agency = forms.CharField(required=False)

    def __init__(self, data=None, *, agency_by_code=None, **kwargs):
        super().__init__(data, **kwargs)
        self.agency_by_code = agency_by_code
        if agency_by_code is None:
            del self.fields["agency"]

    def clean_agency(self):
        code = self.cleaned_data["agency"]
        if not code:
            return None
        agency = self.agency_by_code(code)
        if agency is None:
            raise forms.ValidationError(
                _("找不到機關代碼「%(code)s」。"), code="unknown", params={"code": code}
            )
        return agency

    @property
    def message(self) -> str:
        """The first problem, for answers that carry one message (API, commands, error pages)."""
        return next(str(m) for errors in self.errors.values() for m in errors)


class ElapsedPeriodForm(PeriodForm):
    """The budget explanation's period: a report year and the elapsed part of the year before
    (default 1-6月)."""

    quarter = QuarterField(
        default=2, messages=dict.fromkeys(Problem, _("上年度已過期間必須是第 1 到第 4 季。"))
    )
