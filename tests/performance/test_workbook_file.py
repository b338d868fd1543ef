"""The workbook file itself: what it holds, how it is read back, and every refusal of a file
that is not one of ours (real xlsx files written and read with openpyxl; no database)."""

import datetime
import io
import random
import re
import zipfile
from decimal import Decimal

import pytest
from django.core import signing
from django.utils import translation
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.formula import ArrayFormula

from performance import workbook as wb

SCOPE = wb.Scope(agency_id=1, agency_name="署", unit_id=2, unit_name="第1組", year=2013, quarter=2)
ROWS = [
    wb.RowSpec(
        indicator_id=10,
        version=3,
        goal="目標一",
        name="指標甲",
        measure="件",
        target="100件",
        state="草稿",
        editable=True,
        inputs=(wb.InputSpec("count", "件數（件）", minimum=Decimal(0)),),
        figures={"count": Decimal("12")},
        narrative={"progress": "辦理中"},
    ),
    wb.RowSpec(
        indicator_id=11,
        version=None,
        goal="目標一",
        name="指標乙",
        measure="%",
        target="90%",
        state="未填報",
        editable=True,
        inputs=(
            wb.InputSpec("num", "分子：完成件數（件）", minimum=Decimal(0), decimals=2),
            wb.InputSpec("den", "分母：受理件數（件）", minimum=Decimal(0)),
        ),
    ),
    wb.RowSpec(
        indicator_id=12,
        version=1,
        goal="目標二",
        name="指標丙",
        measure="",
        target="達成",
        state="已核定",
        editable=False,
        inputs=(wb.InputSpec("met", "評等", wb.RATING, Decimal(0), Decimal(1)),),
        figures={"met": Decimal(1)},
    ),
]
# Columns of the rows above: G 件數, H 分子, I 分母, J 評等, K-O narrative.


def _built() -> bytes:
    return wb.build(SCOPE, ROWS, title="測試")


def _edit(data: bytes, **cells) -> bytes:
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    for coordinate, value in cells.items():
        sheet[coordinate] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _refusal(data: bytes, name: str = "a.xlsx") -> str:
    with pytest.raises(wb.Refused) as caught:
        wb.read(data, name=name)
    return " ".join(str(p) for p in caught.value.problems)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_it_reads_back_what_it_built():
    parsed = wb.read(_built())
    assert parsed.problems == []
    assert parsed.scope == {"agency": 1, "unit": 2, "year": 2013, "q": 2}
    first, second, third = parsed.rows
    assert (first.row, first.indicator_id, first.version) == (3, 10, 3)
    assert first.figures == {"count": Decimal("12")}
    assert first.narrative["progress"] == "辦理中"
    assert second.figures == {"num": None, "den": None}
    assert third.figures == {"met": Decimal(1)}
    assert first.columns["count"] == ("G", "件數（件）")
    assert second.columns["den"] == ("I", "分母：受理件數（件）")


def test_it_heads_inputs_by_label_and_unit_and_protects_the_read_only_cells():
    book = load_workbook(io.BytesIO(_built()))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[2]][:10] == [
        "識別碼（請勿修改）",
        "策略目標",
        "指標名稱",
        "衡量單位",
        "年度目標值",
        "狀態",
        "件數（件）",
        "分子：完成件數（件）",
        "分母：受理件數（件）",
        "評等",
    ]
    assert [c.value for c in sheet[2]][10:] == [
        "辦理情形",
        "效益",
        "未達成原因",
        "改善措施",
        "其他說明",
    ]
    assert sheet.column_dimensions["A"].hidden
    assert sheet.protection.sheet
    assert sheet["C3"].protection.locked  # the indicator's name
    assert not sheet["G3"].protection.locked  # its figure
    assert not sheet["K3"].protection.locked  # its narrative
    assert sheet["H3"].protection.locked  # another indicator's column
    assert sheet["J5"].protection.locked  # an approved result
    # Every decimal the server keeps shows (issue 18, item 22): General for a whole-number
    # target, the target's places and up to 4 for the others.
    assert sheet["G3"].number_format == "General"
    assert sheet["H4"].number_format == "#,##0.00##"
    assert sheet["J5"].value == "達成"
    rules = {str(dv.sqref): dv for dv in sheet.data_validations.dataValidation}
    assert rules["G3 H4 I4"].type == "decimal"
    assert (rules["G3 H4 I4"].formula1, rules["G3 H4 I4"].formula2) == ("0", "99999999999.9999")
    assert "J5" not in " ".join(rules)  # nothing to choose in a locked row
    assert book.sheetnames[:2] == ["填報", "說明"]
    assert "淡黃色" in book["說明"]["A3"].value
    assert book[wb.META_SHEET].sheet_state == "veryHidden"


