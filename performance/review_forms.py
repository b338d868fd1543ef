"""The review queue's forms (issue 17): which quarter and stage to list, the selected results
to approve (each with the version the reviewer saw), and one result to return with a comment."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kpitrack.core.engine.calendar import QUARTERS
from kpitrack.core.forms import YearField
from performance.permissions import FINAL_STAGE, FIRST_STAGE

STAGE_LABELS = {FIRST_STAGE: _("初核"), FINAL_STAGE: _("複核")}


def _digits(text: str, most: int) -> bool:
    # Bounded so the database never sees a number wider than its column.
    return text.isascii() and text.isdigit() and len(text) <= most


class QueueForm(forms.Form):
    """The quarter and the stage listed; `stages` are those the user holds (the first is the
    default)."""

    year = YearField()
    quarter = forms.TypedChoiceField(
        coerce=int,
        choices=[(q, q) for q in QUARTERS],
        error_messages={
            "required": _("季別必須是 1 到 4 的整數。"),
            "invalid_choice": _("季別必須是 1 到 4 的整數。"),
        },
    )
    stage = forms.ChoiceField(
        required=False,
        error_messages={"invalid_choice": _("您在這個機關沒有這個審核階段的權限。")},
    )

    def __init__(self, data=None, *, stages: tuple[str, ...], **kwargs):
        super().__init__(data, **kwargs)
        self.stages = stages
        self.fields["stage"].choices = [(s, STAGE_LABELS[s]) for s in stages]

    def clean_stage(self):
        return self.cleaned_data["stage"] or self.stages[0]


class ApproveForm(QueueForm):
    """The results ticked (`result`, repeated), each with its `version-<id>` as the page showed
    it: `cleaned_data["versions"]` maps each id to that version."""

    def clean(self):
        data = super().clean()
        picked = self.data.getlist("result") if hasattr(self.data, "getlist") else []
        if not picked:
            raise forms.ValidationError(_("請至少勾選一筆要核准的成果。"), code="required")
        versions = {}
        for pk in picked:
            raw = self.data.get(f"version-{pk}", "")
            if not (_digits(pk, 18) and _digits(raw, 9)):
                raise forms.ValidationError(
                    _("所選成果的資料有誤，請重新載入頁面後再試。"), code="invalid"
                )
            versions[int(pk)] = int(raw)
        data["versions"] = versions
        return data


class ReturnForm(QueueForm):
    """One result sent back to its unit, with the comment it will see."""

    result = forms.IntegerField(min_value=1, max_value=2**62, widget=forms.HiddenInput)
    version = forms.IntegerField(min_value=0, max_value=2**31 - 1, widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("退回意見"),
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("退回時請填寫審核意見，說明需要修正的地方。")},
    )
