"""Evidence files attached to a result."""

import contextlib
import errno
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from kpitrack.core import writes
from performance.permissions import (
    can_enter,
    require,
)

from ..filetypes import UnsafeArchive, accepted_kinds, sniff
from ..models import (
    Evidence,
    Result,
)
from .entry import _check_editable, _locked_result

# --- evidence --------------------------------------------------------------------------------


@writes.atomic
def evidence_add(*, result: Result, upload, user, reason: str = "") -> Evidence:
    """Attach a file: its size within EVIDENCE_MAX_BYTES and its content one of the accepted
    kinds (whatever its name says). Only while the result may be edited."""
    current = _locked_result(result)
    require(can_enter(user, current.indicator))
    _check_editable(current.state, current.indicator, current.quarter)
    limit = settings.EVIDENCE_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            {
                "file": _("檔案大小 %(size)s 超過上限 %(limit)s。")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            },
            code="too_large",
        )
    if upload.size == 0:
        raise ValidationError({"file": _("檔案是空的。")}, code="empty")
    upload.seek(0)
    try:
        kind = sniff(upload)
    except UnsafeArchive as exc:
        raise ValidationError({"file": exc.message(upload.name)}, code="archive") from None
    upload.seek(0)
    if kind is None:
        raise ValidationError(
            {
                "file": _("「%(name)s」的內容不是可接受的檔案類型（%(kinds)s）。")
                % {"name": upload.name, "kinds": accepted_kinds()}
            },
            code="type",
        )
    if not kind.matches(upload.name):
        raise ValidationError(
            {
                "file": _("「%(name)s」的內容是 %(kind)s，與副檔名不符。")
                % {"name": upload.name, "kind": kind.label}
            },
            code="type",
        )
    evidence = Evidence(
        result=current,
        original_name=Path(upload.name).name[:255],
        content_type=kind.content_type,
        size=upload.size,
        uploaded_by=user,
    )
    _store(evidence, upload)
    # A refused write must not leave the file behind.
    try:
        return writes.save(evidence, user=user, reason=reason or _("上傳佐證資料"))
    except Exception:
        evidence.file.delete(save=False)
        raise


def _store(evidence: Evidence, upload) -> None:
    """Writes the file under the name chosen first, so what a failed write left there (a part,
    or nothing but an empty file) is removed by that name; a full disk is said to be one."""
    field, storage = evidence.file.field, evidence.file.storage
    name = storage.get_available_name(
        field.generate_filename(evidence, upload.name), max_length=field.max_length
    )
    try:
        evidence.file.name = storage.save(name, upload, max_length=field.max_length)
    except OSError as exc:
        with contextlib.suppress(OSError):
            storage.delete(name)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            message = _("儲存空間已滿，檔案未儲存；請通知系統管理者。")
        else:
            message = _("無法儲存檔案，請稍後再試；若持續發生，請通知系統管理者。")
        raise ValidationError({"file": message}, code="storage") from exc


@writes.atomic
def evidence_delete(*, evidence: Evidence, user, reason: str) -> None:
    """Remove a file: its history row stays, the stored file goes once the deletion commits."""
    writes.require_reason(reason)
    current = Evidence.objects.select_related("result").get(pk=evidence.pk)
    result = _locked_result(current.result_id)
    require(can_enter(user, result.indicator))
    _check_editable(result.state, result.indicator, result.quarter)
    name, storage = current.file.name, current.file.storage
    writes.delete(current, user=user, reason=reason)
    transaction.on_commit(lambda: storage.delete(name))
