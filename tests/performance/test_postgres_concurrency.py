"""Two connections saving the same quarter's results on PostgreSQL at the same moment: of two
editors of one result exactly one wins and the other is refused, and of two first saves of one
quarter one wins and the other is refused, with no row written twice.

Each save runs in its own thread, so on its own connection. The first saves and holds its
transaction open; the second starts once the first has written and must then wait for the
first's lock (the result's row, or the quarter's unique key); the test sees it waiting in
pg_stat_activity before it lets the first commit. Nothing depends on how long anything takes.

SQLite has one writer at a time (see test_sqlite_concurrency.py): there is no race to show.
"""

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections, transaction

from kpitrack.core.versioning import ConcurrentEditError
from performance.models import Evidence, Result, ResultFigure
from performance.services import (
    DraftEntry,
    DraftsRefused,
    ResultLocked,
    evidence_add,
    result_save_draft,
    result_submit,
    results_save_drafts,
)
from tests.performance.conftest import build_workflow

WAIT = 30  # seconds before a test gives up on the other connection: only when something hangs
MET = {"progress": "依計畫辦理"}


@pytest.fixture
def workflow(alice):
    """Written in the test itself: the racing threads see it only once the test commits (the
    module-wide rows of tests/performance/conftest.py are never committed)."""
    return build_workflow(alice)


@pytest.fixture
def postgresql():
    """Asked for before the database, so SQLite skips without setting it up."""
    if connection.vendor != "postgresql":
        pytest.skip("two connections racing for a lock: PostgreSQL only")


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _waits_for(waiter: int, holder: int) -> bool:
    """Whether connection `waiter` is blocked by a lock `holder` holds (asked from a third)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s = ANY(pg_blocking_pids(%s))", [holder, waiter])
        return cursor.fetchone()[0]


class _Save(threading.Thread):
    """`results_save_drafts` on this thread's own connection; `outcome` is "saved" or what it
    raised. With `hold`, it keeps its transaction open after writing until `commit` is set."""

    def __init__(self, *, quarter, entries, username, hold: bool, after=None):
        super().__init__()
        self.quarter, self.entries, self.username = quarter, entries, username
        self.hold, self.after = hold, after
        self.pid = None
        self.ready = threading.Event()  # pid known (and, with hold, written)
        self.commit = threading.Event()
        self.outcome = None

    def run(self):
        try:
            if self.after is not None:
                assert self.after.ready.wait(WAIT), "the first save never wrote"
            user = get_user_model().objects.get(username=self.username)
            self.pid = _backend_pid()
            with transaction.atomic():
                if not self.hold:
                    self.ready.set()
                results_save_drafts(
                    quarter=self.quarter, entries=self.entries, user=user, reason="同時填報"
                )
                if self.hold:
                    self.ready.set()
                    assert self.commit.wait(WAIT), "never told to commit"
            self.outcome = "saved"
        except Exception as exc:  # what the save raised is what the test looks at
            self.outcome = exc
        finally:
            self.ready.set()
            connections.close_all()  # this thread's connections only


def _race(first: _Save, second: _Save):
    """Run `first` to its write, `second` until it waits for `first`'s lock, then commit."""
    first.start()
    second.start()
    try:
        assert first.ready.wait(WAIT) and second.ready.wait(WAIT)
        assert first.outcome is None, first.outcome  # written, transaction still open
        deadline = time.monotonic() + WAIT
        while second.is_alive() and not _waits_for(second.pid, first.pid):
            assert time.monotonic() < deadline, "the second save never waited for the first"
            time.sleep(0.01)
        assert second.is_alive(), f"the second save did not wait: {second.outcome!r}"
    finally:
        first.commit.set()
        first.join(WAIT)
        second.join(WAIT)
    assert not first.is_alive() and not second.is_alive()


def _history(indicator, quarter) -> list[tuple]:
    results = Result.history.filter(indicator_id=indicator.pk, quarter=quarter)
    figures = ResultFigure.history.filter(
        result_id__in=Result.objects.filter(indicator=indicator, quarter=quarter).values("pk")
    )
    return [
        *results.order_by("history_id").values_list("history_type", "version"),
        *figures.order_by("history_id").values_list("history_type", "value"),
    ]


