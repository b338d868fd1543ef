"""The source documents as data: every table and list is there, and the loader is all-or-nothing."""

import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from budget.models import (
    AchievementPolicy,
    Agency,
    AnnualPolicy,
    HeadcountBudget,
    HeadcountLine,
    PolicyGoal,
    PolicyGoalItem,
    Unit,
)
from kpitrack.sources import DocumentError, load_folder
from performance.models import Indicator, Result, ResultFigure, StrategicGoal
from tests.conftest import SEED

pytestmark = pytest.mark.django_db


def test_agency_and_parent():
    nia = Agency.objects.get(code="nia")
    assert nia.name == "入出國及移民署"
    assert nia.parent.name == "內政部"
    assert nia.duties.startswith("入出國及移民署掌理入出國(境)管理")
    assert "96年1月2日正式成立運作" in nia.duties
    assert "置署長" in nia.leadership


def test_thirteen_units_with_duties_in_printed_order():
    units = list(Unit.objects.filter(agency__code="nia").order_by("order"))
    assert len(units) == 13
    assert [u.name for u in units[:2]] == ["入出國事務組", "移民事務組"]
    assert units[-1].name == "收容事務大隊"
    assert sum(1 for u in units if u.kind == "corps") == 5
    assert sum(1 for u in units if u.kind == "office") == 4
    assert all(u.duties for u in units)
    assert "難民認定" in Unit.objects.get(name="國際事務組").duties


def test_headcount_table_and_derived_totals():
    budget = HeadcountBudget.objects.get(agency__code="nia", year=2013)
    assert budget.programme == "一般行政"
    lines = {line.category: line for line in budget.lines.all()}
    assert len(lines) == 6
    assert (lines["staff"].previous, lines["staff"].change, lines["staff"].current) == (
        2099,
        78,
        2177,
    )
    assert lines["temporary"].current == 461
    totals = budget.lines.aggregate(previous=Sum("previous"), change=Sum("change"))
    assert totals == {"previous": 2732, "change": 78}
    assert sum(line.current for line in lines.values()) == 2810
    assert "25名駐外人員" in budget.explanation


def test_eleven_policy_goals_with_items():
    policy = AnnualPolicy.objects.get(agency__code="nia", year=2013)
    goals = list(policy.goals.order_by("order"))
    assert len(goals) == 11
    assert goals[0].title == "加強入出國管理"
    assert goals[0].items.count() == 2
    assert goals[2].items.count() == 4
    assert goals[3].body.startswith("強化第一線移民人員專業鑑識能力")
    assert "第1級國家" in goals[4].body
    assert PolicyGoalItem.objects.filter(goal__policy=policy).count() >= 15
    assert "三高一簡" in policy.intro


@pytest.mark.parametrize(
    ("year", "goals", "indicators"), [(2013, 11, 11), (2012, 11, 11), (2011, 12, 12), (2010, 1, 11)]
)
def test_goal_and_indicator_counts(year, goals, indicators):
    assert StrategicGoal.objects.filter(agency__code="nia", year=year).count() == goals
    assert Indicator.objects.filter(goal__year=year).count() == indicators


def test_fy2013_kpi_table_columns():
    alliance = Indicator.objects.get(goal__year=2013, code="campus-alliance")
    assert alliance.goal.title.startswith("整合轄區資源")
    assert alliance.evaluation_method == "統計數據"
    assert alliance.evaluation_system == "1"
    parts = [(p.label, p.value, p.unit) for p in alliance.parts.all()]
    assert [(v, u) for _, v, u in parts] == [(12, "所"), (20, "場次"), (500, "人次")]
    weighted = Indicator.objects.get(goal__year=2013, code="marriage-migrant-guidance")
    assert [p.weight for p in weighted.parts.all()] == [25, 25, 20, 15, 15]
    rating = Indicator.objects.get(goal__year=2013, code="anti-trafficking")
    assert rating.method == "rating"
    assert "第一級" in rating.target_text
    snakehead = Indicator.objects.get(goal__year=2013, code="snakehead")
    assert snakehead.method == "growth"
    assert snakehead.parts.get().value == 5


@pytest.mark.parametrize(
    ("year", "quarter", "count"), [(2012, 2, 11), (2011, 4, 12), (2010, 4, 11)]
)
def test_results_per_year(year, quarter, count):
    results = Result.objects.filter(indicator__goal__year=year)
    assert results.count() == count
    assert set(results.values_list("quarter", flat=True)) == {quarter}


