"""The entry and review forms. They only read what people type; every rule about what a figure
may be for an indicator (non-negative counts, numerator ≤ denominator, the narrative a shortfall
needs, windows, locks) lives in `performance.services`, whose ValidationError the views hand
back to `ResultEntryForm.add_service_errors` so each message lands next to its field."""

from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from kpitrack.core.engine.achievement import Method, Part
from kpitrack.core.formatting import figure
from kpitrack.core.forms import PeriodForm

from .models import FigureFormField, Indicator, Result

NARRATIVE_FIELDS = ("progress", "benefit", "shortfall_reason", "improvement", "remarks")
# Field names of figures carry a prefix so an input key can never clash with a narrative field.
FIGURE_PREFIX = "f_"
RATING_CHOICES = (("1", _("達成")), ("0", _("未達成")))
# An ordinal target above this is offered as a number box rather than a list of codes.
ORDINAL_CHOICE_LIMIT = 20


@dataclass(frozen=True)
class FigureInput:
    """One figure the indicator's method needs, as the form asks for it."""

    key: str
    label: str
    unit: str
    role: str  # value, numerator, denominator, part, code, rating
    target: Decimal | None = None
    weight: Decimal | None = None

    @property
    def field_name(self) -> str:
        return FIGURE_PREFIX + self.key


def figure_inputs(indicator) -> list[FigureInput]:
    """What `indicator`'s method needs, in order, by label and unit: an Indicator with `inputs`
    and `parts` prefetched, or a plain `selectors.IndicatorRow`. Per-part methods (weighted,
    multi) record one figure per target part under the part's key; ratio its numerator then
    denominator; the others their declared inputs."""
    method = Method(indicator.method)
    if isinstance(indicator, Indicator):
        inputs = list(indicator.inputs.all())
        parts = [Part(p.key, p.label, p.value, p.unit, p.weight) for p in indicator.parts.all()]
    else:
        inputs, parts = indicator.inputs, indicator.parts
    if method in (Method.WEIGHTED, Method.MULTI):
        units = {i.key: i.unit for i in inputs}
        return [
            FigureInput(
                key=p.key,
                label=p.label,
                unit=p.unit or units.get(p.key, ""),
                role="part",
                target=p.target,
                weight=p.weight if method is Method.WEIGHTED else None,
            )
            for p in parts
        ]
    target = parts[0].target if parts else None
    if method is Method.RATIO:
        roles = ("numerator", "denominator")
        return [
            FigureInput(key=i.key, label=i.label, unit=i.unit, role=role)
            for i, role in zip(inputs, roles, strict=False)
        ]
    role = {Method.ORDINAL: "code", Method.RATING: "rating"}.get(method, "value")
    return [
        FigureInput(key=i.key, label=i.label, unit=i.unit, role=role, target=target) for i in inputs
    ]


ROLE_PREFIX = {"numerator": _("分子"), "denominator": _("分母")}


def _help(item: FigureInput) -> str:
    bits = []
    if item.target is not None and item.role != "rating":
        bits.append(
            str(_("目標值 %(target)s%(unit)s")) % {"target": figure(item.target), "unit": item.unit}
        )
    if item.weight is not None:
        bits.append(str(_("權重 %(weight)s%%")) % {"weight": figure(item.weight)})
    # Django prints help text unescaped; a unit is data, so it is escaped here.
    return conditional_escape("；".join(bits))


def _figure_field(item: FigureInput) -> forms.Field:
    label = item.label
    if item.role in ROLE_PREFIX:
        label = f"{ROLE_PREFIX[item.role]}：{label}"
    if item.unit:
        label = f"{label}（{item.unit}）"
    common = {"label": label, "required": False, "help_text": _help(item)}
    if item.role == "rating":
        return forms.TypedChoiceField(
            choices=RATING_CHOICES,
            coerce=Decimal,
            empty_value=None,
            widget=forms.RadioSelect,
            **common,
        )
    top = item.target
    if (
        item.role == "code"
        and top is not None
        and top == top.to_integral_value()
        and 0 < top <= ORDINAL_CHOICE_LIMIT
    ):
        codes = [(str(n), str(n)) for n in range(int(top) + 1)]
        return forms.TypedChoiceField(
            choices=[("", _("（未填）")), *codes], coerce=Decimal, empty_value=None, **common
        )
    return FigureFormField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)


