"""The stored outcomes the dashboards read never drift from the figures: after every public
service of both apps that can change a figure, a target, a policy, an indicator, a goal, a
result's state or an agency's 複核, the stored rows equal a computation from scratch, for every
agency and year. No service refreshes by hand (kpitrack.core.writes records what a write
touched and the refresh runs on commit), so a write path that does not record what it touches
fails here, not on a dashboard.

Each case says whether it changes an outcome: for those, the test also checks that a fresh
computation differs from what was stored before, so the case could catch a missed refresh."""

import json
from dataclasses import dataclass
from decimal import Decimal

import pytest

from budget.models import AchievementPolicy, Agency
from budget.services import achievement_policy_set, agency_update
from kpitrack.sources import load_folder
from performance.models import Indicator, Outcome, Result
from performance.services import (
    DraftEntry,
    indicator_create,
    indicator_delete,
    indicator_update,
    period_lock,
    period_unlock,
    result_create,
    result_delete,
    result_figure_delete,
    result_final_approve,
    result_first_approve,
    result_reopen,
    result_return,
    result_save_draft,
    result_state_set,
    result_submit,
    result_update,
    results_save_drafts,
    strategic_goal_create,
    strategic_goal_delete,
    strategic_goal_update,
    target_part_revise,
)
from performance.services.milestones import milestone_set
from performance.services.outcomes import computed, rebuild
from tests.conftest import SEED

pytestmark = pytest.mark.django_db

WHY = "測試"


def _by_key(rows, data=lambda data: data) -> dict:
    return {
        (row.indicator_id, row.through_quarter): (
            row.agency_id,
            row.year,
            row.entered,
            row.status,
            row.rate,
            row.progress,
            row.projected_status,
            data(row.data),
        )
        for row in rows
    }


def stored() -> dict:
    return _by_key(Outcome.objects.all())


def fresh() -> dict:
    """What rebuild() would store now, computed without writing (as a row's data reads back
    from its JSON column): the stored rows are left as the write left them."""
    return _by_key(computed(), data=lambda data: json.loads(json.dumps(data)))


@dataclass
class World:
    flow: object  # tests/performance/conftest.py's Workflow
    alice: object
    approved: Result  # the count indicator's quarter, approved: 50 of 100


def _approved(flow, alice, quarter: int, value: str = "50") -> Result:
    return result_create(
        indicator=flow.count,
        quarter=quarter,
        state=Result.State.APPROVED,
        figures={"value": Decimal(value)},
        user=alice,
        reason=WHY,
    )


def _submitted(world: World) -> Result:
    flow, alice = world.flow, world.alice
    result = result_save_draft(
        indicator=flow.ratio,
        quarter=flow.quarter,
        figures={"num": "9", "den": "10"},
        narrative={},
        expected_version=None,
        user=alice,
    )
    return result_submit(result=result, expected_version=result.version, user=alice)


def _first_approved(world: World) -> Result:
    result = _submitted(world)
    return result_first_approve(result=result, expected_version=result.version, user=world.alice)


def _without_second_review(world: World) -> Agency:
    agency = Agency.objects.get(pk=world.flow.agency.pk)
    return agency_update(
        agency=agency,
        expected_version=agency.version,
        user=world.alice,
        reason=WHY,
        second_review=False,
    )


def _fresh_copy(obj):
    return type(obj).objects.get(pk=obj.pk)


# --- the cases: (setup, write); setup's return is given to write -----------------------------


def goal_create(w):
    return strategic_goal_create(
        user=w.alice, agency=w.flow.agency, year=w.flow.year + 1, code="g2", title="明年目標"
    )


def goal_update_moves_a_year(w):
    # Two years on: the year after the old one is not the new one's, nor the other way round.
    goal = _fresh_copy(w.flow.count.goal)
    strategic_goal_update(
        goal=goal, expected_version=goal.version, user=w.alice, reason=WHY, year=w.flow.year + 2
    )