def test_it_offers_lists_for_ratings_and_codes():
    rows = [
        wb.RowSpec(20, None, "g", "評等", "", "", "", True, (ROWS[2].inputs[0],)),
        wb.RowSpec(
            21,
            None,
            "g",
            "等第",
            "",
            "",
            "",
            True,
            (wb.InputSpec("grade", "等第", wb.CODE, Decimal(0), Decimal(2)),),
        ),
    ]
    sheet = load_workbook(io.BytesIO(wb.build(SCOPE, rows, title="t"))).worksheets[0]
    lists = {dv.formula1 for dv in sheet.data_validations.dataValidation if dv.type == "list"}
    assert lists == {'"達成,未達成"', '"0,1,2"'}


def test_it_reports_formulas_text_and_absurd_numbers_by_row_and_column():
    data = _edit(_built(), G3="=1+2", H4="許多", I4=1e20, K3="=A1")
    parsed = wb.read(data)
    problems = {(p.row, p.column): p.message for p in parsed.problems}
    assert problems[(3, "G")] == "不可使用公式，請直接填入數值。"
    assert "「許多」不是數字" in problems[(4, "H")]
    assert "數值必須介於" in problems[(4, "I")]
    assert problems[(3, "K")] == "不可使用公式，請直接填入文字。"
    assert str(parsed.problems[0]).startswith("第 3 列 G 欄「件數（件）」：")


def test_it_quotes_a_refused_number_as_it_was_typed():
    """A whole float in digits (1e20 as 100…0), from 1e21 on as Excel shows it (1e+21); -0.5;
    text as typed, without Python's quotes."""
    data = _edit(_built(), G3=-0.5, H4="-5", I4=1e21, J5=1e20)
    problems = {(p.row, p.column): p.message for p in wb.read(data).problems}
    assert problems[(3, "G")].startswith("「-0.5」不可為負數")
    assert problems[(4, "H")].startswith("「-5」不可為負數")
    assert problems[(4, "I")].startswith("「1e+21」不符")
    assert problems[(5, "J")].startswith("「100000000000000000000」不符")


def test_it_refuses_a_true_or_a_date_as_not_a_number():
    data = _edit(_built(), G3=True, H4=datetime.date(2026, 1, 2))
    problems = {(p.row, p.column): p.message for p in wb.read(data).problems}
    assert problems == {
        (3, "G"): "「True」不是數字，請輸入例如 1234 或 1,234.5 的數值。",
        (4, "H"): "「2026-01-02 00:00:00」不是數字，請輸入例如 1234 或 1,234.5 的數值。",
    }


def test_a_rating_typed_in_chinese_is_read_whatever_the_language():
    """A workbook built in Chinese, uploaded by someone reading the site in English."""
    with translation.override("en"):
        assert {r.indicator_id: r.figures for r in wb.read(_edit(_built(), J5="達成")).rows}[
            12
        ] == {"met": Decimal(1)}
        assert {r.indicator_id: r.figures for r in wb.read(_edit(_built(), J5="未達成")).rows}[
            12
        ] == {"met": Decimal(0)}


def test_each_input_is_read_within_its_own_signed_bounds_and_kind():
    """The layout signed into the workbook gives each input its kind and range: a count from 0,
    a rating 0 or 1, both ends included; the message says the range (and the decimals of a
    plain number)."""
    parsed = wb.read(_edit(_built(), G3=0, J5=1))
    assert not parsed.problems
    assert {r.indicator_id: r.figures for r in parsed.rows}[10] == {"count": Decimal(0)}
    assert {r.indicator_id: r.figures for r in parsed.rows}[12] == {"met": Decimal(1)}
    parsed = wb.read(_edit(_built(), J5=0))
    assert {r.indicator_id: r.figures for r in parsed.rows}[12] == {"met": Decimal(0)}

    data = _edit(_built(), G3=-0.5, H4="NaN", I4=1e21, J5=5)
    problems = {(p.row, p.column): p.message for p in wb.read(data).problems}
    assert problems == {
        (3, "G"): "「-0.5」不可為負數：數值必須介於 0 與 99,999,999,999.9999 之間。",
        (4, "H"): "「NaN」不是有限的數值。",
        (4, "I"): "「1e+21」不符：數值必須介於 0 與 99,999,999,999.9999 之間，且最多 4 位小數。",
        (5, "J"): "「5」不符：數值必須介於 0 與 1 之間。",
    }
    [problem] = wb.read(_edit(_built(), J5=0.5)).problems
    assert (problem.row, problem.column, problem.message) == (
        5,
        "J",
        "「0.5」不符：請選擇「達成」或「未達成」。",
    )


