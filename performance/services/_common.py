"""The small steps every write of performance takes: a reason, a field whitelist, an
attributed save or delete."""

from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from kpitrack.core.versioning import attribute


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
