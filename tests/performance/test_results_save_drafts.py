"""results_save_drafts: many indicators' figures and narrative of one quarter, checked as
result_save_draft checks one and written all or none, in a number of queries that does not
grow with the entries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from kpitrack.core import bulk
from kpitrack.core.versioning import ConcurrentEditError
from performance.models import Indicator, Result, ResultFigure
from performance.services import (
    DraftEntry,
    DraftsRefused,
    ResultLocked,
    WindowClosed,
    entry_exception_grant,
    indicator_create,
    result_create,
    result_delete,
    result_save_draft,
    result_state_set,
    result_update,
    results_save_drafts,
)
from tests.conftest import make_alice, rows_for_the_module, run_commit_work_now
from tests.performance.conftest import read_workflow

pytestmark = pytest.mark.django_db

MET = {"progress": "依計畫辦理"}
SHORT = {"shortfall_reason": "人力不足", "improvement": "增派人力"}
REASON = "第一季批次填報"

# Measured, the same on SQLite and PostgreSQL, for 3 entries and for 30: the batch's savepoint and
# its release (2); the indicators as entry reads them (4: indicators, inputs and parts in one query,
# recorded figures, goals; last year's are not read, as no method here uses them); the policies (1);
# the quarter's results locked and their figures (2; 1 when none is there yet); the memberships (1);
# the period (1, read outside a savepoint since it is there); the results' INSERT … RETURNING in a
# savepoint (3, none when there is no new result); then a statement for each of figures, result
# history, figure history, and the results' UPDATE when they change. Django logs an executemany as
# one query. A first draft also makes a new version of the stored outcomes, on commit (1): the
# dashboards show a quarter entered (issue 16 caches their pages per version). (21 and 20 while the
# period was read in a savepoint and the insert took one always; 19 for new results while their
# figures were looked for with no result to have any; 18 and 16 while the inputs and parts were two
# queries.)
QUERIES_NEW = 17  # 2 + 4 + 1 + 1 + 1 + 1 + 3 (results) + 1 (figures) + 2 (history) + 1
QUERIES_CHANGED = 15  # 2 + 4 + 1 + 2 + 1 + 1 + 0 (no insert) + 2 (updates) + 2 (history)


def _entry(indicator, figures, narrative=MET, version=None) -> DraftEntry:
    return DraftEntry(indicator.pk, figures, narrative, version)


def _save_all(flow, user, entries, reason=REASON):
    return results_save_drafts(quarter=flow.quarter, entries=entries, user=user, reason=reason)


def _save(flow, user, indicator, figures, narrative=MET, version=None) -> Result:
    return result_save_draft(
        indicator=indicator,
        quarter=flow.quarter,
        figures=figures,
        narrative=narrative,
        expected_version=version,
        user=user,
        reason="先存一版",
    )


def _counts(flow, alice, n: int, *, unit=None) -> list[Indicator]:
    """`n` more count indicators (target 100) of the workflow's goal, of its unit by default."""
    return [
        indicator_create(
            user=alice,
            goal=flow.count.goal,
            code=f"more-{n}-{i}",
            name=f"加測指標{i}",
            method="count",
            responsible_unit=unit or flow.unit,
            inputs=[{"key": "value", "label": "辦理件數", "unit": "件"}],
            parts=[{"key": "value", "label": "件數", "value": Decimal("100")}],
        )
        for i in range(n)
    ]


def _result(flow, indicator) -> Result:
    return Result.objects.get(indicator=indicator, quarter=flow.quarter)


def _figures(flow, indicator) -> dict[str, Decimal | None]:
    return {f.key: f.value for f in _result(flow, indicator).figures.all()}


def _state():
    """Everything a batch could write, to compare before and after a refusal."""
    return (
        Result.objects.count(),
        ResultFigure.objects.count(),
        Result.history.count(),
        ResultFigure.history.count(),
        sorted(Result.objects.values_list("pk", "version", "progress")),
        sorted(ResultFigure.objects.values_list("pk", "value")),
    )


# --- what a batch writes ---------------------------------------------------------------------