def test_a_narrative_is_read_as_text_up_to_its_limit():
    parsed = wb.read(_edit(_built(), K3=123, K4="字" * wb.NARRATIVE_MAX_LENGTH))
    assert not parsed.problems
    narrative = {r.indicator_id: r.narrative for r in parsed.rows}
    assert narrative[10]["progress"] == "123"
    assert narrative[11]["progress"] == "字" * wb.NARRATIVE_MAX_LENGTH

    parsed = wb.read(_edit(_built(), K4="字" * (wb.NARRATIVE_MAX_LENGTH + 1)))
    assert [(p.row, p.column, p.message) for p in parsed.problems] == [
        (4, "K", "文字過長（10,001 字），上限為 10,000 字。")
    ]


def test_it_refuses_figures_in_another_indicators_column_and_rows_without_a_key():
    parsed = wb.read(_edit(_built(), H3=5, B6="新的一列", G6=3))
    messages = {(p.row, p.column): p.message for p in parsed.problems}
    assert messages[(3, "H")] == "此欄不適用於這個指標，請清空。"
    assert "沒有識別碼" in messages[(6, "")]


def test_it_refuses_a_key_of_another_workbook_and_a_repeated_row():
    parsed = wb.read(_edit(_built(), A4=999, A5=10))
    messages = {p.row: p.message for p in parsed.problems}
    assert "不屬於這份活頁簿" in messages[4]
    assert "與第 3 列是同一個指標" in messages[5]
    assert [row.indicator_id for row in parsed.rows] == [10]


def test_it_refuses_a_tampered_signature():
    book = load_workbook(io.BytesIO(_built()))
    meta = book[wb.META_SHEET]
    signed = meta["A2"].value
    # Another unit's id in the signed text, keeping its signature: the signature no longer fits.
    payload, _colon, signature = signed.rpartition(":")
    meta["A2"] = payload[:-1] + ("A" if payload[-1] != "A" else "B") + ":" + signature
    out = io.BytesIO()
    book.save(out)
    assert "簽章不符" in _refusal(out.getvalue())


def test_it_refuses_another_template():
    book = Workbook()
    book.active["A3"] = 10
    out = io.BytesIO()
    book.save(out)
    assert "不是 kpitrack 下載的填報活頁簿" in _refusal(out.getvalue())


def test_it_refuses_what_is_not_an_xlsx():
    assert "不是 Excel 活頁簿" in _refusal("指標,數值\n".encode())
    assert "不是 Excel 活頁簿" in _refusal(_zip({"word/document.xml": b"<w/>"}))
    assert "不是 Excel 活頁簿" in _refusal(b"PK\x03\x04" + b"\0" * 100)


def test_it_refuses_an_empty_file():
    assert _refusal(b"") == "檔案是空的。"


def test_it_refuses_a_file_over_the_size_limit(settings):
    settings.KPITRACK_WORKBOOK_MAX_BYTES = 1000
    data = _built()
    assert "檔案太大" in _refusal(data)
    assert _refusal(data) == f"檔案太大（{len(data):,} 位元組），上限為 1,000 位元組。"


def test_it_refuses_a_zip_bomb_from_its_directory(settings):
    members = _members(_built())
    # Highly compressible: 8 MiB of zeros deflate to a few KiB.
    members["xl/media/padding.bin"] = b"\0" * (8 * 1024 * 1024)
    assert "壓縮比異常" in _refusal(_zip(members))
    assert _refusal(_zip(members)) == "活頁簿的壓縮比異常，可能是壓縮炸彈，已拒絕。"
    settings.KPITRACK_WORKBOOK_MAX_UNCOMPRESSED = 4 * 1024 * 1024
    assert "解壓縮後過大" in _refusal(_zip(members))
    assert _refusal(_zip(members)) == "活頁簿解壓縮後過大，可能是壓縮炸彈，已拒絕。"


def test_it_refuses_a_workbook_of_too_many_parts():
    members = _members(_built())
    members.update({f"xl/media/{i}.bin": b"" for i in range(wb.MAX_MEMBERS)})
    assert _refusal(_zip(members)) == "活頁簿的內容結構異常（檔案數過多），已拒絕。"


