"""The import of a filled-in workbook: the preview writes nothing, the confirm writes exactly
what it promised through result_save_draft (history naming the file), and every refusal
leaves the database as it was."""

import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.core import signing
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from budget.models import Membership
from budget.services import membership_create
from performance import workbook as wb
from performance.models import Result, ResultFigure
from performance.services import (
    indicator_create,
    indicator_delete,
    indicator_update,
    period_lock,
    result_save_draft,
    strategic_goal_create,
)
from performance.workbook_import import import_parsed, import_workbook, make_scope, scope_label

from .workbook_helpers import download, fill

pytestmark = pytest.mark.django_db

COUNT = "辦理件數（件）"
NUM, DEN = "分子：查獲件數", "分母：受理件數"


def _state():
    """Everything an import could change, to compare before and after a refusal."""
    return (
        Result.objects.count(),
        ResultFigure.objects.count(),
        Result.history.count(),
        ResultFigure.history.count(),
        sorted(Result.objects.values_list("pk", "version")),
    )


def _refused(data: bytes, user):
    """The import's report of `data`, having checked that it wrote nothing at all."""
    before = _state()
    report = import_workbook(data, name="a.xlsx", user=user, commit=True)
    assert not report.written
    assert _state() == before
    return report


def _good(alice, workflow) -> bytes:
    return fill(
        download(alice, workflow),
        {
            (workflow.count, COUNT): 120,
            (workflow.count, "辦理情形"): "已完成年度查核",
            (workflow.ratio, NUM): 45,
            (workflow.ratio, DEN): 50,
        },
    )


def test_the_preview_writes_nothing_and_the_confirm_writes_what_it_listed(alice, workflow):
    data = _good(alice, workflow)
    before = _state()

    preview = import_workbook(data, name="填報.xlsx", user=alice, commit=False)

    assert preview.ok, preview.lines()
    assert not preview.written
    assert _state() == before
    first, second = preview.rows
    assert (first.row, first.name) == (3, workflow.count.name)
    assert [(c.header, c.old, c.new) for c in first.changes] == [
        (COUNT, "（空白）", "120"),
        ("辦理情形", "（空白）", "已完成年度查核"),
    ]
    assert [(c.header, c.new) for c in second.changes] == [(NUM, "45"), (DEN, "50")]

    done = import_workbook(
        data, name="填報.xlsx", user=alice, commit=True, seen_versions=preview.versions
    )

    assert done.ok and done.written
    result = Result.objects.get(indicator=workflow.count, quarter=workflow.quarter)
    assert {f.key: f.value for f in result.figures.all()} == {"value": Decimal("120")}
    assert result.progress == "已完成年度查核"
    assert result.state == Result.State.DRAFT
    last = result.history.first()
    assert last.history_change_reason == "Excel 匯入：填報.xlsx"
    assert last.history_user == alice
    ratio = Result.objects.get(indicator=workflow.ratio, quarter=workflow.quarter)
    assert {f.key: f.value for f in ratio.figures.all()} == {"num": 45, "den": 50}


def test_an_unchanged_workbook_writes_nothing(alice, workflow):
    before = _state()
    report = import_workbook(download(alice, workflow), name="a.xlsx", user=alice, commit=True)
    assert report.ok and not report.changed_rows
    assert _state() == before


def test_one_refused_row_writes_no_row(alice, workflow):
    # A draft behind its milestone saves (the explanation is due on submit), so the refused
    # row is a ratio whose numerator exceeds its denominator; the good count row is not written.
    data = fill(
        download(alice, workflow),
        {(workflow.count, COUNT): 50, (workflow.ratio, NUM): 45, (workflow.ratio, DEN): 40},
    )
    report = _refused(data, alice)
    problems = {(p.row, p.header): p.message for p in report.all_problems}
    assert "不可大於分母「受理件數」" in problems[(4, NUM)]
    assert all(row == 4 for row, _header in problems)