def goal_delete(w):
    goal = _fresh_copy(w.flow.count.goal)
    strategic_goal_delete(goal=goal, expected_version=goal.version, user=w.alice, reason=WHY)


def indicator_create_(w):
    indicator_create(
        user=w.alice,
        goal=w.flow.count.goal,
        code="new",
        name="新指標",
        method="count",
        inputs=[{"key": "value", "label": "件數"}],
        parts=[{"key": "value", "label": "件數", "value": Decimal("10")}],
    )


def indicator_update_target(w):
    indicator = _fresh_copy(w.flow.count)
    part = indicator.parts.get()
    indicator_update(
        indicator=indicator,
        expected_version=indicator.version,
        user=w.alice,
        reason=WHY,
        parts=[{"id": part.pk, "key": "value", "label": "件數", "value": Decimal("50")}],
    )


def indicator_update_moves_goal(w):
    goal = strategic_goal_create(
        user=w.alice, agency=w.flow.agency, year=w.flow.year + 2, code="g3", title="後年目標"
    )
    indicator = _fresh_copy(w.flow.count)
    indicator_update(
        indicator=indicator, expected_version=indicator.version, user=w.alice, reason=WHY, goal=goal
    )


def _seeded_2011_growth(w):
    """nia's 2011 indicator that 2012's growth indicator of the same code reads."""
    return Indicator.objects.select_related("goal").get(
        goal__agency__code="nia", goal__year=2011, code="anti-trafficking"
    )


def _growth_reads_2011(w):
    """2012's growth reads 2011's figure, which the seed leaves empty: give it one."""
    result = Result.objects.get(indicator=_seeded_2011_growth(w))
    result_update(
        result=result,
        expected_version=result.version,
        user=w.alice,
        reason=WHY,
        figures={"value": Decimal("50")},
    )


def goal_update_leaves_a_growth(w, _given):
    goal = _seeded_2011_growth(w).goal
    strategic_goal_update(
        goal=goal, expected_version=goal.version, user=w.alice, reason=WHY, year=2014
    )


def indicator_update_leaves_a_growth(w, _given):
    indicator = _seeded_2011_growth(w)
    goal = strategic_goal_create(
        user=w.alice, agency=indicator.goal.agency, year=2014, code="moved", title="移入"
    )
    indicator_update(
        indicator=indicator, expected_version=indicator.version, user=w.alice, reason=WHY, goal=goal
    )


def indicator_delete_(w):
    indicator = _fresh_copy(w.flow.count)
    indicator_delete(
        indicator=indicator, expected_version=indicator.version, user=w.alice, reason=WHY
    )


def target_revise(w):
    indicator = _fresh_copy(w.flow.count)
    target_part_revise(
        part=indicator.parts.get(),
        value=Decimal("25"),
        expected_version=indicator.version,
        user=w.alice,
        reason=WHY,
    )


def result_create_(w):
    _approved(w.flow, w.alice, quarter=2, value="80")


def result_update_(w):
    result = _fresh_copy(w.approved)
    result_update(
        result=result,
        expected_version=result.version,
        user=w.alice,
        reason=WHY,
        figures={"value": Decimal("90")},
    )


def figure_delete(w):
    result = _fresh_copy(w.approved)
    result_figure_delete(
        figure=result.figures.get(), expected_version=result.version, user=w.alice, reason=WHY
    )


def state_set(w):
    result = _fresh_copy(w.approved)
    result_state_set(
        result=result, state="draft", expected_version=result.version, user=w.alice, reason=WHY
    )


def result_delete_(w):
    result = _fresh_copy(w.approved)
    result_delete(result=result, expected_version=result.version, user=w.alice, reason=WHY)


def save_draft(w):
    result_save_draft(
        indicator=w.flow.ratio,
        quarter=w.flow.quarter,
        figures={"num": "9", "den": "10"},
        narrative={},
        expected_version=None,
        user=w.alice,
    )