def test_it_refuses_a_workbook_with_macros():
    members = _members(_built())
    members["xl/vbaProject.bin"] = b"macro"
    assert "含巨集" in _refusal(_zip(members))
    assert "含巨集" in _refusal(_built(), name="填報.xlsm")
    # The same words whether the name or the contents give the macros away.
    macros = "不接受含巨集的活頁簿（.xlsm），請另存為 .xlsx 後上傳。"
    assert _refusal(_zip(members)) == _refusal(_built(), name="填報.xlsm") == macros


def test_it_refuses_more_rows_than_the_limit(settings):
    settings.KPITRACK_WORKBOOK_MAX_ROWS = 2
    assert "列數超過上限 2 列" in _refusal(_built())
    assert _refusal(_built()) == "活頁簿的列數超過上限 2 列。"
    settings.KPITRACK_WORKBOOK_MAX_ROWS = len(ROWS)
    assert len(wb.read(_built()).rows) == len(ROWS)  # exactly at the limit


def test_it_refuses_a_damaged_workbook():
    members = _members(_built())
    members["xl/workbook.xml"] = b"<not xml"
    assert "無法讀取" in _refusal(_zip(members))


# --- every refusal's exact words (the mutation run of the checks: a partial match let a changed
# sentence through) ---------------------------------------------------------------------------

NOT_XLSX = "這不是 Excel 活頁簿（.xlsx）檔案。"
MACROS = "不接受含巨集的活頁簿（.xlsm），請另存為 .xlsx 後上傳。"
NOT_OURS = "這不是 kpitrack 下載的填報活頁簿（找不到識別資料），請使用本系統下載的範本。"
OTHER_VERSION = "這不是此版本 kpitrack 的填報活頁簿，請重新下載範本。"
TAMPERED = "活頁簿的識別資料與簽章不符（可能被修改過），請重新下載範本後再填寫。"
DAMAGED = "無法讀取這個活頁簿，檔案可能已損壞。"


def _save_as(kind: str) -> str:
    return (
        f"這是 {kind} 格式的試算表，系統只能讀取 Excel 活頁簿（.xlsx）。"
        "請在試算表程式中以「另存新檔」選擇「Excel 活頁簿（.xlsx）」格式儲存後再上傳。"
    )


ODS_DIRECTORY = {
    "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
    "content.xml": b"<x/>",
}
OLE2 = wb.OLE2_MAGIC + b"\0" * 504


@pytest.mark.parametrize(
    ("name", "data", "refused"),
    [
        ("填報.XLSM", None, MACROS),
        ("填報.xltm", None, MACROS),
        ("填報.xlam", None, MACROS),
        ("填報.xlsx", OLE2, _save_as("Excel 97-2003")),
        ("填報", OLE2, _save_as("Excel 97-2003")),
        ("填報.XLS", None, _save_as("Excel 97-2003")),
        ("填報.ods", None, _save_as("OpenDocument")),
        ("填報.fods", None, _save_as("OpenDocument")),
        ("填報.xlsx", "ods", _save_as("OpenDocument")),
        ("填報.xlsx", b"not a zip at all", NOT_XLSX),
        ("填報.xlsx", "no content types", NOT_XLSX),
        ("填報.xlsx", "no workbook part", NOT_XLSX),
        ("填報.xlsx", "ods and xlsx", NOT_XLSX),
        ("填報.xlsx", "damaged", DAMAGED),
    ],
)
def test_a_file_that_is_not_one_of_ours_is_refused_in_exact_words(name, data, refused):
    """Each file-level refusal says what the file is and what to do, whatever the name's case."""
    members = _members(_built())
    if data is None:
        data = _built()
    elif data == "ods":
        data = _zip(ODS_DIRECTORY)
    elif data == "no content types":
        del members["[Content_Types].xml"]
        data = _zip(members)
    elif data == "no workbook part":
        del members["xl/workbook.xml"]
        data = _zip(members)
    elif data == "ods and xlsx":
        # An xlsx directory that also holds a content.xml is no OpenDocument file; without its
        # content types it is no xlsx either.
        del members["[Content_Types].xml"]
        data = _zip({**members, **ODS_DIRECTORY})
    elif data == "damaged":
        members["xl/workbook.xml"] = b"<not xml"
        data = _zip(members)
    with pytest.raises(wb.Refused) as caught:
        wb.read(data, name=name)
    assert [str(p) for p in caught.value.problems] == [refused]
    assert str(caught.value) == refused


def test_a_workbook_named_without_a_suffix_or_in_capitals_is_read():
    assert len(wb.read(_built(), name="填報").rows) == len(ROWS)
    assert len(wb.read(_built(), name="填報.XLSX").rows) == len(ROWS)


