"""Bad source files are answered with a list of problems, a non-zero exit and no write at all."""

import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from budget.models import Agency, HeadcountLine, PolicyGoal, Unit
from kpitrack.sources import DocumentError, load_folder
from kpitrack.sources.reading import MAX_FILE_BYTES
from performance.models import Indicator, Result, ResultFigure, StrategicGoal, TargetPart
from tests import interpreters
from tests.conftest import ROOT, SEED

pytestmark = pytest.mark.django_db

MODELS = [
    Agency,
    Unit,
    PolicyGoal,
    HeadcountLine,
    StrategicGoal,
    Indicator,
    TargetPart,
    Result,
    ResultFigure,
]


def counts():
    # History rows count too: a refused file must not leave a trace in the history either.
    return [model.objects.count() for model in MODELS] + [model.history.count() for model in MODELS]


@pytest.fixture
def folder(tmp_path):
    """A copy of the real documents with the agency renamed, so a write would be visible."""
    copy = tmp_path / "docs"
    shutil.copytree(SEED, copy)
    agency = copy / "agency.yaml"
    agency.write_text(
        agency.read_text(encoding="utf-8").replace("code: nia", "code: nia2", 1), encoding="utf-8"
    )
    return copy


def edit(path, old, new, count=1):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def refused(folder) -> list[str]:
    """The problems `load_documents` lists; the command must fail and the database stay as is."""
    before = counts()
    with pytest.raises(DocumentError) as excinfo:
        load_folder(folder)
    assert counts() == before
    with pytest.raises(CommandError) as command:
        call_command("load_documents", str(folder))
    assert counts() == before
    for line in excinfo.value.problems:
        assert line in str(command.value)
    return excinfo.value.problems


def test_a_string_where_a_mapping_belongs_is_named_with_its_path(folder):
    edit(folder / "2013-budget.yaml", "policy:\n", "policy: 加強入出國管理\nx_policy:\n")
    problems = refused(folder)
    assert "2013-budget.yaml: policy: 必須是對照表（鍵: 值）。" in problems
    assert (
        "2013-budget.yaml: x_policy: 資料格式沒有這個欄位（見 docs/data-format.md）。" in problems
    )


def test_a_string_where_a_list_belongs_is_named_with_its_path(folder):
    path = folder / "2013-budget.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("        parts:\n", text.index("indicators:"))
    end = text.index("\n        results:", start)
    path.write_text(text[:start] + "        parts: 160件" + text[end:], encoding="utf-8")
    problems = refused(folder)
    assert "2013-budget.yaml: goals[0].indicators[0].parts: 必須是清單。" in problems


def test_a_whole_file_that_is_not_a_mapping(folder):
    (folder / "2014-budget.yaml").write_text("- 一\n- 二\n", encoding="utf-8")
    assert refused(folder) == ["2014-budget.yaml: 檔案內容必須是對照表（鍵: 值）。"]


def test_wrong_types_and_unknown_keys_are_each_listed(folder):
    edit(folder / "2013-budget.yaml", "year: 2013", "year: '2013'")
    edit(folder / "2012-results.yaml", "quarter: 2", "quarter: 5")
    edit(folder / "2012-results.yaml", "shortfall_reason:", "shortfal_reason:")
    edit(folder / "2011-results.yaml", "value: '603349'", "value: 603349.0")
    edit(folder / "agency.yaml", "kind: division", "kind: bureau")
    problems = "\n".join(refused(folder))
    assert "2013-budget.yaml: year: 必須是整數。" in problems
    assert "2012-results.yaml: goals[0].indicators[0].results[0].quarter: 不可大於 4。" in problems
    assert "2012-results.yaml: goals[0].indicators[0].results[0].shortfal_reason:" in problems
    assert "2012-results.yaml: goals[0].indicators[0].results[0].shortfall_reason" not in problems
    assert '數值必須寫成字串，例如 "1234.5"。' in problems
    assert "agency.yaml: agency.units[0].kind: 「bureau」不是可用的值" in problems


def test_deep_nesting_is_refused_before_it_is_built(folder):
    (folder / "2014-deep.yaml").write_text("year: " + "[" * 100_000 + "]" * 100_000)
    problems = refused(folder)
    assert problems == ["2014-deep.yaml: 第 1 行第 26 欄：巢狀層次太深（最多 20 層）。"]


def test_a_huge_integer_is_refused_without_converting_it(folder):
    (folder / "2014-big.yaml").write_text("year: " + "9" * 1_000_000, encoding="utf-8")
    assert refused(folder) == ["2014-big.yaml: 第 1 行第 7 欄：整數太長（最多 20 位數）。"]


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_a_billion_laughs_file_cannot_expand(folder):
    (folder / "2014-laughs.yaml").write_text(BILLION_LAUGHS, encoding="utf-8")
    problems = refused(folder)
    assert problems == [
        "2014-laughs.yaml: 第 1 行第 4 欄：不接受錨點（&）與別名（*），請把內容直接寫出。"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "year: !!python/object/apply:os.system ['true']",
        "year: !!int '2014'",
        "year: !local 2014",
    ],
)
def test_explicit_tags_are_refused(folder, text):
    (folder / "2014-tags.yaml").write_text(text, encoding="utf-8")
    (problem,) = refused(folder)
    assert problem.startswith("2014-tags.yaml: 第 1 行第 7 欄：不接受 YAML 標籤")