def test_every_result_and_figure_of_a_batch_is_written(workflow, alice):
    more = _counts(workflow, alice, 3)
    _save_all(
        workflow,
        alice,
        [
            _entry(workflow.count, {"value": "1,234.5"}, {"progress": "辦理中"}),
            _entry(workflow.ratio, {"num": "45", "den": "50"}),
            *[_entry(i, {"value": str(100 + n)}) for n, i in enumerate(more)],
        ],
    )
    assert _figures(workflow, workflow.count) == {"value": Decimal("1234.5")}
    assert _figures(workflow, workflow.ratio) == {"num": 45, "den": 50}
    assert [_figures(workflow, i) for i in more] == [{"value": 100}, {"value": 101}, {"value": 102}]
    count = _result(workflow, workflow.count)
    assert (count.state, count.owner_unit, count.progress, count.version) == (
        "draft",
        workflow.unit,
        "辦理中",
        1,
    )
    assert Result.objects.filter(indicator__goal=workflow.count.goal).count() == 5


def test_rows_split_over_several_statements_keep_their_ids_and_history(
    workflow, alice, monkeypatch
):
    """A large workbook's rows go in several multi-row INSERTs (full chunks and the rest):
    each figure and history row must still land on its own result."""
    monkeypatch.setattr(bulk, "BATCH", 2)
    monkeypatch.setattr(bulk, "CHUNK", 2)
    more = _counts(workflow, alice, 5)
    _save_all(workflow, alice, [_entry(i, {"value": str(100 + n)}) for n, i in enumerate(more)])
    assert [_figures(workflow, i) for i in more] == [{"value": 100 + n} for n in range(5)]
    results = Result.objects.filter(indicator__in=more)
    assert sorted(
        Result.history.filter(id__in=results.values("pk")).values_list("id", "indicator_id")
    ) == sorted(results.values_list("id", "indicator_id"))
    figures = ResultFigure.objects.filter(result__in=results)
    assert sorted(
        ResultFigure.history.filter(result_id__in=results.values("pk")).values_list(
            "id", "result_id", "value"
        )
    ) == sorted(figures.values_list("id", "result_id", "value"))
    assert figures.count() == 5


def test_each_new_result_and_figure_has_one_plus_history_row_naming_the_user_and_reason(
    workflow, alice
):
    _save_all(
        workflow,
        alice,
        [_entry(workflow.count, {"value": "120"}), _entry(workflow.ratio, {"num": 45, "den": 50})],
    )
    results = Result.objects.filter(indicator__in=[workflow.count, workflow.ratio])
    rows = Result.history.filter(id__in=results.values("pk"))
    assert sorted(
        rows.values_list("id", "history_type", "history_user", "history_change_reason")
    ) == (sorted((r.pk, "+", alice.pk, REASON) for r in results))
    figures = ResultFigure.objects.filter(result__in=results)
    rows = ResultFigure.history.filter(result_id__in=results.values("pk"))
    assert sorted(
        rows.values_list("id", "history_type", "history_user", "history_change_reason")
    ) == (sorted((f.pk, "+", alice.pk, REASON) for f in figures))
    assert figures.count() == 3


def test_each_changed_result_and_figure_has_a_tilde_history_row_and_an_unchanged_figure_none(
    workflow, alice
):
    count = _save(workflow, alice, workflow.count, {"value": "120"})
    ratio = _save(workflow, alice, workflow.ratio, {"num": "45", "den": "50"})
    before = ResultFigure.history.count()
    _save_all(
        workflow,
        alice,
        [
            _entry(workflow.count, {"value": "130"}, version=count.version),
            _entry(workflow.ratio, {"num": "46", "den": "50"}, version=ratio.version),
        ],
    )
    for result in (count, ratio):
        latest = result.history.latest()
        assert (latest.history_type, latest.history_user, latest.history_change_reason) == (
            "~",
            alice,
            REASON,
        )
    new_rows = ResultFigure.history.order_by("history_id")[before:]
    assert [(r.key, r.value, r.history_type, r.history_change_reason) for r in new_rows] == [
        ("value", 130, "~", REASON),
        ("num", 46, "~", REASON),
    ]