def test_a_row_whose_indicator_was_deleted_after_the_download_is_refused(alice, workflow):
    data = _good(alice, workflow)
    ratio_id = workflow.ratio.pk
    indicator_delete(
        indicator=workflow.ratio,
        expected_version=workflow.ratio.version,
        user=alice,
        reason="指標停用",
    )
    report = _refused(data, alice)
    [problem] = report.all_problems
    assert (problem.row, problem.message) == (4, "這個指標已不存在或不屬於此年度。")
    assert [r.name for r in report.rows] == [workflow.count.name, str(ratio_id)]


def test_the_rows_after_a_vanished_indicator_are_still_compared(alice, workflow):
    data = _good(alice, workflow)
    indicator_delete(
        indicator=workflow.count,
        expected_version=workflow.count.version,
        user=alice,
        reason="指標停用",
    )
    report = _refused(data, alice)
    first, second = report.rows
    assert first.problems and not first.changes
    assert (second.name, [(c.header, c.new) for c in second.changes]) == (
        workflow.ratio.name,
        [(NUM, "45"), (DEN, "50")],
    )


def test_a_cells_problem_is_listed_under_its_own_row(alice, workflow):
    """The preview page shows a row's problems beside that row, the workbook's own above."""
    data = fill(_good(alice, workflow), {(workflow.ratio, NUM): "很多"})
    report = _refused(data, alice)
    first, second = report.rows
    assert not report.problems and not first.problems
    assert [(p.row, p.header) for p in second.problems] == [(4, NUM)]


def test_a_row_whose_indicator_moved_to_another_year_is_refused_by_its_name(alice, workflow):
    data = _good(alice, workflow)
    ratio = workflow.ratio
    later = strategic_goal_create(
        user=alice,
        agency=ratio.goal.agency,
        year=ratio.goal.year + 1,
        code="g1",
        title="目標",
    )
    indicator_update(
        indicator=ratio, expected_version=ratio.version, user=alice, reason="改列", goal=later
    )

    report = _refused(data, alice)

    [problem] = report.all_problems
    assert (problem.row, problem.message) == (4, "這個指標已不存在或不屬於此年度。")
    assert [r.name for r in report.rows] == [workflow.count.name, ratio.name]


def test_the_services_figure_rules_land_on_their_cells(alice, workflow):
    data = fill(download(alice, workflow), {(workflow.ratio, NUM): 60, (workflow.ratio, DEN): 50})
    report = import_workbook(data, name="a.xlsx", user=alice, commit=False)
    [problem] = report.all_problems
    assert (problem.row, problem.column, problem.header) == (4, "H", NUM)
    assert "不可大於分母" in problem.message


def test_the_confirm_is_refused_when_a_row_changed_after_the_preview(alice, workflow):
    data = _good(alice, workflow)
    preview = import_workbook(data, name="a.xlsx", user=alice, commit=False)
    # Somebody saves the count on the form between the preview and the confirm.
    result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": Decimal("130")},
        narrative={},
        expected_version=None,
        user=alice,
        reason="表單填報",
    )
    before = _state()

    done = import_workbook(
        data, name="a.xlsx", user=alice, commit=True, seen_versions=preview.versions
    )

    assert done.stale and not done.written
    assert "預覽之後，有列的成果已被其他人修改" in str(done.all_problems[0])
    assert _state() == before
    result = Result.objects.get(indicator=workflow.count, quarter=workflow.quarter)
    assert result.figures.get().value == Decimal("130")


def test_a_row_changed_since_the_download_is_refused(alice, workflow):
    data = _good(alice, workflow)
    result_save_draft(
        indicator=workflow.ratio,
        quarter=workflow.quarter,
        figures={"num": Decimal("95"), "den": Decimal("100")},
        narrative={},
        expected_version=None,
        user=alice,
        reason="表單填報",
    )
    report = _refused(data, alice)
    [problem] = report.all_problems
    assert problem.row == 4
    assert "在您下載活頁簿後已被修改" in problem.message