def test_of_two_editors_of_one_result_with_the_same_version_exactly_one_wins(
    postgresql,
    transactional_db,
    workflow,
    alice,
):
    flow = workflow
    saved = result_save_draft(
        indicator=flow.count,
        quarter=flow.quarter,
        figures={"value": "100"},
        narrative=MET,
        expected_version=None,
        user=alice,
        reason="先存一版",
    )
    seen = saved.version
    first = _Save(
        quarter=flow.quarter,
        entries=[DraftEntry(flow.count.pk, {"value": "120"}, MET, seen)],
        username="alice",
        hold=True,
    )
    second = _Save(
        quarter=flow.quarter,
        entries=[
            DraftEntry(flow.ratio.pk, {"num": "45", "den": "50"}, MET, None),
            DraftEntry(flow.count.pk, {"value": "999"}, MET, seen),
        ],
        username="alice",
        hold=False,
        after=first,
    )

    _race(first, second)

    assert first.outcome == "saved"
    assert isinstance(second.outcome, DraftsRefused), second.outcome
    assert list(second.outcome.refusals) == [1]
    stale = second.outcome.refusals[1]
    assert isinstance(stale, ConcurrentEditError)
    assert stale.current.figures.get(key="value").value == 120  # the winner's, read after it
    result = Result.objects.get(indicator=flow.count, quarter=flow.quarter)
    assert result.version == seen + 1
    assert result.figures.get(key="value").value == 120
    assert _history(flow.count, flow.quarter) == [("+", 1), ("~", 2), ("+", 100), ("~", 120)]
    assert not Result.objects.filter(indicator=flow.ratio).exists()


def test_of_two_first_saves_of_one_quarter_one_wins_and_no_row_is_written_twice(
    postgresql,
    transactional_db,
    workflow,
    alice,
):
    flow = workflow
    first = _Save(
        quarter=flow.quarter,
        entries=[DraftEntry(flow.count.pk, {"value": "120"}, MET, None)],
        username="alice",
        hold=True,
    )
    second = _Save(
        quarter=flow.quarter,
        entries=[
            DraftEntry(flow.ratio.pk, {"num": "45", "den": "50"}, MET, None),
            DraftEntry(flow.count.pk, {"value": "999"}, MET, None),
        ],
        username="alice",
        hold=False,
        after=first,
    )

    _race(first, second)

    assert first.outcome == "saved"
    # Both found no result; the second's INSERT met the first's row at the unique key.
    assert isinstance(second.outcome, ConcurrentEditError), second.outcome
    result = Result.objects.get(indicator=flow.count, quarter=flow.quarter)
    assert result.figures.get().value == 120
    assert _history(flow.count, flow.quarter) == [("+", 1), ("+", 120)]
    assert not Result.objects.filter(indicator=flow.ratio).exists()
    assert not Result.history.filter(indicator_id=flow.ratio.pk).exists()


class _Act(threading.Thread):
    """`act(user)` in a transaction on this thread's own connection, as `_Save` runs a save (the
    same events and outcome, so `_race` runs two of them): "done" or what it raised."""

    def __init__(self, act, *, username, hold: bool, after=None):
        super().__init__()
        self.act, self.username, self.hold, self.after = act, username, hold, after
        self.pid = None
        self.ready = threading.Event()
        self.commit = threading.Event()
        self.outcome = None

    def run(self):
        try:
            if self.after is not None:
                assert self.after.ready.wait(WAIT), "the first never acted"
            user = get_user_model().objects.get(username=self.username)
            self.pid = _backend_pid()
            with transaction.atomic():
                if not self.hold:
                    self.ready.set()
                self.act(user)
                if self.hold:
                    self.ready.set()
                    assert self.commit.wait(WAIT), "never told to commit"
            self.outcome = "done"
        except Exception as exc:  # what the act raised is what the test looks at
            self.outcome = exc
        finally:
            self.ready.set()
            connections.close_all()


def test_evidence_added_while_the_result_is_submitted_waits_and_is_refused(
    postgresql, transactional_db, workflow, alice, settings, tmp_path
):
    """The services that check a result's state before changing what hangs on it read the result
    FOR UPDATE (`_locked_result`): evidence added while another connection submits the result
    waits for the submit, then sees the result under review and is refused. Read without the
    lock, it would see the draft and attach the file to a result already submitted."""
    settings.MEDIA_ROOT = tmp_path / "media"
    flow = workflow
    draft = result_save_draft(
        indicator=flow.count,
        quarter=flow.quarter,
        figures={"value": "120"},
        narrative=MET,
        expected_version=None,
        user=alice,
        reason="先存一版",
    )
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    first = _Act(
        lambda user: result_submit(result=draft, expected_version=draft.version, user=user),
        username="alice",
        hold=True,
    )
    second = _Act(
        lambda user: evidence_add(
            result=draft, upload=SimpleUploadedFile("清冊.pdf", pdf), user=user, reason="補件"
        ),
        username="alice",
        hold=False,
        after=first,
    )

    _race(first, second)

    assert first.outcome == "done"
    assert isinstance(second.outcome, ResultLocked), second.outcome
    assert Result.objects.get(pk=draft.pk).state == Result.State.SUBMITTED
    assert not Evidence.objects.filter(result=draft).exists()