def test_a_changed_result_goes_up_exactly_one_version_and_a_new_one_starts_at_one(workflow, alice):
    ratio = _save(workflow, alice, workflow.ratio, {"num": "45", "den": "50"})
    ratio = _save(
        workflow, alice, workflow.ratio, {"num": "47", "den": "50"}, version=ratio.version
    )
    assert ratio.version == 2
    _save_all(
        workflow,
        alice,
        [
            _entry(workflow.count, {"value": "120"}),
            _entry(workflow.ratio, {"num": "46", "den": "50"}, version=2),
        ],
    )
    assert _result(workflow, workflow.ratio).version == 3
    assert _result(workflow, workflow.count).version == 1
    assert _result(workflow, workflow.ratio).history.latest().version == 3


def test_updated_at_is_set_on_new_and_changed_results(workflow, alice):
    ratio = _save(workflow, alice, workflow.ratio, {"num": "45", "den": "50"})
    started = timezone.now()
    _save_all(
        workflow,
        alice,
        [
            _entry(workflow.count, {"value": "120"}),
            _entry(workflow.ratio, {"num": "46", "den": "50"}, version=ratio.version),
        ],
    )
    finished = timezone.now()
    for indicator in (workflow.count, workflow.ratio):
        result = _result(workflow, indicator)
        assert started <= result.updated_at <= finished
        assert result.history.latest().updated_at == result.updated_at
    assert _result(workflow, workflow.ratio).updated_at > ratio.updated_at


def test_a_returned_result_stays_returned(workflow, alice):
    ratio = _save(workflow, alice, workflow.ratio, {"num": "45", "den": "50"})
    ratio = result_state_set(
        result=ratio, state="returned", expected_version=ratio.version, user=alice, reason="退回"
    )
    _save_all(workflow, alice, [_entry(workflow.ratio, {"num": "46"}, version=ratio.version)])
    result = _result(workflow, workflow.ratio)
    assert (result.state, result.history.latest().state) == ("returned", "returned")
    assert _figures(workflow, workflow.ratio) == {"num": 46, "den": 50}


def test_a_changed_figure_keeps_its_published_rate(workflow, alice):
    count = _save(workflow, alice, workflow.count, {"value": "120"})
    count = result_update(
        result=count,
        expected_version=count.version,
        user=alice,
        reason="轉錄原發布數值",
        published={"value": "95.5"},
    )
    _save_all(workflow, alice, [_entry(workflow.count, {"value": "130"}, version=count.version)])
    figure = _result(workflow, workflow.count).figures.get(key="value")
    assert (figure.value, figure.published_rate) == (130, "95.5")
    assert figure.history.latest().published_rate == "95.5"


def test_figures_are_exact_to_the_last_decimal_on_the_database(workflow, alice):
    top, bottom = Decimal("0.0001"), Decimal("99999999999.9999")
    _save_all(workflow, alice, [_entry(workflow.ratio, {"num": top, "den": bottom}, SHORT)])
    assert _figures(workflow, workflow.ratio) == {"num": top, "den": bottom}
    ratio = _result(workflow, workflow.ratio)
    history = {row.key: row.value for row in ResultFigure.history.filter(result_id=ratio.pk)}
    assert history == {"num": top, "den": bottom}
    # As the database holds them, past Django's conversions.
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT "key", CAST("value" AS TEXT) FROM performance_resultfigure'
            " WHERE result_id = %s",
            [ratio.pk],
        )
        stored = {key: Decimal(text) for key, text in cursor.fetchall()}
    assert stored == {"den": bottom, "num": top}


# --- the same rows as the single path --------------------------------------------------------

# What differs between two saves of the same thing: the row ids and the moment.
_MOMENT = {"id", "history_id", "history_date", "updated_at", "result_id"}


def _written_by(save) -> tuple[list[dict], list[dict]]:
    """The history rows of results and figures that `save` writes, without ids and dates; the
    save is rolled back, so the next one starts from the same database."""
    results = Result.history.order_by("history_id")
    figures = ResultFigure.history.order_by("history_id")
    since = (results.count(), figures.count())
    with transaction.atomic():
        save()
        rows = tuple(
            [{k: v for k, v in row.items() if k not in _MOMENT} for row in qs.values()[start:]]
            for qs, start in zip((results, figures), since, strict=True)
        )
        transaction.set_rollback(True)
    return rows