class ResultEntryForm(forms.Form):
    """A quarter's figures and narrative for one indicator (what `figure_inputs` reads: an
    Indicator, or the API's plain `selectors.IndicatorRow`); `version` is the result's version
    the person loaded (empty when there was no result yet)."""

    version = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, data=None, *, indicator, result: Result | None = None, **kw):
        initial = kw.pop("initial", None) or {}
        self.inputs = figure_inputs(indicator)
        if result is not None:
            stored = {f.key: f.value for f in result.figures.all()}
            initial.setdefault("version", result.version)
            for name in NARRATIVE_FIELDS:
                initial.setdefault(name, getattr(result, name))
            for item in self.inputs:
                value = stored.get(item.key)
                initial.setdefault(item.field_name, _initial(item, value))
        super().__init__(data, initial=initial, **kw)
        for item in self.inputs:
            self.fields[item.field_name] = _figure_field(item)
        for name in NARRATIVE_FIELDS:
            model_field = Result._meta.get_field(name)
            self.fields[name] = forms.CharField(
                label=model_field.verbose_name,
                required=False,
                strip=True,
                widget=forms.Textarea(attrs={"rows": 3}),
            )

    def figure_fields(self):
        return [self[item.field_name] for item in self.inputs]

    def narrative_fields(self):
        return [self[name] for name in NARRATIVE_FIELDS]

    def figures(self) -> dict[str, Decimal | None]:
        return {item.key: self.cleaned_data.get(item.field_name) for item in self.inputs}

    def narrative(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in NARRATIVE_FIELDS}

    def add_service_errors(self, exc: ValidationError):
        """Puts a service's refusal next to the fields it names: a figure by its key (or
        `figures.<key>`), a narrative field by its name, anything else above the form."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        keys = {item.key: item.field_name for item in self.inputs}
        for name, errors in exc.error_dict.items():
            key = name.removeprefix("figures.")
            if key in keys:
                self.add_error(keys[key], errors)
            elif name in NARRATIVE_FIELDS:
                self.add_error(name, errors)
            else:
                self.add_error(None, errors)


def _initial(item: FigureInput, value: Decimal | None):
    if value is None:
        return None
    if item.role in ("rating", "code"):
        return str(value.to_integral_value()) if value == value.to_integral_value() else value
    return figure(value).replace(",", "")


class ReviewForm(forms.Form):
    """初核/複核: approve, or return with a comment saying what to fix."""

    APPROVE, RETURN = "approve", "return"
    action = forms.ChoiceField(choices=((APPROVE, _("核定通過")), (RETURN, _("退回修正"))))
    version = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("審核意見"),
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("退回時必填：請說明需要修正的地方。"),
    )

    def clean(self):
        data = super().clean()
        if data.get("action") == self.RETURN and not data.get("comment"):
            self.add_error("comment", _("退回時請填寫審核意見，說明需要修正的地方。"))
        return data


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("佐證資料檔案"))


class MilestoneForm(forms.Form):
    """An indicator's 分季目標: a planned value per target part for quarters 1-3 (empty: the
    default), and why they are set. `plan` is `selectors.milestone_plan`'s."""

    reason = forms.CharField(
        label=_("修改理由"), strip=True, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, data=None, *, plan, **kw):
        self.plan = plan
        initial = {}
        super().__init__(data, **kw)
        for part, quarters in plan:
            for q in quarters:
                name = self.field_name(part.key, q.quarter)
                label = _("「%(part)s」第%(q)s季預定進度") % {"part": part.label, "q": q.quarter}
                self.fields[name] = FigureFormField(
                    label=label,
                    required=False,
                    min_value=0,
                    widget=forms.TextInput(
                        attrs={
                            "inputmode": "decimal",
                            # The table's headers name it on screen; this names it when read.
                            "aria-label": label,
                            "placeholder": _("預設 %(value)s") % {"value": figure(q.default)}
                            if q.default is not None
                            else "",
                        }
                    ),
                )
                if q.planned is not None:
                    initial[name] = figure(q.planned).replace(",", "")
        self.initial.update(initial)

    @staticmethod
    def field_name(key: str, quarter: int) -> str:
        return f"m_{key}_q{quarter}"

    def rows(self):
        """(part, [(planned quarter, bound field)]) for the template."""
        return [
            (part, [(q, self[self.field_name(part.key, q.quarter)]) for q in quarters])
            for part, quarters in self.plan
        ]

    def planned(self) -> list[tuple[str, int, Decimal | None]]:
        """(part key, quarter, value or None) for every field."""
        return [
            (part.key, q.quarter, self.cleaned_data.get(self.field_name(part.key, q.quarter)))
            for part, quarters in self.plan
            for q in quarters
        ]