def _with_meta(*values) -> bytes:
    """Our workbook with its hidden sheet's first column replaced by `values`."""
    book = load_workbook(io.BytesIO(_built()))
    meta = book[wb.META_SHEET]
    for row in range(1, meta.max_row + 1):
        meta.cell(row, 1).value = None
    for row, value in enumerate(values, start=1):
        meta.cell(row, 1).value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _signed_payload() -> dict:
    book = load_workbook(io.BytesIO(_built()))
    values = [row[0] for row in book[wb.META_SHEET].iter_rows(max_col=1, values_only=True)]
    return signing.loads("".join(v for v in values[1:] if isinstance(v, str)), salt=wb.SALT)


def test_a_workbook_without_our_signed_sheet_or_of_another_version_is_refused_in_exact_words():
    book = Workbook()
    book.active["A3"] = 10
    out = io.BytesIO()
    book.save(out)
    assert _refusal(out.getvalue()) == NOT_OURS
    assert _refusal(_with_meta()) == OTHER_VERSION  # the sheet, but empty
    assert _refusal(_with_meta("kpitrack-entry-workbook/0")) == OTHER_VERSION
    payload = _signed_payload()
    # Signed with our key but not a layout of this version: a list, another format.
    assert _refusal(_with_meta(wb.FORMAT, signing.dumps([1], salt=wb.SALT))) == OTHER_VERSION
    other = {**payload, "format": "kpitrack-entry-workbook/0"}
    assert _refusal(_with_meta(wb.FORMAT, signing.dumps(other, salt=wb.SALT))) == OTHER_VERSION
    assert _refusal(_with_meta(wb.FORMAT, signing.dumps(payload, salt="another"))) == TAMPERED
    # The signed text in chunks, with a number between them that is no part of it: still read.
    signed = signing.dumps(payload, salt=wb.SALT)
    assert len(wb.read(_with_meta(wb.FORMAT, signed[:10], 7, signed[10:])).rows) == len(ROWS)


def test_each_rows_problem_is_said_in_exact_words_and_the_rows_after_it_are_read():
    """A row of another workbook, a repeated row and a row without a key are each refused by
    their row, in full; the rows after a refused or a blank row are still read."""
    data = _edit(_built(), H3=5, A4=999, A5=10, B6="新的一列", A8=12, J8=0)
    parsed = wb.read(data)
    assert [str(p) for p in parsed.problems] == [
        "第 3 列 H 欄「分子：完成件數（件）」：此欄不適用於這個指標，請清空。",
        "第 4 列：識別碼「999」不屬於這份活頁簿的單位、年度與季別。",
        "第 5 列：與第 3 列是同一個指標，一個指標只能有一列。",
        "第 6 列：這一列沒有識別碼，不是下載時的列；請勿新增列。",
    ]
    # Row 7 is blank (nothing to say); row 8 is indicator 12's, moved down: read.
    assert [(row.row, row.indicator_id) for row in parsed.rows] == [(3, 10), (8, 12)]
    assert parsed.rows[1].figures == {"met": Decimal(0)}


def test_a_key_typed_as_text_is_not_the_indicators():
    [problem] = wb.read(_edit(_built(), A4="11")).problems
    assert str(problem) == "第 4 列：識別碼「11」不屬於這份活頁簿的單位、年度與季別。"


def test_a_cells_problem_names_its_row_column_and_header():
    [problem] = wb.read(_edit(_built(), I4="許多")).problems
    assert (problem.row, problem.column, problem.header) == (4, "I", "分母：受理件數（件）")
    assert str(problem) == (
        "第 4 列 I 欄「分母：受理件數（件）」："
        "「許多」不是數字，請輸入例如 1234 或 1,234.5 的數值。"
    )
    [problem] = wb.read(_edit(_built(), L3="=A1")).problems
    assert str(problem) == "第 3 列 L 欄「效益」：不可使用公式，請直接填入文字。"


CODED = [
    wb.RowSpec(
        indicator_id=30,
        version=None,
        goal="目標",
        name="等第指標",
        measure="",
        target="2",
        state="未填報",
        editable=True,
        inputs=(wb.InputSpec("grade", "等第代碼", wb.CODE, Decimal(0), Decimal(2)),),
    )
]


