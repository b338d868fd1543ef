"""Saving quarterly drafts: one entry from a page, many from the workbook, all or nothing."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kpitrack.core import bulk, writes
from kpitrack.core.versioning import ConcurrentEditError
from performance.permissions import (
    can_enter,
    require,
)

from ..models import (
    Indicator,
    Result,
    ResultFigure,
)
from ..selectors import EntryIndicator, ResultRow, entry_indicators, quarter_results
from . import outcomes
from .entry import _check_editable, _clean_figures, _Quarter
from .periods import ResultLocked, WindowClosed
from .results import NARRATIVE_FIELDS


@dataclass(frozen=True)
class DraftEntry:
    """One indicator's figures and narrative for `results_save_drafts`. `expected_version` is
    None for a result not there yet; a figure is a Decimal, a string as typed, or None to leave
    it empty."""

    indicator_id: int
    figures: Mapping[str, Decimal | str | None]
    narrative: Mapping[str, str]
    expected_version: int | None


class DraftsRefused(Exception):
    """At least one entry was refused, so none was written. `refusals` maps each refused
    entry's index to what `result_save_draft` would have raised for it alone."""

    def __init__(self, refusals: dict[int, Exception]):
        super().__init__(f"{len(refusals)} refused")
        self.refusals = refusals


@dataclass
class _Draft:
    """A checked entry: the result's row as it will be (every field, by attname), its recorded
    figures (key -> (id, value, published rate)) and the entered values."""

    row: dict
    new: bool
    recorded: dict[str, tuple[int, Decimal | None, str]]
    values: dict[str, Decimal | None]
    agency_id: int  # the indicator's agency, whose pages show the quarter entered


_REFUSALS = (ValidationError, PermissionDenied, ConcurrentEditError, ResultLocked, WindowClosed)
_STALE = gettext_lazy("這筆資料在您開啟後已被其他人修改，請重新載入確認最新內容後再修改。")


def _stored_results(indicators: dict, quarter: int):
    """The quarter's results of `indicators` (EntryIndicator by id), locked, as rows (by
    indicator id), and their figures."""
    return quarter_results(
        quarter=quarter, indicator_ids=indicators, goal_ids=_goals(indicators), for_update=True
    )


def _goals(indicators: dict) -> set[int]:
    # Rows are looked up by goal and kept by id: see selectors._entry_rows.
    return {indicator.goal.pk for indicator in indicators.values()}


def _current(row: dict | None) -> Result | None:
    return Result.objects.filter(pk=row["id"]).first() if row else None


def _draft(entry: DraftEntry, indicator, stored, recorded, shared: _Quarter, *, user) -> _Draft:
    """One entry through every check, in the order a single save has always made them; raises
    the first refusal. A draft always saves however far behind its figures are: the
    explanation of a shortfall is required on submit (services.review)."""
    if indicator is None:
        raise ValidationError(_("這個指標已不存在。"), code="missing")
    require(can_enter(user, indicator))
    shared.check_year(indicator.goal.year)
    writes.check_fields(entry.narrative, NARRATIVE_FIELDS)
    if stored is not None and stored["version"] != entry.expected_version:
        raise ConcurrentEditError(str(_STALE), current=_current(stored))
    if stored is None and entry.expected_version is not None:
        raise ConcurrentEditError(_gone(indicator, shared.quarter, entry.expected_version))
    _check_editable(stored["state"] if stored else None, indicator, shared.quarter, shared)
    values = _clean_figures(indicator.method, indicator.inputs, entry.figures)
    if stored is None:
        row = {
            **_NEW_RESULT,
            "indicator_id": indicator.pk,
            "quarter": shared.quarter,
            "state": Result.State.DRAFT,
            "owner_unit_id": indicator.responsible_unit_id,
        }
    else:
        row = dict(stored)
    for name, text in entry.narrative.items():
        # Unlimited text fields: what full_clean would check of them is that they are text.
        if text is not None and not isinstance(text, str):
            raise ValidationError({name: _("必須是文字。")}, code="narrative")
        row[name] = text or ""
    return _Draft(row, stored is None, recorded or {}, values, indicator.goal.agency_id)


_NEW_RESULT = bulk.defaults(Result)


def _gone(indicator, quarter: int, version) -> str:
    # A version names a result that was there once; only its history can say it was deleted.
    deleted = Result.history.filter(
        indicator_id=indicator.pk, quarter=quarter, history_type="-"
    ).exists()
    if deleted:
        return _("這筆成果已被刪除，請重新載入。")
    return _("這個指標本季尚無成果，沒有版本 %(version)s；新的填報請不要指定版本。") % {
        "version": version
    }


