"""分季目標 in the entry workbook: a sheet of each target part's planned values for Q1-Q3, with
the defaults beside them. Downloaded and uploaded unchanged it writes nothing; a change by the
planning office (初核) or 管理者 is written with history; by anyone else it is refused on its row
and nothing at all is written."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from performance import workbook as wb
from performance import workbook_uploads as uploads
from performance.models import Milestone, Result
from performance.services import (
    indicator_delete,
    indicator_update,
    milestone_set,
    strategic_goal_create,
)
from performance.workbook_import import import_parsed, import_workbook

from .cast import Role, member
from .workbook_helpers import download, fill

pytestmark = pytest.mark.django_db


def _sheet(data: bytes):
    return load_workbook(io.BytesIO(data)).worksheets[wb.MILESTONE_SHEET_INDEX]


def _row(sheet, indicator) -> int:
    return next(
        r for r in range(wb.FIRST_ROW, sheet.max_row + 1) if sheet.cell(r, 1).value == indicator.pk
    )


def _set(data: bytes, indicator, quarter: int, value) -> bytes:
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[wb.MILESTONE_SHEET_INDEX]
    column = wb.MILESTONE_FIRST_QUARTER_COLUMN + quarter - 1
    # .value rather than cell(…, value): openpyxl's cell() leaves a cell as it is for None.
    sheet.cell(_row(sheet, indicator), column).value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _listed(rows):
    return [
        (r.row, r.indicator_id, r.name, [(c.header, c.old, c.new) for c in r.changes]) for r in rows
    ]


def _state():
    return (
        sorted(Milestone.objects.values_list("part_id", "quarter", "value")),
        Milestone.history.count(),
        Result.objects.count(),
    )


@pytest.fixture
def planner(django_user_model, workflow):
    return member(django_user_model, workflow, Role.PLANNER)


def test_the_sheet_lists_each_part_with_its_planned_values_and_defaults(workflow, alice):
    milestone_set(
        indicator=workflow.count, quarter=2, value=Decimal("40"), user=alice, reason="計畫"
    )
    sheet = _sheet(download(alice, workflow))
    r = _row(sheet, workflow.count)
    first = wb.MILESTONE_FIRST_QUARTER_COLUMN
    assert [sheet.cell(r, first + n).value for n in range(3)] == [None, 40, None]
    assert sheet.cell(r, wb.MILESTONE_COLUMNS).value == "25、50、75"
    assert sheet.cell(r, first).protection.locked is False  # alice may plan


def test_unchanged_it_writes_nothing(workflow, planner):
    before = _state()
    report = import_workbook(
        download(planner, workflow, unit=None), name="a.xlsx", user=planner, commit=True
    )
    assert report.ok and not report.changed_rows
    assert _state() == before


def test_a_planners_change_is_written_with_history_through_preview_and_confirm(workflow, planner):
    data = _set(download(planner, workflow, unit=None), workflow.count, 1, 20)
    preview = import_workbook(data, name="plan.xlsx", user=planner, commit=False)
    assert preview.ok
    [row] = preview.changed_rows
    assert [(c.header, c.old, c.new) for c in row.changes] == [("第1季預定進度", "（空白）", "20")]
    assert not Milestone.objects.exists()
    # The confirm writes what the preview read and promised (as the page keeps them in JSON).
    parsed = wb.Parsed.from_json(preview.parsed.to_json())
    report = import_parsed(
        parsed, name="plan.xlsx", user=planner, commit=True, planned=preview.plan()
    )
    assert report.written
    # The confirm's page lists what the preview listed, row by row.
    assert _listed(report.milestone_rows) == _listed(preview.milestone_rows)
    assert _listed(report.changed_rows) == _listed(preview.changed_rows) != []
    milestone = Milestone.objects.get()
    assert (milestone.quarter, milestone.value) == (1, Decimal("20"))
    history = milestone.history.get()
    assert (history.history_user, history.history_change_reason) == (
        planner,
        "Excel 匯入：plan.xlsx",
    )


def test_a_change_by_a_unit_is_refused_on_its_row_and_nothing_is_written(
    django_user_model, workflow
):
    staff = member(django_user_model, workflow, Role.STAFF)
    data = download(staff, workflow)
    sheet = _sheet(data)
    assert sheet.cell(
        _row(sheet, workflow.count), wb.MILESTONE_FIRST_QUARTER_COLUMN
    ).protection.locked
    before = _state()
    report = import_workbook(
        _set(data, workflow.count, 1, 5), name="a.xlsx", user=staff, commit=True
    )
    assert not report.written
    assert [p.message for p in report.all_problems] == ["只有初核或管理者可以修改分季目標。"]
    assert [p.row for p in report.all_problems] == [_row(sheet, workflow.count)]
    assert _state() == before


def test_a_bad_value_is_named_by_its_cell(workflow, planner):
    data = _set(download(planner, workflow, unit=None), workflow.count, 2, "abc")
    report = import_workbook(data, name="a.xlsx", user=planner, commit=True)
    [problem] = report.all_problems
    assert (problem.row, problem.column, problem.header) == (
        _row(_sheet(data), workflow.count),
        "G",
        "第2季預定進度",
    )
    assert "不是數字" in problem.message
    assert not Milestone.objects.exists()


def test_clearing_a_planned_value_restores_the_default(workflow, planner, alice):
    milestone_set(
        indicator=workflow.count, quarter=3, value=Decimal("60"), user=alice, reason="計畫"
    )
    data = _set(download(planner, workflow, unit=None), workflow.count, 3, None)
    report = import_workbook(data, name="a.xlsx", user=planner, commit=True)
    assert report.written and len(report.changed_rows) == 1
    assert not Milestone.objects.exists()


GONE = "這個指標已不存在或不屬於此年度。"


def _gone_since_the_download(workflow, planner, alice, remove):
    """The planner types a value for each indicator; `remove` takes the count away before the
    upload. The milestones rows of the count and of the ratio, as the preview reads them."""
    data = _set(download(planner, workflow, unit=None), workflow.count, 1, 20)
    data = _set(data, workflow.ratio, 2, 30)
    row = _row(_sheet(data), workflow.count)
    remove(workflow.count)
    report = import_workbook(data, name="a.xlsx", user=planner, commit=False)
    rows = {r.indicator_id: r for r in report.milestone_rows}
    return row, rows[workflow.count.pk], rows[workflow.ratio.pk]


def test_a_value_planned_for_an_indicator_deleted_since_the_download_is_refused_on_its_row(
    workflow, planner, alice
):
    """Named by its id (nothing else is left of it); the rows after it are still compared."""
    count_id = workflow.count.pk

    def delete(indicator):
        indicator_delete(
            indicator=indicator, expected_version=indicator.version, user=alice, reason="指標停用"
        )

    row, gone, kept = _gone_since_the_download(workflow, planner, alice, delete)
    assert gone.name == f"「分季目標」第 {row} 列「{count_id}」"
    assert [(p.row, p.message) for p in gone.problems] == [(row, GONE)]
    assert not gone.changes
    assert [(c.header, c.old, c.new) for c in kept.changes] == [("第2季預定進度", "（空白）", "30")]
    assert not kept.problems
    assert kept.name == f"「分季目標」第 {kept.row} 列「{workflow.ratio.name}」"


def test_a_value_planned_for_an_indicator_moved_to_another_year_is_refused_by_its_name(
    workflow, planner, alice
):
    def move(indicator):
        later = strategic_goal_create(
            user=alice,
            agency=indicator.goal.agency,
            year=indicator.goal.year + 1,
            code="g1",
            title="目標",
        )
        indicator_update(
            indicator=indicator,
            expected_version=indicator.version,
            user=alice,
            reason="改列",
            goal=later,
        )

    row, gone, _kept = _gone_since_the_download(workflow, planner, alice, move)
    assert gone.name == f"「分季目標」第 {row} 列「{workflow.count.name}」"
    assert [(p.row, p.message) for p in gone.problems] == [(row, GONE)]


def test_an_upload_previewed_before_the_sheet_existed_is_still_confirmed(client, alice, workflow):
    """An upload waiting for its confirm across the deploy that added this sheet: its stored
    preview (the file read and the changes found) has no milestones, and the confirm writes its
    rows all the same."""
    client.force_login(alice)
    scope = {
        "agency": workflow.agency.code,
        "unit": "ops",
        "year": workflow.year,
        "quarter": workflow.quarter,
    }
    data = fill(download(alice, workflow), {(workflow.count, "辦理件數（件）"): 150})
    preview = client.post(
        reverse("workbook-upload"), {**scope, "file": SimpleUploadedFile("填報.xlsx", data)}
    )
    # Kept as the release before this sheet kept it: no "milestones" in either part.
    kept, meta = uploads.load(preview.context["token"], alice)
    del meta["parsed"]["milestones"], meta["plan"]["milestones"]
    token = uploads.store(kept, meta)

    done = client.post(reverse("workbook-confirm"), {"token": token})

    assert done.status_code == 200
    assert "已由「填報.xlsx」寫入 1 列的變更" in done.content.decode()
    result = Result.objects.get(indicator=workflow.count, quarter=workflow.quarter)
    assert result.figures.get().value == Decimal("150")