def test_a_code_is_read_as_a_whole_number_within_its_range():
    def read(value):
        data = wb.build(SCOPE, CODED, title="t")
        parsed = wb.read(_edit(data, G3=value))
        return parsed.rows[0].figures if parsed.rows else None, [str(p) for p in parsed.problems]

    assert read(2) == ({"grade": Decimal(2)}, [])
    assert read(0) == ({"grade": Decimal(0)}, [])
    assert read(1.5) == (
        {},
        ["第 3 列 G 欄「等第代碼」：「1.5」不是整數的等第代碼（0 至 2）。"],
    )
    assert read(3) == ({}, ["第 3 列 G 欄「等第代碼」：「3」不符：數值必須介於 0 與 2 之間。"])


def test_a_workbook_signed_without_input_bounds_reads_any_figure_within_the_limit():
    """A workbook built before each input's kind and bounds were signed: its inputs take any
    figure from -FIGURE_LIMIT to FIGURE_LIMIT."""
    payload = _signed_payload()
    payload["rows"] = [
        [pk, version, [entry[:2] for entry in placed]] for pk, version, placed in payload["rows"]
    ]
    data = _edit(_built(), G3=-5, H4=7)
    book = load_workbook(io.BytesIO(data))
    meta = book[wb.META_SHEET]
    for row in range(2, meta.max_row + 1):
        meta.cell(row, 1).value = None
    meta["A2"] = signing.dumps(payload, salt=wb.SALT)
    out = io.BytesIO()
    book.save(out)
    parsed = wb.read(out.getvalue())
    assert parsed.problems == []
    assert {r.indicator_id: r.figures for r in parsed.rows}[10] == {"count": Decimal(-5)}
    assert {r.indicator_id: r.figures for r in parsed.rows}[11]["num"] == Decimal(7)


MILESTONES = [
    wb.MilestoneSpec(10, "指標甲", "value", "件數", "100件", {2: Decimal(40)}, {}, True),
    wb.MilestoneSpec(11, "指標乙", "rate", "比率", "90%", {}, {}, True),
]


def _milestones_edited(**cells) -> bytes:
    data = wb.build(SCOPE, ROWS, title="測試", milestones=MILESTONES)
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[wb.MILESTONE_SHEET_INDEX]
    for coordinate, value in cells.items():
        sheet[coordinate] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_milestones_sheet_is_read_back_by_indicator_part_and_quarter():
    parsed = wb.read(_milestones_edited(F4=10, H4=wb.FIGURE_LIMIT))
    assert parsed.problems == []
    assert [(m.row, m.indicator_id, m.part, m.values, m.problems) for m in parsed.milestones] == [
        (3, 10, "value", {1: None, 2: Decimal(40), 3: None}, []),
        (4, 11, "rate", {1: Decimal(10), 2: None, 3: Decimal(wb.FIGURE_LIMIT)}, []),
    ]
    assert parsed.milestones[0].columns == {
        1: ("F", "第1季預定進度"),
        2: ("G", "第2季預定進度"),
        3: ("H", "第3季預定進度"),
    }


def test_the_milestones_sheets_refusals_name_the_sheet_and_the_cell():
    """A planned value below 0, a row added without a key, a key changed or repeated: each said
    in full; the rows after a refused or a blank one are still read."""
    parsed = wb.read(
        _milestones_edited(G3=-1, A5="", B6="新增", A7=10, B7="other", A8=11, B8="rate", F9=1)
    )
    assert [str(p) for p in parsed.problems] == [
        "「分季目標」工作表第 6 列沒有識別碼，請勿新增列。",
        "「分季目標」工作表第 7 列的識別碼不是下載時的內容。",
        "「分季目標」工作表第 8 列的識別碼不是下載時的內容。",
        "「分季目標」工作表第 9 列沒有識別碼，請勿新增列。",
    ]
    first, second = parsed.milestones
    assert (first.row, second.row) == (3, 4)
    assert first.problems == [
        ["「-1」不可為負數：數值必須介於 0 與 99,999,999,999.9999 之間。", "G", "第2季預定進度"]
    ]
    assert first.values == {1: None, 3: None}


def test_the_milestones_sheet_counts_toward_the_row_limit(settings):
    """Its rows are limited as the entry sheet's are: the limit's own row is read (here a
    row of a changed key, refused by itself), the one after it refuses the file."""
    settings.KPITRACK_WORKBOOK_MAX_ROWS = len(ROWS)
    parsed = wb.read(_milestones_edited(A5=10, B5="x"))
    assert [str(p) for p in parsed.problems] == [
        "「分季目標」工作表第 5 列的識別碼不是下載時的內容。"
    ]
    assert _refusal(_milestones_edited(A6=10, B6="x")) == "活頁簿的列數超過上限 3 列。"