def test_a_new_result_saved_in_a_batch_has_the_history_rows_of_one_saved_alone(workflow, alice):
    more = _counts(workflow, alice, 2)
    alone = _written_by(lambda: _save(workflow, alice, workflow.ratio, {"num": "45", "den": "50"}))
    batch = _written_by(
        lambda: results_save_drafts(
            quarter=workflow.quarter,
            entries=[
                _entry(more[0], {"value": "120"}),
                _entry(workflow.ratio, {"num": "45", "den": "50"}),
                _entry(more[1], {"value": "130"}),
            ],
            user=alice,
            reason="先存一版",
        )
    )
    ratio = workflow.ratio.pk
    assert [r for r in batch[0] if r["indicator_id"] == ratio] == alone[0]
    assert batch[1][1:3] == alone[1]
    assert alone[0][0]["history_type"] == "+" and len(alone[1]) == 2


def test_a_changed_result_saved_in_a_batch_has_the_history_rows_of_one_saved_alone(workflow, alice):
    more = _counts(workflow, alice, 1)
    ratio = _save(workflow, alice, workflow.ratio, {"num": "45", "den": "50"}, MET)
    extra = _save(workflow, alice, more[0], {"value": "120"})
    change = {"num": "46", "den": "50"}, {"progress": "修正", "remarks": "備註"}
    alone = _written_by(lambda: _save(workflow, alice, workflow.ratio, *change, ratio.version))
    batch = _written_by(
        lambda: results_save_drafts(
            quarter=workflow.quarter,
            entries=[
                _entry(more[0], {"value": "121"}, version=extra.version),
                _entry(workflow.ratio, *change, version=ratio.version),
            ],
            user=alice,
            reason="先存一版",
        )
    )
    assert batch[0][1] == alone[0][0]
    assert batch[1][1:] == alone[1]
    assert [(r["history_type"], r["version"]) for r in alone[0]] == [("~", 2)]
    assert [(r["key"], r["history_type"]) for r in alone[1]] == [("num", "~")]


def test_a_batch_writes_the_history_rows_simple_history_writes_for_the_same_save(workflow, alice):
    """The reference is simple-history's own row for a model save (result_create and
    result_update save through the ORM): the batch's hand-written rows must match it."""
    narrative = {"progress": "依計畫辦理", "benefit": "效益"}
    figures = {"value": Decimal("120")}
    by_orm = _written_by(
        lambda: result_create(
            indicator=workflow.count,
            quarter=workflow.quarter,
            user=alice,
            reason=REASON,
            figures=figures,
            owner_unit=workflow.unit,
            **narrative,
        )
    )
    by_batch = _written_by(
        lambda: _save_all(workflow, alice, [_entry(workflow.count, figures, narrative)])
    )
    assert by_batch == by_orm
    base = _save(workflow, alice, workflow.count, {"value": "120"})
    changed = {"value": Decimal("130")}, {"progress": "修正"}
    by_orm = _written_by(
        lambda: result_update(
            result=base,
            expected_version=base.version,
            user=alice,
            reason=REASON,
            figures=changed[0],
            **changed[1],
        )
    )
    by_batch = _written_by(
        lambda: _save_all(workflow, alice, [_entry(workflow.count, *changed, base.version)])
    )
    assert by_batch == by_orm
    assert [r["history_type"] for r in by_batch[0] + by_batch[1]] == ["~", "~"]


# --- all or nothing --------------------------------------------------------------------------


def _bad_figure(flow, alice, extra):
    return _entry(extra, {"value": "-1"}), ValidationError, "不可為負數"


def _stale_version(flow, alice, extra):
    first = _save(flow, alice, extra, {"value": "120"})
    _save(flow, alice, extra, {"value": "121"}, version=first.version)
    return (
        _entry(extra, {"value": "999"}, version=first.version),
        ConcurrentEditError,
        "已被其他人修改",
    )


def _deleted_result(flow, alice, extra):
    result = _save(flow, alice, extra, {"value": "120"})
    result_delete(result=result, expected_version=result.version, user=alice, reason=REASON)
    return _entry(extra, {"value": "121"}, version=result.version), ConcurrentEditError, "已被刪除"