def save_drafts(w):
    results_save_drafts(
        quarter=w.flow.quarter,
        entries=[
            DraftEntry(w.flow.ratio.pk, {"num": "9", "den": "10"}, {}, None),
            DraftEntry(w.flow.elsewhere.pk, {"value": "30"}, {}, None),
        ],
        user=w.alice,
    )


def submit(w):
    _submitted(w)


def first_approve(w, submitted):
    result_first_approve(result=submitted, expected_version=submitted.version, user=w.alice)


def _submitted_without_second_review(w):
    _without_second_review(w)
    return _submitted(w)


def final_approve(w, first_approved):
    result = first_approved
    result_final_approve(result=result, expected_version=result.version, user=w.alice)


def return_(w, first_approved):
    result = first_approved
    result_return(result=result, expected_version=result.version, user=w.alice, comment="請修正")


def reopen(w):
    result = _fresh_copy(w.approved)
    result_reopen(result=result, expected_version=result.version, user=w.alice, reason=WHY)


def lock(w, _submitted_result):
    period_lock(period=w.flow.period(), user=w.alice, reason=WHY)


def _locked(w):
    return period_lock(period=w.flow.period(), user=w.alice, reason=WHY)


def unlock(w, period):
    period_unlock(period=period, user=w.alice, reason=WHY)


def agency_second_review(w, _first_approved_result):
    _without_second_review(w)  # the first approval becomes final


def policy_set(w):
    policy = AchievementPolicy.objects.filter(agency=w.flow.agency, year=w.flow.year).first()
    achievement_policy_set(
        agency=w.flow.agency,
        year=w.flow.year,
        expected_version=policy.version if policy else None,
        user=w.alice,
        reason=WHY,
        # The approved Q1 figure, 50 of 100, is judged against its milestone 25 (200%): only
        # thresholds above that change its light (green to yellow).
        green_threshold=Decimal("250"),
        yellow_threshold=Decimal("150"),
    )


def milestone_set_q1(w):
    # 50 of 100 at Q1 is 200% of the default milestone 25, and 50% of a planned 100.
    milestone_set(indicator=w.flow.count, quarter=1, value=Decimal("100"), user=w.alice, reason=WHY)


def milestone_removed(w):
    milestone_set_q1(w)
    assert stored() == fresh()
    milestone_set(indicator=w.flow.count, quarter=1, value=None, user=w.alice, reason=WHY)


def _seeded_figure_changed(w):
    """A seeded figure changed since the load (through a service)."""
    result = (
        Result.objects.filter(indicator__goal__agency__code="nia", state=Result.State.APPROVED)
        .exclude(figures=None)
        .order_by("pk")
        .first()
    )
    figure = result.figures.order_by("key").first()
    result_update(
        result=result,
        expected_version=result.version,
        user=w.alice,
        reason=WHY,
        figures={figure.key: (figure.value or 0) + 1},
    )


def loader(w, _changed):
    load_folder(SEED)  # puts the seeded figure back


