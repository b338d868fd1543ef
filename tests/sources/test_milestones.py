"""分季目標 in the source documents: optional per target part, loaded through the milestone
service with history, loaded again without a change, refused with the path when bad. The
published years' documents hold none, and their printed figures stay as they are."""

import shutil
from decimal import Decimal

import pytest

from kpitrack.sources import DocumentError, load_folder
from performance.models import Indicator, Milestone
from performance.selectors import planned_milestones
from tests.conftest import SEED

pytestmark = pytest.mark.django_db

PASS_CARD = "          - {key: value, label: 核卡件數, target: '160', unit: 件, weight: null}\n"


@pytest.fixture
def folder(tmp_path):
    copy = tmp_path / "docs"
    shutil.copytree(SEED, copy)
    return copy


def _plan(folder, milestones: str):
    path = folder / "2013-budget.yaml"
    text = path.read_text(encoding="utf-8")
    assert PASS_CARD in text
    line = PASS_CARD.replace("weight: null}", f"weight: null, milestones: {milestones}}}")
    path.write_text(text.replace(PASS_CARD, line, 1), encoding="utf-8")


def _planned():
    indicator = Indicator.objects.get(code="pass-card", goal__year=2013, goal__agency__code="nia")
    return planned_milestones(indicator_ids=[indicator.pk]).get(indicator.pk, {})


def test_the_published_documents_hold_no_milestones():
    assert not Milestone.objects.exists()


def test_milestones_are_loaded_with_history_and_loading_again_changes_nothing(folder):
    _plan(folder, "{q1: '30', q2: '70'}")
    report = load_folder(folder)
    assert _planned() == {"value": {1: Decimal("30"), 2: Decimal("70")}}
    row = Milestone.history.filter(quarter=1).get()
    assert row.history_change_reason == "載入原始文件：預算總說明 中華民國102年度"
    assert report.updated >= 1
    history = Milestone.history.count()
    again = load_folder(folder)
    assert again.updated == 0 and again.created == 0
    assert Milestone.history.count() == history


def test_a_quarter_left_out_goes_back_to_its_default(folder):
    _plan(folder, "{q1: '30', q2: '70'}")
    load_folder(folder)
    path = folder / "2013-budget.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("{q1: '30', q2: '70'}", "{q2: '80'}"),
        encoding="utf-8",
    )
    load_folder(folder)
    assert _planned() == {"value": {2: Decimal("80")}}


def test_a_document_without_milestones_keeps_those_set_in_kpitrack(folder):
    _plan(folder, "{q1: '30'}")
    load_folder(folder)
    load_folder(SEED)
    assert _planned() == {"value": {1: Decimal("30")}}


@pytest.mark.parametrize(
    ("milestones", "message"),
    [
        ("{q4: '1'}", "q4"),
        ("{q1: 30.5}", ""),
        ("{q1: '-3'}", "預定進度不可為負數"),
    ],
)
def test_a_bad_milestone_is_refused_by_its_path_and_nothing_is_written(folder, milestones, message):
    _plan(folder, milestones)
    with pytest.raises(DocumentError) as excinfo:
        load_folder(folder)
    problems = "\n".join(excinfo.value.problems)
    assert "2013-budget.yaml" in problems
    assert message in problems
    assert not Milestone.objects.exists()