def _version_of_a_result_never_created(flow, alice, extra):
    # Not "deleted": there never was one, so the version names nothing.
    return _entry(extra, {"value": "120"}, version=1), ConcurrentEditError, "尚無成果"


def _another_units_indicator(flow, alice, extra):
    return _entry(flow.elsewhere, {"value": "12"}), PermissionDenied, ""


def _approved_result(flow, alice, extra):
    result = _save(flow, alice, extra, {"value": "120"})
    Result.objects.filter(pk=result.pk).update(state=Result.State.APPROVED)
    return _entry(extra, {"value": "1"}, version=result.version), ResultLocked, "已核定"


def _unknown_narrative_field(flow, alice, extra):
    return _entry(extra, {"value": "120"}, {"state": "approved"}), ValidationError, "state"


def _narrative_not_text(flow, alice, extra):
    return _entry(extra, {"value": "120"}, {"progress": 12}), ValidationError, "必須是文字"


def _closed_window(flow, alice, extra):
    # The window closed yesterday; the entering unit has an exception, the other has not.
    flow.set_window(alice, opens_in=-20, closes_in=-1)
    entry_exception_grant(
        agency=flow.agency,
        unit=flow.unit,
        year=flow.year,
        quarter=flow.quarter,
        until=timezone.localdate() + timedelta(days=3),
        user=alice,
        reason="補登",
    )
    return _entry(extra, {"value": "120"}), WindowClosed, "已於"


REFUSED = [
    _bad_figure,
    _stale_version,
    _deleted_result,
    _version_of_a_result_never_created,
    _another_units_indicator,
    _approved_result,
    _unknown_narrative_field,
    _narrative_not_text,
    _closed_window,
]


@pytest.mark.parametrize("refused", REFUSED, ids=lambda f: f.__name__.strip("_"))
def test_one_refused_entry_among_several_refuses_the_batch_and_writes_nothing(
    workflow, alice, people, refused
):
    # The agency's administrator enters both units: only the window refuses the other's.
    user = people["admin" if refused is _closed_window else "staff"]
    unit = workflow.other_unit if refused is _closed_window else workflow.unit
    (extra,) = _counts(workflow, alice, 1, unit=unit)
    ratio = _save(workflow, alice, workflow.ratio, {"num": "45", "den": "50"})
    entry, kind, words = refused(workflow, alice, extra)
    before = _state()

    with pytest.raises(DraftsRefused) as excinfo:
        _save_all(
            workflow,
            user,
            [
                _entry(workflow.count, {"value": "120"}),
                entry,
                _entry(workflow.ratio, {"num": "46", "den": "50"}, version=ratio.version),
            ],
        )

    refusals = excinfo.value.refusals
    assert list(refusals) == [1]
    assert type(refusals[1]) is kind
    assert words in " ".join(getattr(refusals[1], "messages", [str(refusals[1])]))
    assert _state() == before


def test_every_refused_entry_is_named_by_its_index_with_its_own_refusal(workflow, alice, people):
    a, b, c = _counts(workflow, alice, 3)
    stale, _ = _stale_version(workflow, alice, b)[:2]
    approved, _ = _approved_result(workflow, alice, c)[:2]
    before = _state()

    with pytest.raises(DraftsRefused) as excinfo:
        _save_all(
            workflow,
            people["staff"],
            [
                _entry(workflow.count, {"value": "120"}),
                _entry(a, {"value": "abc"}),
                _entry(workflow.ratio, {"num": "45", "den": "50"}),
                stale,
                _entry(workflow.elsewhere, {"value": "12"}),
                approved,
            ],
        )

    refusals = excinfo.value.refusals
    assert {i: type(e) for i, e in refusals.items()} == {
        1: ValidationError,
        3: ConcurrentEditError,
        4: PermissionDenied,
        5: ResultLocked,
    }
    assert list(refusals[1].message_dict) == ["value"]
    assert "不是數字" in refusals[1].message_dict["value"][0]
    assert refusals[3].current.figures.get(key="value").value == 121
    assert "已核定" in refusals[5].message
    assert _state() == before


