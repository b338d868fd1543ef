"""Approving many results at once from the review queue (issue 17): each row through the one
transition of `review.py` (`result_first_approve` or `result_final_approve`), so each keeps its
checks under its row lock, its history row and whatever the transition does besides, except
telling those concerned: that is done once for the batch, to the same people. All or none: a
row that cannot be approved (changed since the page was loaded, no longer waiting, separation
of duties, no right) is refused by its indicator's name, every such row is named, and nothing
is written: the reviewer selected them as one decision, and a half-done batch would leave them
to work out which went through."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from kpitrack.core import writes
from kpitrack.core.refusals import Refusal
from performance.permissions import FINAL_STAGE, FIRST_STAGE

from ..models import Result
from .notifications import notifications_for_transitions
from .review import result_final_approve, result_first_approve

# Each stage's transition, and its action in Result.TRANSITIONS (whom it notifies).
_APPROVE = {
    FIRST_STAGE: (result_first_approve, "first_approve"),
    FINAL_STAGE: (result_final_approve, "final_approve"),
}


@dataclass(frozen=True)
class Refused:
    """One row of a batch that was refused: its result, its indicator's label and why."""

    result: Result
    label: str
    message: str
    status: int


class ApprovalsRefused(Refusal):
    """At least one selected result could not be approved, so none was; `refused` names each."""

    def __init__(self, refused: list[Refused]):
        self.refused = refused
        # The batch's status: 409 when a row was stale, else the first row's (403, 423, 400).
        statuses = {r.status for r in refused}
        self.status = 409 if 409 in statuses else refused[0].status
        super().__init__(
            _("以下項目未能核准，所選項目均未核准：")
            + "；".join(f"「{r.label}」{r.message}" for r in refused)
        )


def _label(result: Result) -> str:
    # As the queue names it (performance.review_reads.label_of): code and name.
    indicator = result.indicator
    return f"{indicator.code} {indicator.name}" if indicator.code else indicator.name


def _why(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, Refusal):
        return exc.message, exc.status
    if isinstance(exc, PermissionDenied):
        return _("您沒有核准這筆成果的權限。"), 403
    return "".join(exc.messages), 400


@writes.atomic
def results_approve(
    *, user, items: list[tuple[Result, int]], stage: str, reason: str = ""
) -> list[Result]:
    """初核 (`stage` FIRST_STAGE) or 複核 (FINAL_STAGE) of each (result, the version the reviewer
    saw) of `items`, in one transaction: all approved, or ApprovalsRefused naming every row
    that was not, with nothing written. Each row is the transition's own call (its savepoint
    undoes a refused row; the outer transaction undoes the rest)."""
    if stage not in _APPROVE:
        raise ValidationError(_("不明的審核階段。"), code="stage")
    if not items:
        raise ValidationError(_("請至少勾選一筆要核准的成果。"), code="required")
    approve, action = _APPROVE[stage]
    approved, refused = [], []
    for result, version in items:
        try:
            approved.append(
                approve(
                    result=result,
                    expected_version=version,
                    user=user,
                    reason=reason,
                    notify=False,
                )
            )
        except (Refusal, ValidationError, PermissionDenied) as exc:
            message, status = _why(exc)
            refused.append(Refused(result, _label(result), message, status))
    if refused:
        raise ApprovalsRefused(refused)
    # Whom each approval tells, as the transition would have, read and written once for the
    # batch: a query or two per row otherwise, for the same people.
    told = notifications_for_transitions([(result, action, "") for result in approved], actor=user)
    for result, users in zip(approved, told, strict=True):
        result.notified = users
    return approved
