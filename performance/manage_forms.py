"""The management screens' forms (管理者). They only read what is typed — dates as YYYY-MM-DD,
a unit of the agency, a reason — and hand the rest to the services (date order, open
exceptions, lock state, versions), whose refusals `add_service_errors` puts on the field they
name."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from kpitrack.core.forms import YearField

from .models import ReportingPeriod

DATE_FORMAT = "%Y-%m-%d"


REASON = _("理由")


class ReasonField(forms.CharField):
    def __init__(self, *, label=REASON, **kwargs):
        super().__init__(
            label=label,
            strip=True,
            widget=forms.Textarea(attrs={"rows": 2}),
            help_text=_("必填；會連同操作者與時間記錄在異動紀錄中。"),
            error_messages={"required": _("請說明理由；理由會記錄在異動紀錄中。")},
            **kwargs,
        )


# A message naming its field, translated when shown (the form is built once, at import).
_named = lazy(lambda message, label: str(message) % {"label": label}, str)


class DayField(forms.DateField):
    """A date typed as YYYY-MM-DD."""

    def __init__(self, *, label, **kwargs):
        super().__init__(
            label=label,
            input_formats=[DATE_FORMAT],
            # Text, not type=date: what was typed comes back as typed beside its message (a date
            # input may hold only a valid date), and the format reads the same in every browser.
            widget=forms.DateInput(
                attrs={"inputmode": "numeric", "placeholder": "YYYY-MM-DD", "maxlength": 10},
                format=DATE_FORMAT,
            ),
            error_messages={
                "required": _named(_("請填寫「%(label)s」。"), label),
                "invalid": _named(
                    _("「%(label)s」必須是日期，格式為 YYYY-MM-DD（例如 2026-04-30）。"), label
                ),
            },
            **kwargs,
        )


class VersionField(forms.IntegerField):
    """The version of the thing when the page was loaded: a missing or mangled one is a stale
    form, refused like one."""

    def __init__(self, **kwargs):
        message = _("表單缺少版本資訊，請重新載入頁面後再試。")
        super().__init__(
            min_value=0,
            widget=forms.HiddenInput,
            error_messages={"required": message, "invalid": message, "min_value": message},
            **kwargs,
        )


class ServiceErrorsMixin:
    def add_service_errors(self, exc: ValidationError):
        """A service's refusal on the field it names (`reason` and the form's own fields), or
        above the form."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for name, errors in exc.error_dict.items():
            self.add_error(name if name in self.fields else None, errors)


def _label(name: str) -> str:
    return ReportingPeriod._meta.get_field(name).verbose_name


class WindowForm(ServiceErrorsMixin, forms.Form):
    """A quarter's entry window and review deadlines."""

    opens_on = DayField(label=_label("opens_on"))
    closes_on = DayField(label=_label("closes_on"))
    first_review_due = DayField(label=_label("first_review_due"))
    final_review_due = DayField(label=_label("final_review_due"))
    version = VersionField()
    reason = ReasonField()

    DATES = ("opens_on", "closes_on", "first_review_due", "final_review_due")

    def clean(self):
        data = super().clean()
        if all(data.get(name) for name in self.DATES):
            # The model's own order rule, so a missing reason and reversed dates are both
            # shown at once; the service checks it again when it saves.
            try:
                ReportingPeriod(**self.dates()).clean()
            except ValidationError as exc:
                self.add_service_errors(exc)
        return data

    def date_fields(self):
        return [self[name] for name in self.DATES]

    def dates(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.DATES}


class ExceptionForm(ServiceErrorsMixin, forms.Form):
    """Let one unit of the agency enter the quarter until a date."""

    unit = forms.ModelChoiceField(
        label=_("單位"),
        queryset=None,
        error_messages={
            "required": _("請選擇要開放的單位。"),
            "invalid_choice": _("所選單位不存在或不屬於本機關，請從清單中選擇。"),
        },
    )
    until = DayField(label=_("開放至"))
    reason = ReasonField()

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units

    def clean_until(self):
        # An exception that ended before it was granted opens nothing: surely a typo. (The
        # service takes any date: a past one is what an exception becomes with time.)
        until = self.cleaned_data["until"]
        today = timezone.localdate()
        if until < today:
            raise ValidationError(
                _("開放至日期不可早於今天（%(today)s）。"),
                code="past",
                params={"today": today.isoformat()},
            )
        return until


class ReasonForm(ServiceErrorsMixin, forms.Form):
    """Withdrawing an exception, locking or unlocking a quarter: the reason is all it takes."""

    reason = ReasonField()


class ReopenForm(ServiceErrorsMixin, forms.Form):
    """Reopening an approved (or locked) result: the reason goes to the unit as the comment."""

    version = VersionField()
    reason = ReasonField(label=_("重新開放理由"))


class YearForm(forms.Form):
    """Which year of the agency's quarters the management page lists."""

    year = YearField(label=_("年度"))
