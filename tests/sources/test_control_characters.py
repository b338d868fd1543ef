"""Text no page, database or export can hold (NUL, other C0 controls, lone surrogates), written as
YAML escapes: refused by file and key path, nothing written."""

import pytest

from tests.sources.test_bad_files import edit, folder, refused  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_nul_in_a_name_is_refused_with_its_path(folder):  # noqa: F811
    edit(
        folder / "2013-budget.yaml",
        "name: 外籍專業人士申請核發就業PASS卡",
        'name: "外籍\\0專業人士申請核發就業PASS卡"',
    )
    problems = refused(folder)
    assert len(problems) == 1, problems
    assert problems[0].startswith("2013-budget.yaml: goals[0].indicators[0].name: ")
    assert "控制字元" in problems[0]


@pytest.mark.parametrize("escape", ["\\x01", "\\e", "\\x1f", "\\b", "\\v", "\\ud800"])
def test_every_unusable_character_in_any_text_is_refused(folder, escape):  # noqa: F811
    edit(folder / "agency.yaml", "name: 入出國事務組", f'name: "入出國{escape}事務組"')
    problems = refused(folder)
    assert problems == [problems[0]] and problems[0].startswith(
        "agency.yaml: agency.units[0].name: "
    ), problems


def test_a_control_character_in_a_key_is_refused(folder):  # noqa: F811
    edit(folder / "agency.yaml", "name: 入出國事務組", 'name: 入出國事務組\n      "x\\0y": 1')
    problems = refused(folder)
    assert any(p.startswith("agency.yaml: agency.units[0].x\ufffdy: ") for p in problems), problems


def test_tab_and_line_breaks_stay_allowed(folder):  # noqa: F811
    from kpitrack.sources import load_folder
    from performance.models import Indicator

    edit(
        folder / "2013-budget.yaml",
        "name: 外籍專業人士申請核發就業PASS卡",
        'name: "外籍專業人士\\t申請核發就業PASS卡"',
    )
    load_folder(folder)
    assert Indicator.objects.filter(name="外籍專業人士\t申請核發就業PASS卡").exists()