def test_cells_outside_the_table_are_not_read_and_a_blank_header_is_named_blank():
    """Only the signed layout's columns are read: something typed to the right of the table, on
    a row of its own, is no row. A header somebody emptied (the sheets are protected, but not
    with a password) leaves the problem's header empty rather than made up."""
    data = _edit(_built(), H2=None, H4="許多", Q7="備註")
    [problem] = wb.read(data).problems
    assert (problem.row, problem.column, problem.header) == (4, "H", "")
    data = _milestones_edited(G2=None, G3=-1, K6="備註")
    parsed = wb.read(data)
    assert parsed.problems == []
    assert parsed.milestones[0].problems == [
        ["「-1」不可為負數：數值必須介於 0 與 99,999,999,999.9999 之間。", "G", ""]
    ]


def test_an_array_formula_is_refused_as_a_formula_in_a_figure_and_in_a_text():
    book = load_workbook(io.BytesIO(_built()))
    sheet = book.worksheets[0]
    sheet["G3"] = ArrayFormula("G3", "=SUM(G4:G5)")
    sheet["K4"] = ArrayFormula("K4", '=CONCAT("a","b")')
    out = io.BytesIO()
    book.save(out)
    problems = {(p.row, p.column): p.message for p in wb.read(out.getvalue()).problems}
    assert problems == {
        (3, "G"): "不可使用公式，請直接填入數值。",
        (4, "K"): "不可使用公式，請直接填入文字。",
    }


def test_the_limits_without_settings(settings):
    for name in ("MAX_BYTES", "MAX_UNCOMPRESSED", "MAX_RATIO", "MAX_ROWS"):
        if hasattr(settings, f"KPITRACK_WORKBOOK_{name}"):
            delattr(settings, f"KPITRACK_WORKBOOK_{name}")
    assert (wb.max_bytes(), wb.max_uncompressed(), wb.max_ratio(), wb.max_rows()) == (
        5 * 1024 * 1024,
        100 * 1024 * 1024,
        200,
        20_000,
    )


def test_a_file_of_exactly_the_size_limit_is_read(settings):
    data = _built()
    settings.KPITRACK_WORKBOOK_MAX_BYTES = len(data)
    assert len(wb.read(data).rows) == len(ROWS)
    settings.KPITRACK_WORKBOOK_MAX_BYTES = len(data) - 1
    assert _refusal(data) == f"檔案太大（{len(data):,} 位元組），上限為 {len(data) - 1:,} 位元組。"


def test_the_suffix_is_the_names_last():
    """A flat OpenDocument file (not a zip) is known by its suffix, after any other dot."""
    flat = b'<?xml version="1.0"?><office:document/>'
    assert _refusal(flat, name="第1季.填報.FODS") == _save_as("OpenDocument")


def _with_row(data: bytes, index: int, cells: str) -> bytes:
    """Sheet `index` with a row of raw cell XML added after its last, as a program other than
    openpyxl may write it (openpyxl writes no cell for an empty string); returns the file and
    the row's number."""
    members = _members(data)
    part = f"xl/worksheets/sheet{index + 1}.xml"
    xml = members[part].decode()
    # the read-only reader reads up to the sheet's declared size, so the row is declared too
    declared = re.search(r'<dimension ref="A1:([A-Z]+)(\d+)" />', xml)
    row = int(declared[2]) + 1
    xml = xml.replace(declared[0], f'<dimension ref="A1:{declared[1]}{row}" />')
    xml = xml.replace("</sheetData>", f'<row r="{row}">{cells.format(row=row)}</row></sheetData>')
    members[part] = xml.encode()
    return _zip(members)


EMPTY = '<c r="{column}{{row}}" t="inlineStr"><is><t></t></is></c>'


def test_an_empty_string_in_the_entry_sheet_is_a_blank_cell():
    """A cell holding the empty string (a cell typed and erased, as some programs save it) is
    blank: a row of such cells is a blank row, not a row added without a key or with a key of
    another workbook."""
    data = _built()
    for columns in (["A"], ["C"], ["A", "G"]):
        cells = "".join(EMPTY.format(column=c) for c in columns)
        parsed = wb.read(_with_row(data, 0, cells))
        assert parsed.problems == []
        assert [row.indicator_id for row in parsed.rows] == [10, 11, 12]
    # the row is read: a figure beside the empty key is a row without a key
    parsed = wb.read(_with_row(data, 0, EMPTY.format(column="A") + '<c r="G{row}"><v>1</v></c>'))
    [problem] = parsed.problems
    assert (problem.row, str(problem)) == (
        6,
        "第 6 列：這一列沒有識別碼，不是下載時的列；請勿新增列。",
    )