def test_a_repeated_key_is_not_silently_merged(folder):
    (folder / "2014-twice.yaml").write_text("year: 2014\nyear: 2015\n", encoding="utf-8")
    assert refused(folder) == ["2014-twice.yaml: 第 2 行第 1 欄：鍵「year」重複。"]


def test_an_oversized_file_is_refused_before_it_is_parsed(folder):
    (folder / "2014-huge.yaml").write_text(
        "year: 2014\nsource: '" + "x" * MAX_FILE_BYTES + "'\n", encoding="utf-8"
    )
    assert refused(folder) == [
        f"2014-huge.yaml: 檔案太大（最多 {MAX_FILE_BYTES} 位元組），未讀取。"
    ]


def test_a_file_that_is_not_utf8(folder):
    (folder / "2014-big5.yaml").write_bytes("year: 2014\nsource: 預算\n".encode("big5"))
    assert refused(folder) == ["2014-big5.yaml: 檔案必須以 UTF-8 編碼。"]


def test_duplicate_goals_in_one_year_even_across_files(folder):
    text = (folder / "2013-budget.yaml").read_text(encoding="utf-8")
    goals = text[text.index("goals:\n  - code: g01") :]
    (folder / "2013-more.yaml").write_text("year: 2013\n" + goals, encoding="utf-8")
    problems = refused(folder)
    assert (
        "2013-more.yaml: goals[0].code: 策略目標代碼「g01」在 2013 年重複"
        "（已見於 2013-budget.yaml: goals[0]）。"
    ) in problems
    assert any(
        p.startswith("2013-more.yaml: goals[0].indicators[0].code: 指標代碼") for p in problems
    )


def test_duplicate_goal_codes_within_one_file(folder):
    edit(folder / "2012-results.yaml", "code: g02", "code: g01")
    problems = refused(folder)
    assert problems == [
        "2012-results.yaml: goals[1].code: 策略目標代碼「g01」在 2012 年重複"
        "（已見於 2012-results.yaml: goals[0]）。"
    ]


def test_duplicate_units(folder):
    edit(folder / "agency.yaml", "code: immigration-affairs", "code: entry-exit-affairs")
    problems = refused(folder)
    assert problems == [
        "agency.yaml: agency.units[1].code: 單位代碼「entry-exit-affairs」重複"
        "（已見於 agency.units[0].code）。"
    ]


def test_duplicate_quarters_of_one_indicator(folder):
    path = folder / "2012-results.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("        results:\n") + len("        results:\n")
    end = text.index("\n  - code:", start)
    result = text[start:end] + "\n"
    path.write_text(text[:end] + "\n" + result.rstrip("\n") + text[end:], encoding="utf-8")
    problems = refused(folder)
    assert problems == [
        "2012-results.yaml: goals[0].indicators[0].results[1].quarter: 第 2 季的執行成果重複"
        "（已見於 goals[0].indicators[0].results[0].quarter）。"
    ]


def test_a_unit_parent_cycle_and_an_unknown_parent(folder):
    path = folder / "agency.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("parent: null", "parent: immigration-affairs", 1)  # units[0] → units[1]
    text = text.replace("parent: null", "parent: entry-exit-affairs", 1)  # units[1] → units[0]
    text = text.replace("parent: null", "parent: nowhere", 1)
    path.write_text(text, encoding="utf-8")
    problems = refused(folder)
    assert problems == [
        "agency.yaml: agency.units[0].parent: 單位的上級形成循環："
        "entry-exit-affairs → immigration-affairs → entry-exit-affairs。",
        "agency.yaml: agency.units[1].parent: 單位的上級形成循環："
        "immigration-affairs → entry-exit-affairs → immigration-affairs。",
        "agency.yaml: agency.units[2].parent: 找不到單位代碼「nowhere」。",
    ]


def test_duplicate_policy_goals_programmes_categories_and_keys(folder):
    path = folder / "2013-budget.yaml"
    edit(path, "title: 便捷大陸人士入出境", "title: 加強入出國管理")
    edit(path, "category: police", "category: staff")
    edit(path, "{key: schools,", "{key: sessions,")
    problems = "\n".join(refused(folder))
    assert "policy.goals[1].title: 施政目標「加強入出國管理」重複" in problems
    assert "headcount[0].lines[1].category: 員額類別「staff」重複" in problems
    assert "inputs[1].key: 代號「sessions」重複。" in problems


def test_a_shape_problem_is_worded_by_the_one_shape_check(folder):
    edit(folder / "2013-budget.yaml", "method: rating", "method: count")
    edit(folder / "2013-budget.yaml", "target: '2', unit: ''", "target: '2.5', unit: ''")
    problems = refused(folder)
    assert any("formula" not in p and "等第代碼指標的目標值" in p for p in problems)


def test_the_command_exits_non_zero_without_a_traceback(folder):
    (folder / "2014-laughs.yaml").write_text(BILLION_LAUGHS, encoding="utf-8")
    done = interpreters.run(
        ["manage.py", "load_documents", str(folder)],
        cwd=ROOT,
        env={"DEBUG": "1", "PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:///:memory:"},
        timeout=120,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    assert "2014-laughs.yaml: 第 1 行第 4 欄：不接受錨點" in done.stderr
