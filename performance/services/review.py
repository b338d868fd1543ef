"""The review workflow: submit, 初核, 複核, return and reopen, each under the row lock. Each
tells those concerned at its end (services.notifications), in its own transaction; the result
handed back carries `notified`, the users told."""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kpitrack.core import writes
from kpitrack.core.logs import security_event
from kpitrack.core.refusals import Refusal
from kpitrack.core.versioning import claim_version
from performance.permissions import (
    FIRST_APPROVER,
    final_review_conflict,
    may,
    require,
    separation_message,
)

from ..models import (
    Result,
)
from ..selectors import entry_indicators, quarter_final
from ..signals import quarter_approved
from .entry import _check_editable, _check_shortfall, _locked_result
from .notifications import notifications_for_transition
from .periods import ResultLocked
from .results import NARRATIVE_FIELDS


class DutiesSeparated(Refusal):
    """Separation of duties: who submitted or first-approved a result may not give it 複核."""

    status = 403


def _check_separation(user, current: Result, reason: str) -> str:
    """Refuses 複核 to whoever submitted or first-approved `current` (permissions
    .final_review_conflict); a superuser goes ahead, with the exception in the history's reason
    and in the security log. Returns the reason to record."""
    conflict = final_review_conflict(user, current, current.indicator)
    if conflict is None:
        return reason
    if not (user.is_active and user.is_superuser):
        raise DutiesSeparated(separation_message(conflict))
    if conflict == FIRST_APPROVER:
        note = _("職務分離例外：初核者本人複核（系統管理者）")
    else:
        note = _("職務分離例外：送出者本人複核（系統管理者）")
    # The acting superuser is named even outside a request (a command, a shell).
    security_event(
        "separation_of_duties_override",
        level=logging.WARNING,
        user=user.get_username(),
        result=current.pk,
        duty=conflict,
    )
    return f"{note}；{reason.strip()}" if reason and reason.strip() else note


def _require_right(user, action: str, current: Result) -> None:
    """403 unless the user holds the right Result.TRANSITIONS gives `action`."""
    require(may(user, Result.TRANSITIONS[action].right, current.indicator))


def _transition(current: Result, expected_version: int, action: str, *, to: str | None = None):
    """`action` from Result.TRANSITIONS on `current`, which the caller has locked
    (`_locked_result`): refused unless the result is in one of its starting states; `to`
    overrides the state it leaves."""
    move = Result.TRANSITIONS[action]
    if current.state not in move.sources:
        raise ResultLocked(
            _("此成果目前為「%(state)s」，不能執行這個動作。")
            % {"state": current.get_state_display()}
        )
    claim_version(current, expected_version)
    current.state = to or move.target
    return current


@writes.atomic
def result_submit(
    *, result: Result, expected_version: int, user, reason: str = "", notify: bool = True
) -> Result:
    """The unit sends a draft (or a fixed returned result) for 初核: every figure entered.
    `notify` False: the caller tells those concerned (results_submit_quarter, once for its
    batch)."""
    current = _locked_result(result)
    _require_right(user, "submit", current)
    _check_editable(current.state, current.indicator, current.quarter)
    figures = {f.key: f.value for f in current.figures.all()}
    missing = {
        i.key: _("送出前必須填寫「%(label)s」。") % {"label": i.label}
        for i in current.indicator.inputs.all()
        if figures.get(i.key) is None
    }
    if missing:
        raise ValidationError(missing, code="required")
    entry = entry_indicators(ids=[current.indicator_id])[current.indicator_id]
    narrative = {name: getattr(current, name) for name in NARRATIVE_FIELDS}
    _check_shortfall(entry, current.quarter, figures, narrative)
    current = _transition(current, expected_version, "submit")
    writes.save(current, user=user, reason=reason)
    current.notified = (
        notifications_for_transition(result=current, action="submit", actor=user) if notify else []
    )
    return current


def _tell_if_quarter_final(current: Result, user) -> None:
    """The approval of the agency's last result of the quarter (performance.signals)."""
    if not settings.PRERENDER_ON_APPROVAL or current.state != Result.State.APPROVED:
        return
    goal = current.indicator.goal
    if quarter_final(agency_id=goal.agency_id, year=goal.year, quarter=current.quarter):
        quarter_approved.send(
            sender=Result, agency=goal.agency, year=goal.year, quarter=current.quarter, user=user
        )


@writes.atomic
def result_first_approve(
    *, result: Result, expected_version: int, user, reason: str = "", notify: bool = True
) -> Result:
    """初核 approves; when the agency has switched 複核 off this approval is final. `notify`
    False: the caller tells those concerned (review_bulk, once for its batch)."""
    current = _locked_result(result)
    agency = current.indicator.goal.agency
    _require_right(user, "first_approve", current)
    to = None if agency.second_review else Result.State.APPROVED
    current = _transition(current, expected_version, "first_approve", to=to)
    current.review_comment = ""
    writes.save(current, user=user, reason=reason)
    _tell_if_quarter_final(current, user)
    current.notified = (
        notifications_for_transition(result=current, action="first_approve", actor=user)
        if notify
        else []
    )
    return current


@writes.atomic
def result_final_approve(
    *, result: Result, expected_version: int, user, reason: str = "", notify: bool = True
) -> Result:
    """複核 approves: the figures are final and frozen. Not by whoever submitted the result or
    approved it at 初核 where the agency keeps duties apart (a superuser may, recorded).
    `notify` as for result_first_approve."""
    current = _locked_result(result)
    _require_right(user, "final_approve", current)
    reason = _check_separation(user, current, reason)
    current = _transition(current, expected_version, "final_approve")
    current.review_comment = ""
    writes.save(current, user=user, reason=reason)
    _tell_if_quarter_final(current, user)
    current.notified = (
        notifications_for_transition(result=current, action="final_approve", actor=user)
        if notify
        else []
    )
    return current


@writes.atomic
def result_return(*, result: Result, expected_version: int, user, comment: str) -> Result:
    """初核 (a submitted result) or 複核 (a first-approved one) sends it back with a comment
    that the unit sees until it is approved."""
    if not comment or not comment.strip():
        raise ValidationError({"comment": _("退回時請說明需要修正之處。")}, code="required")
    current = _locked_result(result)
    # Whose turn it is says who may return it: 複核 a first-approved result, 初核 any other
    # (a result in no reviewer's hands is then refused as not under review).
    action = "final_return" if current.state == Result.State.FIRST_APPROVED else "first_return"
    _require_right(user, action, current)
    reason = _check_separation(user, current, comment) if action == "final_return" else comment
    current = _transition(current, expected_version, action)
    current.review_comment = comment.strip()
    writes.save(current, user=user, reason=reason)
    current.notified = notifications_for_transition(
        result=current, action=action, actor=user, comment=comment
    )
    return current


@writes.atomic
def result_reopen(*, result: Result, expected_version: int, user, reason: str) -> Result:
    """An administrator reopens an approved or locked result for correction: it goes back to
    the unit as returned, with the reason as the comment."""
    current = _locked_result(result)
    _require_right(user, "reopen", current)
    writes.require_reason(reason)
    current = _transition(current, expected_version, "reopen")
    current.locked_from = ""
    current.review_comment = reason.strip()
    writes.save(current, user=user, reason=reason)
    current.notified = notifications_for_transition(
        result=current, action="reopen", actor=user, comment=reason
    )
    return current