def test_an_empty_string_in_the_milestones_sheet_is_a_blank_cell():
    """A cell holding the empty string (openpyxl writes none, but other programs may, for a
    cell typed and erased) is blank: a row of such cells is a blank row, not a row added without
    a key or one whose key was changed."""
    data = _milestones_edited()
    for columns in (["A"], ["C"], ["A", "F"]):
        cells = "".join(EMPTY.format(column=c) for c in columns)
        parsed = wb.read(_with_row(data, wb.MILESTONE_SHEET_INDEX, cells))
        assert parsed.problems == []
        assert [m.row for m in parsed.milestones] == [3, 4]
    # the row is read: a value beside the empty key is a row without a key
    cells = EMPTY.format(column="A") + '<c r="F{row}"><v>1</v></c>'
    parsed = wb.read(_with_row(data, wb.MILESTONE_SHEET_INDEX, cells))
    [problem] = parsed.problems
    assert str(problem) == "「分季目標」工作表第 5 列沒有識別碼，請勿新增列。"


def test_the_ratio_limit_is_the_settings(settings):
    """A member of 2 MiB that deflates about forty-fold is taken under the default ratio (200)
    and refused under a ratio of 20 set for the workbooks."""
    members = _members(_built())
    rng = random.Random(19)
    blocks = (rng.randbytes(64) + bytes(64 * 49) for _ in range(2 * 1024 * 1024 // (64 * 50)))
    members["xl/media/padding.bin"] = b"".join(blocks)
    data = _zip(members)
    assert len(wb.read(data).rows) == len(ROWS)
    settings.KPITRACK_WORKBOOK_MAX_RATIO = 20
    assert _refusal(data) == "活頁簿的壓縮比異常，可能是壓縮炸彈，已拒絕。"


def test_a_zip_whose_directory_cannot_be_read_is_no_xlsx():
    """The end of the zip is found (zipfile.is_zipfile) but the directory it points to is not
    one: refused as not an xlsx, in those words."""
    data = _built()
    start = data.rindex(b"PK\x01\x02", 0, data.rindex(b"PK\x05\x06"))
    broken = data[:start] + b"XX" + data[start + 2 :]
    assert zipfile.is_zipfile(io.BytesIO(broken))
    assert _refusal(broken) == NOT_XLSX


def test_a_sheet_that_is_not_xml_is_a_damaged_workbook():
    """The read-only reader parses a sheet only as its rows are read: broken XML there is
    refused as a damaged workbook, in those words, like a broken workbook.xml."""
    members = _members(_built())
    members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"][:-40]
    assert _refusal(_zip(members)) == DAMAGED


def test_a_figure_in_the_first_or_the_last_input_column_of_another_indicator_is_refused():
    """G is the first input column (指標甲's), J the last (指標丙's): a figure typed there on
    指標乙's row is refused; an empty string in another indicator's column (as another program
    may save an erased cell) is not."""
    parsed = wb.read(_edit(_built(), G4=5, J4=1))
    assert {(p.row, p.column, p.header, p.message) for p in parsed.problems} == {
        (4, "G", "件數（件）", "此欄不適用於這個指標，請清空。"),
        (4, "J", "評等", "此欄不適用於這個指標，請清空。"),
    }
    members = _members(_built())
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    cell = re.search(r'<c r="H3"[^>]*/>', sheet)[0]
    empty = cell.replace('t="n" />', 't="inlineStr"><is><t></t></is></c>')
    assert empty != cell
    members["xl/worksheets/sheet1.xml"] = sheet.replace(cell, empty).encode()
    assert wb.read(_zip(members)).problems == []


def test_an_empty_string_in_an_indicators_own_input_cell_is_a_cleared_figure():
    """指標甲's figure in G3, erased by a program that saves an erased cell as the empty string:
    the figure is cleared, as if the cell had been emptied in Excel, and not refused as not a
    number."""
    members = _members(_built())
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    cell = re.search(r'<c r="G3"[^>]*>.*?</c>', sheet)[0]
    members["xl/worksheets/sheet1.xml"] = sheet.replace(
        cell, '<c r="G3" t="inlineStr"><is><t></t></is></c>'
    ).encode()
    parsed = wb.read(_zip(members))
    cleared = wb.read(_edit(_built(), G3=None))
    assert parsed.problems == cleared.problems == []
    assert {r.indicator_id: r.figures for r in parsed.rows} == {
        r.indicator_id: r.figures for r in cleared.rows
    }
    assert {r.indicator_id: r.figures for r in parsed.rows}[10] == {"count": None}