def test_a_locked_result_is_refused(alice, workflow):
    result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": Decimal("100")},
        narrative={},
        expected_version=None,
        user=alice,
        reason="表單填報",
    )
    data = _good(alice, workflow)
    period_lock(period=workflow.period(), user=alice, reason="季結")
    report = _refused(data, alice)
    messages = " ".join(p.message for p in report.all_problems)
    assert "不可修改" in messages or "鎖定" in messages
    # Each on its own row: the lock changed the entered result's version since the download,
    # and the service refuses the other row's new result in a locked quarter.
    assert [(p.row, p.message) for p in report.all_problems] == [
        (3, "這一列的成果在您下載活頁簿後已被修改，請重新下載後再填寫。"),
        (4, "本季已由管理者鎖定，不可再填報。"),
    ]


def test_another_units_workbook_is_refused_to_its_staff(alice, bob, workflow):
    membership_create(
        member=bob,
        agency=workflow.agency,
        unit=workflow.other_unit,
        role=Membership.Role.STAFF,
        user=alice,
        reason="測試",
    )
    data = _good(alice, workflow)
    before = _state()

    report = import_workbook(data, name="a.xlsx", user=bob, commit=True)

    assert report.forbidden and not report.written
    assert "您沒有「流程測試署 業務組" in report.all_problems[0].message
    assert _state() == before


def test_a_workbook_of_another_period_than_the_page_chose_is_refused(alice, workflow):
    data = _good(alice, workflow)
    chosen = make_scope(workflow.agency, workflow.unit, workflow.year, workflow.quarter + 1)
    before = _state()
    report = import_workbook(data, name="a.xlsx", user=alice, commit=True, expected=chosen)
    assert not report.written
    assert "不是此頁選擇的" in report.all_problems[0].message
    assert _state() == before