# name: (setup or None, write, whether the write changes an outcome of the data it is given)
CASES = {
    "strategic_goal_create": (None, goal_create, False),
    "strategic_goal_update": (None, goal_update_moves_a_year, True),
    "strategic_goal_update-growth": (_growth_reads_2011, goal_update_leaves_a_growth, True),
    "strategic_goal_delete": (None, goal_delete, True),
    "indicator_create": (None, indicator_create_, True),
    "indicator_update": (None, indicator_update_target, True),
    "indicator_update-goal": (None, indicator_update_moves_goal, True),
    "indicator_update-growth": (_growth_reads_2011, indicator_update_leaves_a_growth, True),
    "indicator_delete": (None, indicator_delete_, True),
    "target_part_revise": (None, target_revise, True),
    "result_create": (None, result_create_, True),
    "result_update": (None, result_update_, True),
    "result_figure_delete": (None, figure_delete, True),
    "result_state_set": (None, state_set, True),
    "result_delete": (None, result_delete_, True),
    "result_save_draft": (None, save_draft, False),
    "results_save_drafts": (None, save_drafts, False),
    "result_submit": (None, submit, False),
    "result_first_approve": (_submitted_without_second_review, first_approve, True),
    "result_final_approve": (_first_approved, final_approve, True),
    "result_return": (_first_approved, return_, False),
    "result_reopen": (None, reopen, True),
    "period_lock": (_submitted, lock, False),
    "period_unlock": (_locked, unlock, False),
    "agency_update": (_first_approved, agency_second_review, True),
    "achievement_policy_set": (None, policy_set, True),
    "milestone_set": (None, milestone_set_q1, True),
    "milestone_removed": (None, milestone_removed, False),
    "load_folder": (_seeded_figure_changed, loader, True),
}


@pytest.fixture(scope="module")
def _approved_row(_workflow_rows, django_db_blocker):
    """The world's approved result, written once per module (rows_for_the_module), as the
    workflow's rows are; its id."""
    from tests.conftest import make_alice, rows_for_the_module, run_commit_work_now
    from tests.performance.conftest import read_workflow

    with rows_for_the_module(django_db_blocker):
        flow = read_workflow(_workflow_rows)
        approved = _approved(flow, make_alice(), quarter=flow.quarter)
        run_commit_work_now()
        yield approved.pk


@pytest.fixture
def world(workflow, alice, _approved_row) -> World:
    return World(workflow, alice, Result.objects.get(pk=_approved_row))


def test_the_stored_outcomes_are_fresh_before_any_write(world):
    """The world every case without a set-up starts from (checked here once for them all),
    and the computation the cases compare with is what rebuild() stores."""
    before = stored()
    assert before == fresh()
    assert rebuild() == len(before)
    assert stored() == before


@pytest.mark.parametrize("case", list(CASES))
def test_the_stored_outcomes_equal_a_fresh_computation_after(world, case):
    setup, write, changes = CASES[case]
    given = None if setup is None else setup(world)
    before = stored()
    if setup is not None:
        assert before == fresh(), "the stored outcomes were stale before the write"
    if setup is None:
        write(world)
    else:
        write(world, given)
    after = stored()
    expected = fresh()
    if changes:
        assert expected != before, "the write changes no outcome, so it could not catch a miss"
    assert after == expected


def test_a_transaction_refreshes_each_agency_and_year_once(world, monkeypatch):
    """Many writes in one transaction: one refresh, on commit, of what they touched."""
    from django.db import transaction

    from performance.services import outcomes

    calls = []
    refresh = outcomes.refresh
    monkeypatch.setattr(outcomes, "refresh", lambda **kw: calls.append(kw) or refresh(**kw))
    with transaction.atomic():
        result_update_(world)
        target_revise(world)
        assert calls == []  # nothing before the commit
    flow = world.flow
    # The target's indicator was saved (its version): its agency's year and the next, whole; the
    # figure reaches its own indicator only, which that covers.
    assert calls == [
        {
            "pairs": {(flow.agency.pk, flow.year), (flow.agency.pk, flow.year + 1)},
            "indicators": {world.approved.indicator_id},
            "agencies": set(),  # none whose version alone changes
        }
    ]


def test_a_rolled_back_write_leaves_nothing_to_refresh(world, monkeypatch):
    from django.db import transaction

    from kpitrack.core import writes
    from performance.services import outcomes

    calls = []
    monkeypatch.setattr(outcomes, "refresh", lambda **kw: calls.append(kw))

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        result_update_(world)
        raise Undo
    result = _fresh_copy(world.approved)
    assert result.figures.get().value == Decimal("50")
    with transaction.atomic():
        indicator_create_(world)  # the next transaction schedules its own refresh
    assert len(calls) == 1
    assert writes.pending() == set()
