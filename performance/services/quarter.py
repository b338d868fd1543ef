"""A unit's quarter at once: the unit head sends every complete draft of the quarter for 初核."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction

from kpitrack.core import writes

from .drafts import _REFUSALS
from .notifications import notifications_for_transitions
from .review import DutiesSeparated, result_submit


@dataclass
class QuarterSubmitted:
    """What `results_submit_quarter` did: the ids of the results sent, and the refusals by
    result id (incomplete figures, a shortfall without its explanation, a stale version, a
    closed window), each what `result_submit` raised for that result."""

    submitted: list[int] = field(default_factory=list)
    refusals: dict[int, Exception] = field(default_factory=dict)


@writes.atomic
def results_submit_quarter(
    *, results: Sequence[tuple[int, int]], user, reason: str = ""
) -> QuarterSubmitted:
    """Submits each result of `results` ((result id, version the person saw) pairs) through
    `result_submit`, under its rules, each on its own: those that pass go to 初核, the others
    stay as they are and are named in the answer. Per row rather than all or nothing: the head
    sends what is ready and the list says what is still missing, as a paper round would."""
    done, sent = QuarterSubmitted(), []
    for pk, version in results:
        try:
            with transaction.atomic():
                sent.append(
                    result_submit(
                        result=pk, expected_version=version, user=user, reason=reason, notify=False
                    )
                )
        except (*_REFUSALS, DutiesSeparated) as exc:
            done.refusals[pk] = exc
        else:
            done.submitted.append(pk)
    # Whom each submission tells, as result_submit would have, read and written once for the
    # quarter: a query or two per row otherwise, for the same reviewers.
    notifications_for_transitions([(result, "submit", "") for result in sent], actor=user)
    return done