@writes.atomic
def results_save_drafts(
    *, quarter: int, entries: Sequence[DraftEntry], user, reason: str = ""
) -> None:
    """Create or change many indicators' results of one quarter as drafts (a returned one
    stays returned), all or none: what `result_save_draft` does for one, with the same checks
    in the same order, in a number of queries that does not grow with the entries.

    Raises DraftsRefused, naming every refused entry, having written nothing; or
    ConcurrentEditError when somebody else entered one of these quarters for the first time
    while this ran (the database's uniqueness refuses the whole batch).
    """
    drafts, refusals, _indicators = _checked(quarter=quarter, entries=entries, user=user)
    if refusals:
        raise DraftsRefused(refusals)
    _write_drafts(list(drafts.values()), user=user, reason=reason)


def _checked(
    *, quarter: int, entries: Sequence[DraftEntry], user, indicators=None
) -> tuple[dict[int, "_Draft"], dict[int, Exception], dict[int, EntryIndicator]]:
    """Every entry through every check, with the quarter's results locked: the drafts to write
    and the refusals, each by the entry's index, and the indicators as read (by id), unless
    the caller read them (`indicators`)."""
    if indicators is None:
        ids = [entry.indicator_id for entry in entries]
        # A draft always saves: nothing here judges the figures against a milestone.
        indicators = entry_indicators(ids=ids, milestones=False)
    stored, recorded = _stored_results(indicators, quarter)
    shared = _Quarter(quarter)
    drafts: dict[int, _Draft] = {}
    refusals: dict[int, Exception] = {}
    seen: set[int] = set()
    for index, entry in enumerate(entries):
        indicator = indicators.get(entry.indicator_id)
        try:
            if entry.indicator_id in seen:
                raise ValidationError(_("同一個指標在這批資料中出現兩次。"), code="twice")
            seen.add(entry.indicator_id)
            draft = _draft(
                entry,
                indicator,
                stored.get(entry.indicator_id),
                recorded.get(entry.indicator_id),
                shared,
                user=user,
            )
        except _REFUSALS as exc:
            refusals[index] = exc
        else:
            drafts[index] = draft
    return drafts, refusals, indicators


@writes.atomic
def results_save_quarter(
    *, quarter: int, entries: Sequence[DraftEntry], user, reason: str = ""
) -> dict[int, Exception]:
    """A unit's quarter page saved at once: every entry checked as `results_save_drafts` checks
    it; those without a problem written (in one transaction, in the same few statements),
    the refused ones not at all. Answers the refusals by the entry's index (empty when all
    were saved), each what `result_save_draft` would have raised for that entry alone.

    Raises ConcurrentEditError, having written nothing, when somebody else entered one of these
    quarters for the first time while this ran."""
    drafts, refusals, _indicators = _checked(quarter=quarter, entries=entries, user=user)
    if drafts:
        _write_drafts(list(drafts.values()), user=user, reason=reason)
    return refusals


def _touches(drafts: list[_Draft]) -> set:
    """What the drafts touch (kpitrack.core.writes): the stored outcomes count approved figures
    only, and a draft is written only where the result may be edited, so no outcome. But a
    first draft makes a quarter entered, which the dashboards show (their attention list and
    state filter, cached per outcomes' version): that needs a new version, not a refresh."""
    touches = {
        ("indicator", d.row["indicator_id"])
        for d in drafts
        if d.row["state"] not in Result.EDITABLE
    }
    touches |= {outcomes.version_of(d.agency_id) for d in drafts if d.new}
    return touches