def test_the_same_indicator_twice_in_one_batch_is_refused(workflow, alice):
    before = _state()
    with pytest.raises(DraftsRefused) as excinfo:
        _save_all(
            workflow,
            alice,
            [
                _entry(workflow.count, {"value": "120"}),
                _entry(workflow.ratio, {"num": "45", "den": "50"}),
                _entry(workflow.count, {"value": "130"}),
            ],
        )
    refusals = excinfo.value.refusals
    assert list(refusals) == [2]
    assert isinstance(refusals[2], ValidationError)
    assert refusals[2].messages == ["同一個指標在這批資料中出現兩次。"]
    assert _state() == before


@pytest.mark.parametrize("version", [None, 3])
def test_a_quarter_out_of_range_is_refused_before_anything_else_of_each_entry(
    workflow, alice, version
):
    """However the entry stands (new, or naming a version no result of quarter 5 can have), the
    quarter is what is wrong with it, for every entry of the batch."""
    before = _state()
    entries = [
        _entry(workflow.count, {"value": "120"}, version=version),
        _entry(workflow.ratio, {"num": "45", "den": "50"}, version=version),
    ]
    with pytest.raises(DraftsRefused) as excinfo:
        results_save_drafts(quarter=5, entries=entries, user=alice, reason=REASON)
    refusals = excinfo.value.refusals
    assert list(refusals) == [0, 1]
    for refusal in refusals.values():
        assert isinstance(refusal, ValidationError)
        assert refusal.message_dict == {"quarter": ["季別必須是 1 至 4。"]}
    assert _state() == before


def test_a_missing_indicator_is_refused_with_a_message(workflow, alice):
    missing = Indicator.objects.order_by("-pk").first().pk + 1000
    before = _state()
    with pytest.raises(DraftsRefused) as excinfo:
        _save_all(
            workflow,
            alice,
            [
                _entry(workflow.count, {"value": "120"}),
                DraftEntry(missing, {"value": "1"}, MET, None),
            ],
        )
    refusals = excinfo.value.refusals
    assert list(refusals) == [1]
    assert isinstance(refusals[1], ValidationError)
    assert refusals[1].messages == ["這個指標已不存在。"]
    assert _state() == before


# --- queries ---------------------------------------------------------------------------------


def _figure_history(indicators) -> list[str]:
    results = Result.objects.filter(indicator__in=indicators).values("pk")
    rows = ResultFigure.history.filter(result_id__in=results).order_by("id", "history_id")
    return list(rows.values_list("history_type", flat=True))


@pytest.fixture(scope="module")
def _thirty_three_rows(_workflow_rows, django_db_blocker):
    """Written once for the four tests below (tests/conftest.py rows_for_the_module): each of
    the 33 indicators refreshes the agency's stored outcomes, 3 s in all."""
    with rows_for_the_module(django_db_blocker):
        made = _counts(read_workflow(_workflow_rows), make_alice(), 33)
        run_commit_work_now()
        yield [indicator.pk for indicator in made]


@pytest.fixture
def thirty_three(_thirty_three_rows, workflow):
    by_pk = Indicator.objects.in_bulk(_thirty_three_rows)
    return [by_pk[pk] for pk in _thirty_three_rows]


@pytest.mark.parametrize("n", [3, 30])
def test_a_batch_of_new_results_takes_the_same_queries_however_many(
    workflow, people, thirty_three, django_user_model, django_assert_num_queries, n
):
    staff = django_user_model.objects.get(pk=people["staff"].pk)  # no memberships read yet
    entries = [_entry(i, {"value": "120"}) for i in thirty_three[:n]]
    with django_assert_num_queries(QUERIES_NEW):
        _save_all(workflow, staff, entries)
    assert _figure_history(thirty_three[:n]) == ["+"] * n


@pytest.mark.parametrize("n", [3, 30])
def test_a_batch_of_changed_results_takes_the_same_queries_however_many(
    workflow, alice, people, thirty_three, django_user_model, django_assert_num_queries, n
):
    _save_all(workflow, alice, [_entry(i, {"value": "120"}) for i in thirty_three[:n]])
    staff = django_user_model.objects.get(pk=people["staff"].pk)
    entries = [_entry(i, {"value": "130"}, version=1) for i in thirty_three[:n]]
    with django_assert_num_queries(QUERIES_CHANGED):
        _save_all(workflow, staff, entries)
    assert _figure_history(thirty_three[:n]) == ["+", "~"] * n