def test_result_narratives_and_raw_figures():
    epermit = Result.objects.get(indicator__code="e-permit", indicator__goal__year=2011)
    assert "603,349" in epermit.progress or "603349" in epermit.progress
    assert epermit.figures.get(key="value").value == 603349
    assert epermit.published_rate == "100.55"
    assert "旅行業者" in epermit.benefit
    trafficking = Result.objects.get(indicator__code="anti-trafficking", indicator__goal__year=2011)
    assert "KUSO30秒" in trafficking.progress.replace(" ", "")
    repatriation = Result.objects.get(indicator__code="repatriation", indicator__goal__year=2012)
    assert "小結" in repatriation.remarks or "朝目標值前進" in repatriation.remarks
    # Figures the document does not give stay empty instead of being invented.
    guidance = Result.objects.get(
        indicator__code="marriage-migrant-guidance", indicator__goal__year=2012
    )
    assert not guidance.figures.exclude(value=None).exists()
    # FY2010 printed these raw figures and no others (issue 18 item 14: the 10 縣市 built and
    # the 2 of 2 核心能力 were never printed, only 100%).
    printed_2010 = ResultFigure.objects.filter(
        result__indicator__goal__year=2010, value__isnull=False
    ).values_list("result__indicator__code", "key", "value")
    assert {(code, key, int(value)) for code, key, value in printed_2010} == {
        ("e-newsletter", "foreign", 4041),
        ("e-newsletter", "total", 6521),
        ("civil-liaison", "value", 541),
        ("detention-visits", "value", 534),
    }


def test_transcribed_results_are_approved():
    assert set(Result.objects.values_list("state", flat=True)) == {Result.State.APPROVED}


def test_loading_records_history_with_the_source():
    figure = ResultFigure.objects.get(
        result__indicator__code="pass-card", result__indicator__goal__year=2012, key="value"
    )
    loaded = figure.history.earliest()
    assert loaded.value == 165
    assert "預算總說明" in loaded.history_change_reason


def test_budget_rows_are_written_by_the_services_with_the_source_as_reason():
    unit = Unit.objects.get(agency__code="nia", code="entry-exit-affairs").history.get()
    assert unit.history_type == "+"
    assert unit.history_change_reason == "載入原始文件：agency.yaml"
    line = HeadcountBudget.objects.get(agency__code="nia", year=2013).history.get()
    assert line.history_change_reason == "載入原始文件：預算總說明 中華民國102年度"
    policy = AchievementPolicy.objects.get(agency__code="nia")
    assert (policy.year, policy.rate_decimals, policy.rounding) == (2010, 2, "half_up")


def histories():
    models = [Agency, Unit, AnnualPolicy, PolicyGoal, PolicyGoalItem, HeadcountBudget]
    return [model.history.count() for model in [*models, HeadcountLine, AchievementPolicy]]


def test_loading_again_changes_nothing():
    before = (
        Indicator.objects.count(),
        Result.objects.count(),
        ResultFigure.history.count(),
        histories(),
    )
    report = load_folder(SEED)
    assert report.created == 0
    assert report.updated == 0
    after = (
        Indicator.objects.count(),
        Result.objects.count(),
        ResultFigure.history.count(),
        histories(),
    )
    assert after == before


def test_bad_documents_change_nothing_and_list_every_problem(tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(SEED, folder)
    path = folder / "2012-results.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("value: '165'", "value: '一百六十五'", 1)
    path.write_text(text, encoding="utf-8")
    path = folder / "2013-budget.yaml"
    text = path.read_text(encoding="utf-8").replace("method: lower", "method: sideways", 1)
    path.write_text(text, encoding="utf-8")
    (folder / "agency.yaml").write_text(
        (SEED / "agency.yaml").read_text(encoding="utf-8").replace("code: nia", "code: nia2", 1),
        encoding="utf-8",
    )
    counts = (Agency.objects.count(), Indicator.objects.count(), ResultFigure.history.count())
    with pytest.raises(DocumentError) as excinfo:
        load_folder(folder)
    problems = "\n".join(excinfo.value.problems)
    assert "一百六十五" in problems
    assert "sideways" in problems
    after = (Agency.objects.count(), Indicator.objects.count(), ResultFigure.history.count())
    assert after == counts


def test_command_reports_problems_clearly(tmp_path):
    (tmp_path / "agency.yaml").write_text("agency: [unclosed", encoding="utf-8")
    with pytest.raises(CommandError, match="YAML"):
        call_command("load_documents", str(tmp_path))


def test_command_if_missing_skips_a_loaded_agency(capsys):
    call_command("load_documents", str(SEED), "--if-missing")
    assert "nia" in capsys.readouterr().out


def test_a_changed_document_updates_only_what_differs_and_says_why(tmp_path):
    folder = tmp_path / "nia"
    shutil.copytree(SEED, folder)
    agency = folder / "agency.yaml"
    agency.write_text(
        agency.read_text(encoding="utf-8").replace("name: 入出國事務組", "name: 入出國事務處", 1),
        encoding="utf-8",
    )
    report = load_folder(folder)
    assert (report.created, report.updated) == (0, 1)
    unit = Unit.objects.get(agency__code="nia", code="entry-exit-affairs")
    latest = unit.history.first()
    assert (latest.history_type, latest.name) == ("~", "入出國事務處")
    assert latest.history_change_reason == "載入原始文件：agency.yaml"
    assert unit.history.count() == 2