def _attrs(attrs) -> str:
    """django/forms/widgets/attrs.html, in Python."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{conditional_escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class PlainSelect(forms.Select):
    """Django's Select, written in Python: the HTML of its templates (select.html,
    select_option.html, attrs.html) character for character, without rendering a template per
    option (a list of every unit of a ministry is most of a small page's rendering)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        html = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                html.append(f'\n  <optgroup label="{conditional_escape(str(group_name))}">')
            for option in options:
                value = conditional_escape(str(option["value"]))
                label = conditional_escape(str(option["label"]))
                html.append(
                    f'\n  <option value="{value}"{_attrs(option["attrs"])}>{label}</option>\n'
                )
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")
        # (Django's renderer strips what a template renders.)
        return mark_safe("".join(html))


class UnitChoiceField(forms.ChoiceField):
    """One of the units `units` (read before the form), by id, cleaned to that unit: what
    ModelChoiceField answers (an id as the database reads it, so "07" is unit 7), from the rows
    already read, not by reading the unit again."""

    def __init__(self, *, empty_label, **kwargs):
        super().__init__(**kwargs)
        self.empty_label = empty_label
        self.units = {}

    def set_units(self, units, label) -> None:
        self.units = {unit.pk: unit for unit in units}
        self.choices = [("", self.empty_label), *((unit.pk, label(unit)) for unit in units)]

    def to_python(self, value):
        if value in self.empty_values:
            return None
        ProhibitNullCharactersValidator()(value)
        try:
            return self.units[int(value)]
        except (KeyError, ValueError, TypeError):
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            ) from None

    def validate(self, value):
        # The choice was checked by to_python; ChoiceField's check compares strings.
        forms.Field.validate(self, value)


class WorkFilterForm(PeriodForm):
    """我的工作's query: year and quarter, and optionally one unit (by id, among the units of
    the agencies the user may see: `selectors.work_units`) and one state
    (`selectors.work_states`)."""

    unit = UnitChoiceField(
        required=False,
        widget=PlainSelect,
        label=_("單位"),
        empty_label=_("全部單位"),
        error_messages={"invalid_choice": _("找不到這個單位，或您不能查看它；請從清單選擇。")},
    )
    state = forms.ChoiceField(
        required=False,
        widget=PlainSelect,
        label=_("狀態"),
        error_messages={"invalid_choice": _("狀態「%(value)s」不存在；請從清單選擇。")},
    )

    def __init__(self, data=None, *, units, states, **kwargs):
        super().__init__(data, **kwargs)
        # Named with their agency when they are of more than one.
        many = len({u.agency_id for u in units}) > 1
        self.fields["unit"].set_units(
            units, (lambda u: f"{u.agency_name} {u.name}") if many else (lambda u: u.name)
        )
        self.fields["state"].choices = [("", _("全部狀態")), *states]

    def clean_state(self):
        return self.cleaned_data["state"] or None


def figure_errors(form) -> list[tuple[str, str]]:
    """(label, message) of each refused figure of an entry form (its `f_` fields): the live
    preview cares only for the figures, and names each bad one so it says why it waits."""
    return [
        (form[name].label, error)
        for name in form.errors
        if name.startswith("f_")
        for error in form.errors[name]
    ]
