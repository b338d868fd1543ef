"""Writes. Every change to a figure, target, narrative or state goes through a function here,
so history, permissions and locks have one place to live."""

from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from .models import Change, Result, ResultFigure, TargetPart

NARRATIVE_FIELDS = ("progress", "benefit", "shortfall_reason", "improvement", "remarks")


class ConcurrentEditError(Exception):
    """Somebody else saved the same result since this editor loaded it."""


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


def record_change(*, obj, field: str, old, new, user, reason: str) -> Change:
    return Change.objects.create(
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
        object_id=obj.pk,
        field=field,
        old=_as_text(old),
        new=_as_text(new),
        reason=reason,
        user=user,
    )


def _require_reason(reason: str):
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("請說明修改理由。")}, code="reason_required")


@transaction.atomic
def result_update(
    *,
    result: Result,
    user,
    reason: str,
    expected_version: int,
    figures: dict[str, Decimal | None] | None = None,
    **narrative: str,
) -> Result:
    """Change figures and narrative; refuse if the result changed since `expected_version`."""
    _require_reason(reason)
    unknown = set(narrative) - set(NARRATIVE_FIELDS)
    if unknown:
        raise ValidationError(_("未知的欄位：%(f)s") % {"f": "、".join(sorted(unknown))})
    figures = figures or {}
    allowed = set(result.indicator.inputs.values_list("key", flat=True))
    bad = set(figures) - allowed
    if bad:
        raise ValidationError(
            {"figures": _("「%(keys)s」不是此指標的填報項目。") % {"keys": "、".join(sorted(bad))}}
        )
    # The version check and bump is one UPDATE, so two editors cannot both pass it.
    bumped = Result.objects.filter(pk=result.pk, version=expected_version).update(
        version=F("version") + 1
    )
    if not bumped:
        raise ConcurrentEditError(
            _("這筆成果已被其他人修改，請重新載入後再編輯，以免覆蓋他人的變更。")
        )
    current = Result.objects.select_for_update().get(pk=result.pk)
    changed = []
    for name, value in narrative.items():
        old = getattr(current, name)
        if old != value:
            setattr(current, name, value)
            changed.append(name)
            record_change(obj=current, field=name, old=old, new=value, user=user, reason=reason)
    current.updated_by = user
    current.full_clean()
    current.save(update_fields=[*changed, "updated_by", "updated_at"])
    existing = {f.key: f for f in current.figures.all()}
    for key, value in figures.items():
        figure = existing.get(key) or ResultFigure(result=current, key=key)
        old = figure.value if figure.pk else None
        if figure.pk and old == value:
            continue
        figure.value = value
        figure.full_clean()
        figure.save()
        record_change(obj=figure, field="value", old=old, new=value, user=user, reason=reason)
    current.refresh_from_db()
    return current


@transaction.atomic
def target_part_revise(*, part: TargetPart, value: Decimal | None, user, reason: str) -> TargetPart:
    """Revise a target: the original value stays, the revision and its reason are recorded."""
    _require_reason(reason)
    part = TargetPart.objects.select_for_update().get(pk=part.pk)
    old = part.value
    if part.original_value is None:
        part.original_value = old
    part.value = value
    part.revision_reason = reason
    part.full_clean()
    part.save(update_fields=["value", "original_value", "revision_reason"])
    record_change(obj=part, field="value", old=old, new=value, user=user, reason=reason)
    return part