def _write_drafts(drafts: list[_Draft], *, user, reason: str):
    """The drafts' rows, their figures and every history row: a few statements for all."""
    now = timezone.now()
    user_id = user.pk if user is not None and user.is_authenticated else None
    logged = {"user_id": user_id, "reason": reason, "when": now}
    touches = _touches(drafts)
    new = [d.row for d in drafts if d.new]
    changed = [d.row for d in drafts if not d.new]
    for row in new:
        row["updated_at"] = now
    for row in changed:
        row["updated_at"] = now
        row["version"] += 1
    pks = []
    if new:  # (no savepoint for nothing to insert: two statements saved)
        try:
            with transaction.atomic():
                pks = bulk.insert(Result, new, touches=touches)
        except IntegrityError:
            # A first save of the same quarter by somebody else got in between: theirs won.
            raise ConcurrentEditError(str(_STALE), current=None) from None
    for row, pk in zip(new, pks, strict=True):
        row["id"] = pk
    bulk.update(Result, changed, [*NARRATIVE_FIELDS, "version", "updated_at"], touches=touches)
    bulk.history(Result, new, new=True, **logged)
    bulk.history(Result, changed, new=False, **logged)
    added, altered = [], []
    for draft in drafts:
        for key in sorted(draft.values):
            pk, value, published = draft.recorded.get(key, (None, None, ""))
            if pk is not None and value == draft.values[key]:
                continue
            row = {
                "id": pk,
                "result_id": draft.row["id"],
                "key": key,
                "value": draft.values[key],
                "published_rate": published,
            }
            (altered if pk is not None else added).append(row)
    for row, pk in zip(added, bulk.insert(ResultFigure, added, touches=touches), strict=True):
        row["id"] = pk
    bulk.update(ResultFigure, altered, ["value"], touches=touches)
    bulk.history(ResultFigure, added, new=True, **logged)
    bulk.history(ResultFigure, altered, new=False, **logged)


@writes.atomic
def result_save_draft(
    *,
    indicator: Indicator,
    quarter: int,
    figures: Mapping[str, Decimal | str | None],
    narrative: Mapping[str, str],
    expected_version: int | None,
    user,
    reason: str = "",
) -> Result:
    """Create or change the quarter's result as a draft (a returned one stays returned).

    `expected_version` is None for a result not there yet; a figure is a Decimal, a string as
    typed, or None to leave it empty. Raises ValidationError (keyed by input key or narrative
    field), PermissionDenied, ConcurrentEditError, ResultLocked, WindowClosed.
    """
    _save_one(indicator.pk, quarter, figures, narrative, expected_version, user=user, reason=reason)
    return Result.objects.get(indicator_id=indicator.pk, quarter=quarter)


@writes.atomic
def result_save_draft_read(
    *,
    indicator: EntryIndicator,
    quarter: int,
    figures: Mapping[str, Decimal | str | None],
    narrative: Mapping[str, str],
    expected_version: int | None,
    user,
    reason: str = "",
) -> ResultRow:
    """`result_save_draft` of an indicator the caller has read as `entry_indicators(...,
    milestones=False)` reads it (the API, which reads the body with it): not read again.
    Answers the result as written, with its figures: what the engine makes of them is
    `indicator.preview(quarter, result.figures)`. One transaction, as `results_save_drafts`
    (not one inside another: no savepoint).

    The caller reads the indicator before the transaction begins, where `result_save_draft`
    reads it inside, before locking the result: on PostgreSQL (read committed) the same, each
    statement seeing what was committed when it ran."""
    draft = _save_one(
        indicator.pk,
        quarter,
        figures,
        narrative,
        expected_version,
        user=user,
        reason=reason,
        indicators={indicator.pk: indicator},
    )
    # The row is as written, and so are the figures: those recorded (read under the lock, by
    # id), each changed one where it was, the new ones after them in the order inserted (their
    # ids are later); values as the database keeps them, at the field's scale.
    figures = {key: value for key, (_pk, value, _published) in draft.recorded.items()}
    for key in sorted(draft.values):
        figures[key] = _as_stored(draft.values[key])
    return ResultRow(draft.row, figures)


_FIGURE_SCALE = Decimal(10) ** -ResultFigure._meta.get_field("value").decimal_places


def _as_stored(value: Decimal | None) -> Decimal | None:
    """A figure as the database answers it once stored: at the column's scale (PostgreSQL's
    numeric, Django's converter on SQLite), a zero without its sign."""
    if value is None:
        return None
    return Decimal(0).quantize(_FIGURE_SCALE) if value.is_zero() else value.quantize(_FIGURE_SCALE)


def _save_one(
    indicator_id: int,
    quarter: int,
    figures: Mapping[str, Decimal | str | None],
    narrative: Mapping[str, str],
    expected_version: int | None,
    *,
    user,
    reason: str,
    indicators: dict[int, EntryIndicator] | None = None,
) -> _Draft:
    entry = DraftEntry(indicator_id, figures, narrative, expected_version)
    drafts, refusals, _indicators = _checked(
        quarter=quarter, entries=[entry], user=user, indicators=indicators
    )
    if refusals:
        raise refusals[0]
    _write_drafts(list(drafts.values()), user=user, reason=reason)
    return drafts[0]
