"""The one optimistic lock and the one way a write is attributed, for every editable object.

An object two people can edit at once carries a `version`. A writer claims the version it loaded
with a single conditional UPDATE, so of two concurrent editors exactly one wins and the other is
refused instead of silently overwriting. Attribution (who and why) rides on the instance for
django-simple-history to store with the history row.
"""

from django.db import models
from django.db.models import F
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .refusals import Conflict


class Versioned(models.Model):
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        abstract = True


class ConcurrentEditError(Conflict):
    """Somebody else saved the same object since this editor loaded it."""

    def __init__(self, message: str, *, current=None):
        super().__init__(message)
        self.current = current  # the object as it is now, to show the other person's values


def claim_version(obj: Versioned, expected_version: int | None) -> None:
    """Bump `obj`'s version if it is still `expected_version`; refuse otherwise.

    Call inside the writer's transaction: the UPDATE holds the row until it commits.
    """
    model = type(obj)
    bumped = 0
    if expected_version is not None:
        bumped = model._default_manager.filter(pk=obj.pk, version=expected_version).update(
            version=F("version") + 1
        )
    if not bumped:
        current = model._default_manager.filter(pk=obj.pk).first()
        raise ConcurrentEditError(
            gettext("這筆資料在您開啟後已被其他人修改，請重新載入確認最新內容後再修改。"),
            current=current,
        )
    obj.version = expected_version + 1


def attribute(obj: models.Model, *, user, reason: str) -> models.Model:
    """Who and why, stored by django-simple-history with the next history row of `obj`."""
    obj._history_user = user if user is not None and user.is_authenticated else None
    obj._change_reason = reason
    return obj