def _zip(members: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def _with_member(data: bytes, name: str, content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members[name] = content
    return _zip(members)


def _other_template() -> bytes:
    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


BAD_FILES = {
    "not an xlsx": (lambda a, w: b"name,value\n", "不是 Excel 活頁簿"),
    "empty": (lambda a, w: b"", "檔案是空的"),
    "zip bomb": (
        lambda a, w: _with_member(_good(a, w), "xl/media/x.bin", b"\0" * 8_000_000),
        "壓縮炸彈",
    ),
    "macros": (
        lambda a, w: _with_member(_good(a, w), "xl/vbaProject.bin", b"vba"),
        "含巨集",
    ),
    "another template": (lambda a, w: _other_template(), "不是 kpitrack 下載的填報活頁簿"),
    "formula": (lambda a, w: fill(_good(a, w), {(w.count, COUNT): "=100+20"}), "不可使用公式"),
    "text": (lambda a, w: fill(_good(a, w), {(w.count, COUNT): "一百二十"}), "不是數字"),
    "absurd number": (lambda a, w: fill(_good(a, w), {(w.count, COUNT): 1e18}), "數值必須介於"),
    "negative count": (lambda a, w: fill(_good(a, w), {(w.count, COUNT): -5}), "不可為負數"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_a_bad_file_is_refused_and_changes_nothing(alice, workflow, kind):
    make, message = BAD_FILES[kind]
    data = make(alice, workflow)
    before = _state()

    report = import_workbook(data, name="a.xlsx", user=alice, commit=True)

    assert not report.written
    assert message in " ".join(str(p) for p in report.all_problems)
    assert _state() == before


def test_a_row_of_another_unit_is_refused(alice, workflow):
    other = download(alice, workflow, unit=workflow.other_unit)
    data = fill(_good(alice, workflow), {})
    # The other unit's row pasted under this unit's rows, key and all.
    from openpyxl import load_workbook

    theirs = load_workbook(io.BytesIO(other)).worksheets[0]
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    for column in range(1, theirs.max_column + 1):
        sheet.cell(5, column, theirs.cell(3, column).value)
    out = io.BytesIO()
    book.save(out)
    before = _state()

    report = import_workbook(out.getvalue(), name="a.xlsx", user=alice, commit=True)

    assert not report.written
    assert "不屬於這份活頁簿的單位、年度與季別" in str(report.all_problems[0])
    assert report.all_problems[0].row == 5
    assert _state() == before


def test_the_command_prints_the_report_and_writes(alice, workflow, tmp_path, capsys):
    path = tmp_path / "填報.xlsx"
    path.write_bytes(_good(alice, workflow))

    call_command("import_results", str(path), user="alice", dry_run=True)
    assert not Result.objects.filter(indicator=workflow.count).exists()
    out = capsys.readouterr().out
    assert f"第 3 列「{workflow.count.name}」：{COUNT}：（空白） → 120" in out

    call_command("import_results", str(path), user="alice")
    assert Result.objects.filter(indicator=workflow.count).exists()
    assert "已寫入 2 列的變更" in capsys.readouterr().out


def test_the_command_refuses_with_the_report_and_no_write(alice, workflow, tmp_path, capsys):
    path = tmp_path / "a.xlsx"
    path.write_bytes(fill(_good(alice, workflow), {(workflow.count, COUNT): "很多"}))
    before = _state()
    with pytest.raises(CommandError, match="匯入被拒絕：1 個問題"):
        call_command("import_results", str(path), user="alice")
    assert "第 3 列 G 欄「辦理件數（件）」：「很多」不是數字" in capsys.readouterr().out
    assert _state() == before
    with pytest.raises(CommandError, match="找不到使用者"):
        call_command("import_results", str(path), user="nobody")
    with pytest.raises(CommandError, match="無法讀取檔案"):
        call_command("import_results", str(tmp_path / "missing.xlsx"), user="alice")


FORMULA_LIKE = '=HYPERLINK("http://example.org","看這裡")'


def test_text_that_looks_like_a_formula_is_written_as_text_and_comes_back_unchanged(
    alice, workflow
):
    from openpyxl import load_workbook

    from performance.models import Indicator, StrategicGoal

    StrategicGoal.objects.filter(pk=workflow.count.goal_id).update(title="+目標")
    Indicator.objects.filter(pk=workflow.count.pk).update(name="=1+1")
    Indicator.objects.filter(pk=workflow.ratio.pk).update(name="@某單位")
    result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": Decimal("120")},
        narrative={"progress": FORMULA_LIKE, "shortfall_reason": "-5%"},
        expected_version=None,
        user=alice,
    )
    data = download(alice, workflow)

    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    texts = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c.coordinate for c in texts if c.data_type == "f"], "a live formula was written"
    assert {FORMULA_LIKE, "-5%", "=1+1", "@某單位", "+目標"} <= {c.value for c in texts}

    preview = import_workbook(data, name="填報.xlsx", user=alice, commit=False)
    assert preview.ok, preview.lines()
    assert all(not row.changes for row in preview.rows), preview.lines()


def test_a_formula_typed_into_a_narrative_is_still_refused(alice, workflow):
    data = fill(download(alice, workflow), {(workflow.count, "辦理情形"): "=A1"})
    report = _refused(data, alice)
    assert "不可使用公式" in "\n".join(report.lines())


def test_text_stored_with_control_characters_still_downloads_and_round_trips(alice, workflow):
    # Stored before the API refused them (issue 18): the download must not answer 500.
    from performance.models import Indicator

    result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": Decimal("120")},
        narrative={"progress": "辦理完成"},
        expected_version=None,
        user=alice,
    )
    Result.objects.filter(indicator=workflow.count).update(progress="辦理\x01完成")
    Indicator.objects.filter(pk=workflow.count.pk).update(name="件\x1b數")
    data = download(alice, workflow)
    preview = import_workbook(data, name="填報.xlsx", user=alice, commit=False)
    assert preview.ok, preview.lines()
    # The workbook shows the text without the invisible character, as the cleanup migration
    # stores it; uploaded unchanged, that is the one change it brings.
    assert [(c.header, c.new) for row in preview.rows for c in row.changes] == [
        ("辦理情形", "辦理完成")
    ]


def test_the_report_reads_scope_changes_unchanged_rows_and_problems_line_by_line(alice, workflow):
    """What the command prints, line for line: the workbook's scope first, then each row's
    changes joined by "；" (or that it has none), then each problem."""
    year = workflow.year
    scope = f"{workflow.agency.name} {workflow.unit.name} 民國{year - 1911}年（{year}） 第1季"
    count, ratio = f"第 3 列「{workflow.count.name}」", f"第 4 列「{workflow.ratio.name}」"

    preview = import_workbook(_good(alice, workflow), name="a.xlsx", user=alice, commit=False)
    assert preview.lines() == [
        scope,
        f"{count}：{COUNT}：（空白） → 120；辦理情形：（空白） → 已完成年度查核",
        f"{ratio}：{NUM}：（空白） → 45；{DEN}：（空白） → 50",
    ]

    unchanged = import_workbook(download(alice, workflow), name="a.xlsx", user=alice, commit=False)
    assert unchanged.lines() == [scope, f"{count}：沒有變更", f"{ratio}：沒有變更"]

    bad = fill(_good(alice, workflow), {(workflow.count, COUNT): "很多"})
    lines = import_workbook(bad, name="a.xlsx", user=alice, commit=False).lines()
    assert lines[-1] == (
        f"問題：第 3 列 G 欄「{COUNT}」：「很多」不是數字，請輸入例如 1234 或 1,234.5 的數值。"
    )


def test_a_workbook_of_the_whole_agency_is_read_for_the_agency(alice, workflow):
    report = import_workbook(
        download(alice, workflow, unit=None), name="a.xlsx", user=alice, commit=False
    )
    assert report.ok, report.lines()
    assert (report.scope.unit_id, report.scope.unit_name) == (None, "全機關")


def test_a_figure_of_one_or_zero_reads_as_a_number_outside_a_rating(alice, workflow):
    data = fill(
        download(alice, workflow),
        {(workflow.count, COUNT): 1, (workflow.ratio, NUM): 0, (workflow.ratio, DEN): 1},
    )
    report = import_workbook(data, name="a.xlsx", user=alice, commit=False)
    assert [(c.header, c.new) for row in report.rows for c in row.changes] == [
        (COUNT, "1"),
        (NUM, "0"),
        (DEN, "1"),
    ]


def test_a_rating_reads_as_its_label(alice, workflow):
    rating = indicator_create(
        user=alice,
        goal=workflow.count.goal,
        code="rating",
        name="指標rating",
        method="rating",
        responsible_unit=workflow.unit,
        inputs=[{"key": "value", "label": "達成情形"}],
        parts=[{"key": "value", "label": "達成", "value": Decimal(1)}],
    )
    data = fill(download(alice, workflow), {(rating, "達成情形"): "達成"})
    report = import_workbook(data, name="a.xlsx", user=alice, commit=False)
    assert report.ok, report.lines()
    assert [(c.header, c.old, c.new) for row in report.rows for c in row.changes] == [
        ("達成情形", "（空白）", "達成")
    ]


# --- the import's refusals in exact words (the mutation run of the workbook checks) ----------

STALE = (
    "預覽之後，有列的成果已被其他人修改；為免覆蓋他人的資料，這次匯入不寫入。"
    "請重新上傳活頁簿，確認新的預覽後再匯入。"
)


def _resigned(data: bytes, **signed) -> bytes:
    """`data` with its signed scope changed (`unit`, `agency`…) and signed again with the
    site's key, as a workbook downloaded before a unit or agency was removed would be."""
    book = load_workbook(io.BytesIO(data))
    meta = book[wb.META_SHEET]
    values = [row[0] for row in meta.iter_rows(max_col=1, values_only=True)]
    payload = signing.loads("".join(v for v in values[1:] if isinstance(v, str)), salt=wb.SALT)
    payload.update(signed)
    for row in range(2, meta.max_row + 1):
        meta.cell(row, 1).value = None
    meta["A2"] = signing.dumps(payload, salt=wb.SALT)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("gone", ["unit", "agency"])
def test_a_workbook_of_a_unit_or_agency_that_no_longer_exists_is_refused(alice, workflow, gone):
    data = _resigned(_good(alice, workflow), **{gone: 999_999})
    report = _refused(data, alice)
    assert [str(p) for p in report.all_problems] == ["這份活頁簿的機關或單位已不存在。"]
    assert report.scope is None and not report.rows


def test_the_scope_and_row_refusals_are_said_in_full(alice, bob, workflow):
    data = _good(alice, workflow)
    theirs = make_scope(workflow.agency, workflow.unit, workflow.year, workflow.quarter)
    chosen = make_scope(workflow.agency, workflow.unit, workflow.year, workflow.quarter + 1)
    report = import_workbook(data, name="a.xlsx", user=alice, commit=True, expected=chosen)
    assert [str(p) for p in report.all_problems] == [
        f"這份活頁簿屬於「{scope_label(theirs)}」，不是此頁選擇的「{scope_label(chosen)}」。"
    ]
    assert not report.forbidden and not report.rows
    # The page's own scope is no refusal.
    assert import_workbook(data, name="a.xlsx", user=alice, commit=False, expected=theirs).ok

    membership_create(
        member=bob,
        agency=workflow.agency,
        unit=workflow.other_unit,
        role=Membership.Role.STAFF,
        user=alice,
        reason="測試",
    )
    report = _refused(data, bob)
    assert [str(p) for p in report.all_problems] == [
        f"您沒有「{scope_label(theirs)}」的填報權限，不能上傳這份活頁簿。"
    ]
    assert report.forbidden and not report.rows


def test_a_stale_confirm_and_a_row_changed_since_the_download_are_said_in_full(alice, workflow):
    data = _good(alice, workflow)
    preview = import_workbook(data, name="a.xlsx", user=alice, commit=False)
    result_save_draft(
        indicator=workflow.ratio,
        quarter=workflow.quarter,
        figures={"num": Decimal("95"), "den": Decimal("100")},
        narrative={},
        expected_version=None,
        user=alice,
        reason="表單填報",
    )
    before = _state()
    done = import_workbook(
        data, name="a.xlsx", user=alice, commit=True, seen_versions=preview.versions
    )
    assert done.stale and [str(p) for p in done.all_problems] == [STALE]
    assert _state() == before
    # Without the preview's versions the same row is refused by itself, as changed.
    report = _refused(data, alice)
    assert [str(p) for p in report.all_problems] == [
        "第 4 列：這一列的成果在您下載活頁簿後已被修改，請重新下載後再填寫。"
    ]
    assert report.stale


def test_the_pages_confirm_is_refused_when_a_row_it_leaves_alone_changed_after_the_preview(
    alice, workflow
):
    """The confirm as the page makes it, from what the preview kept (the file read and the
    changes found, through JSON): the versions the preview saw are compared for every row, so
    a row the workbook leaves as it is, saved by somebody in between, stops the whole import,
    though no write would have touched it."""
    data = fill(download(alice, workflow), {(workflow.count, COUNT): 120})
    preview = import_workbook(data, name="a.xlsx", user=alice, commit=False)
    assert [r.name for r in preview.changed_rows] == [workflow.count.name]
    kept = json.loads(json.dumps({"parsed": preview.parsed.to_json(), "plan": preview.plan()}))
    result_save_draft(
        indicator=workflow.ratio,
        quarter=workflow.quarter,
        figures={"num": Decimal("95"), "den": Decimal("100")},
        narrative={},
        expected_version=None,
        user=alice,
        reason="表單填報",
    )
    before = _state()

    done = import_parsed(
        wb.Parsed.from_json(kept["parsed"]),
        name="a.xlsx",
        user=alice,
        commit=True,
        planned=kept["plan"],
    )

    assert done.stale and not done.written
    assert [str(p) for p in done.all_problems] == [STALE]
    assert _state() == before
    assert not Result.objects.filter(indicator=workflow.count).exists()
