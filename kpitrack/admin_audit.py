"""Admin edits are attributable: a reason is required, and every changed field is recorded."""

from django import forms
from django.utils.translation import gettext_lazy as _

from performance.services import record_change


class ReasonForm(forms.ModelForm):
    change_reason = forms.CharField(
        label=_("修改理由"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("修改既有資料時必填，會連同修改者、時間、原值與新值一併記錄。"),
    )

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and self.has_changed() and not cleaned.get("change_reason", "").strip():
            self.add_error("change_reason", _("修改既有資料時，請說明修改理由。"))
        return cleaned


class AuditedAdminMixin:
    """Records a Change per changed field of the object and of its inline rows."""

    audited_inline_fields: dict[str, tuple[str, ...]] = {}

    def _reason(self, request, form):
        reason = form.cleaned_data.get("change_reason", "").strip()
        return reason or str(_("透過資料維護介面新增"))

    def save_model(self, request, obj, form, change):
        old = {}
        if change:
            current = type(obj).objects.get(pk=obj.pk)
            old = {
                name: getattr(current, name) for name in form.changed_data if hasattr(current, name)
            }
        super().save_model(request, obj, form, change)
        reason = self._reason(request, form)
        for name, value in old.items():
            record_change(
                obj=obj,
                field=name,
                old=value,
                new=getattr(obj, name),
                user=request.user,
                reason=reason,
            )

    def save_formset(self, request, form, formset, change):
        fields = self.audited_inline_fields.get(formset.model.__name__, ())
        before = {}
        for inline_form in formset.forms:
            inst = inline_form.instance
            if inst.pk and inline_form.has_changed():
                fresh = type(inst).objects.filter(pk=inst.pk).first()
                if fresh is not None:
                    before[inst.pk] = {name: getattr(fresh, name) for name in fields}
        super().save_formset(request, form, formset, change)
        reason = self._reason(request, form)
        for inst in formset.new_objects:
            for name in fields:
                record_change(
                    obj=inst,
                    field=name,
                    old=None,
                    new=getattr(inst, name),
                    user=request.user,
                    reason=reason,
                )
        for inst, _changed in formset.changed_objects:
            for name in fields:
                old = before.get(inst.pk, {}).get(name)
                if old != getattr(inst, name):
                    record_change(
                        obj=inst,
                        field=name,
                        old=old,
                        new=getattr(inst, name),
                        user=request.user,
                        reason=reason,
                    )


class VersionedForm(ReasonForm):
    """Refuses to save over a newer version of the same row (optimistic locking)."""

    version_seen = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version_seen"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            seen = cleaned.get("version_seen")
            # The admin validates and saves inside one transaction; locking the row here makes
            # the check and the save a single step for any concurrent editor.
            current = (
                type(self.instance)
                .objects.select_for_update()
                .filter(pk=self.instance.pk)
                .values_list("version", flat=True)
                .first()
            )
            if seen is None or seen != current:
                raise forms.ValidationError(
                    _("這筆資料在您開啟後已被其他人修改。請重新載入頁面，確認最新內容後再修改。"),
                    code="stale",
                )
        return cleaned


class ReasonInlineFormSet(forms.models.BaseInlineFormSet):
    """Changing an existing row through an inline needs the parent form's reason too."""

    def clean(self):
        super().clean()
        if self.instance.pk is None:
            return
        changed = any(f.has_changed() for f in self.forms if f.instance.pk) or any(
            f.cleaned_data.get("DELETE") for f in self.forms if getattr(f, "cleaned_data", None)
        )
        if changed and not self.data.get("change_reason", "").strip():
            raise forms.ValidationError(
                _("修改既有資料時，請說明修改理由。"), code="reason_required"
            )
