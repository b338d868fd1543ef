"""What a 409 shows: the result as the other person saved it, so the refused editor can compare.

One builder for the entry page and the API (each renders it its own way): the refusal's message,
the result as it is now (None when it has been deleted since), its figures by key, and who saved
it when. Each is read on first use, so an answer that does not show who saved it does not pay
for the history query.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property

from kpitrack.core.versioning import ConcurrentEditError

from .models import Result


@dataclass(frozen=True)
class _Saver:
    who: str
    when: datetime | None


@dataclass
class ResultConflict:
    message: str
    result: Result | None

    @cached_property
    def figures(self) -> dict[str, Decimal | None]:
        return {f.key: f.value for f in self.result.figures.all()} if self.result else {}

    @cached_property
    def _last(self) -> _Saver:
        last = self.result.history.select_related("history_user").first() if self.result else None
        who = last.history_user.get_username() if last and last.history_user else ""
        return _Saver(who, last.history_date if last else None)

    @property
    def who(self) -> str:
        return self._last.who

    @property
    def when(self) -> datetime | None:
        return self._last.when


def result_conflict(exc: ConcurrentEditError) -> ResultConflict:
    """The 409 of a result's stale save (`exc.current` is the result as it is now)."""
    return ResultConflict(message=exc.message, result=exc.current)
