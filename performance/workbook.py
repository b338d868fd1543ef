"""The entry workbook: a unit's (or the agency's) quarter as an xlsx to fill offline, and the one
way such a file is read back.

Building and reading are functions over plain data (`Scope`, `RowSpec` in, bytes out; bytes
in, `Parsed` out) and openpyxl: no query happens here. Which rows a person gets, the dry run and
the commit through the services live in `performance.workbook_import`.

What makes a file trustworthy enough to read:
- the archive is checked from its zip directory before openpyxl opens it (size, members,
  uncompressed sizes, compression ratio, macros), so a zip bomb is refused without inflating it;
- a hidden sheet carries the workbook's scope and layout (agency, unit, year, quarter, each
  row's indicator id, result version and input columns) signed with the site's key, so a
  workbook of another unit or period, another template or a tampered key column is recognised;
- only the cells the signed layout names as inputs are read; read-only columns never are.
"""

import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from kpitrack.core.engine.numbers import (
    FIGURE_DECIMAL_PLACES,
    FIGURE_LIMIT,
    FigureError,
    parse_figure,
)
from kpitrack.core.sheets import fit_rows, print_setup
from kpitrack.core.text import cleaned, keep_as_text

from .filetypes import UnsafeArchive, check_directory
from .reasons import figure_bounds_message, figure_error_message

FORMAT = "kpitrack-entry-workbook/1"
SALT = "performance.workbook"
META_SHEET = "_kpitrack"
# Excel holds at most 32,767 characters in a cell; the signed layout is split into chunks.
CHUNK = 30_000
TITLE_ROW, HEADER_ROW, FIRST_ROW = 1, 2, 3
KEY_COLUMN = 1
# Read-only columns after the key: goal, indicator, unit of measure, target, state.
FIXED_COLUMNS = 6

NUMBER, CODE, RATING = "number", "code", "rating"
NARRATIVE_FIELDS = ("progress", "benefit", "shortfall_reason", "improvement", "remarks")
NARRATIVE_MAX_LENGTH = 10_000

LOCKED_FILL = PatternFill("solid", fgColor="EEEEEE")
NOT_APPLICABLE_FILL = PatternFill("solid", fgColor="BFBFBF")
INPUT_FILL = PatternFill("solid", fgColor="FFF9DB")


def limit(name: str, default: int) -> int:
    """A workbook limit, overridable in settings (KPITRACK_WORKBOOK_<NAME>)."""
    return getattr(settings, f"KPITRACK_WORKBOOK_{name}", default)


def max_bytes() -> int:
    return limit("MAX_BYTES", 5 * 1024 * 1024)


def max_uncompressed() -> int:
    return limit("MAX_UNCOMPRESSED", 100 * 1024 * 1024)


def max_ratio() -> int:
    # An xlsx of repetitive XML compresses about 10-30×; a bomb compresses thousands of times.
    return limit("MAX_RATIO", 200)


def max_rows() -> int:
    return limit("MAX_ROWS", 20_000)


MAX_MEMBERS = 1_000


# --- the data a workbook is built from and read into -----------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose quarter a workbook is: an agency, one of its units (None: the whole agency)."""

    agency_id: int
    agency_name: str
    unit_id: int | None
    unit_name: str
    year: int
    quarter: int

    def signed_part(self) -> dict:
        return {
            "agency": self.agency_id,
            "unit": self.unit_id,
            "year": self.year,
            "q": self.quarter,
        }


@dataclass(frozen=True)
class InputSpec:
    """One figure a row asks for: its input key, header text and the values it may take."""

    key: str
    header: str
    kind: str = NUMBER  # number, code (ordinal), rating (met / not met)
    minimum: Decimal = -FIGURE_LIMIT
    maximum: Decimal = FIGURE_LIMIT
    decimals: int = 0  # shown in the number format; the cell keeps what is typed


@dataclass(frozen=True)
class RowSpec:
    indicator_id: int
    version: int | None  # the result's version at download; None when there was no result
    goal: str
    name: str
    measure: str  # unit of measure
    target: str
    state: str
    editable: bool
    inputs: tuple[InputSpec, ...]
    figures: dict = field(default_factory=dict)  # input key -> Decimal | None
    narrative: dict = field(default_factory=dict)  # narrative field -> str


@dataclass(frozen=True)
class MilestoneSpec:
    """A target part's 分季目標 on the milestones sheet: the planned values set (None: the
    default, shown beside), editable by the planning office (初核) or 管理者 only."""

    indicator_id: int
    name: str
    part: str  # the target part's key
    label: str
    target: str
    planned: dict  # quarter 1-3 -> Decimal | None
    defaults: dict  # quarter 1-3 -> Decimal | None
    editable: bool


@dataclass(frozen=True)
class Problem:
    """What is wrong, and where: a sheet row and a column (letter and header) when known."""

    message: str
    row: int | None = None
    column: str = ""
    header: str = ""

    def where(self) -> str:
        if self.row is None:
            return ""
        if self.column:
            return _("第 %(row)s 列 %(column)s 欄「%(header)s」") % {
                "row": self.row,
                "column": self.column,
                "header": self.header,
            }
        return _("第 %(row)s 列") % {"row": self.row}

    def __str__(self):
        where = self.where()
        return f"{where}：{self.message}" if where else self.message


class Refused(Exception):
    """The file as a whole cannot be read: nothing in it is looked at further."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class ParsedRow:
    row: int  # the sheet row, as the person sees it
    indicator_id: int
    version: int | None
    figures: dict  # input key -> Decimal | None
    narrative: dict  # narrative field -> str
    columns: dict  # input key or narrative field -> (column letter, header)


@dataclass
class ParsedMilestone:
    row: int  # the milestones sheet's row
    indicator_id: int
    part: str
    values: dict  # quarter (1-3) -> Decimal | None
    columns: dict  # quarter -> (column letter, header)
    problems: list = field(default_factory=list)  # [message, column letter, header]


@dataclass
class Parsed:
    scope: dict  # the signed scope: agency, unit, year, q
    rows: list[ParsedRow]
    problems: list[Problem]
    milestones: list[ParsedMilestone] = field(default_factory=list)

    def to_json(self) -> dict:
        """What the preview keeps for the confirm, so the file is read once (figures exact, as
        text)."""
        return {
            "scope": self.scope,
            "rows": [
                {
                    "row": r.row,
                    "indicator": r.indicator_id,
                    "version": r.version,
                    "figures": {k: None if v is None else str(v) for k, v in r.figures.items()},
                    "narrative": r.narrative,
                    "columns": r.columns,
                }
                for r in self.rows
            ],
            "problems": [[p.message, p.row, p.column, p.header] for p in self.problems],
            "milestones": [
                [
                    m.row,
                    m.indicator_id,
                    m.part,
                    {q: None if v is None else str(v) for q, v in m.values.items()},
                    m.columns,
                    m.problems,
                ]
                for m in self.milestones
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> "Parsed":
        return cls(
            scope=data["scope"],
            rows=[
                ParsedRow(
                    r["row"],
                    r["indicator"],
                    r["version"],
                    {k: None if v is None else Decimal(v) for k, v in r["figures"].items()},
                    r["narrative"],
                    {k: tuple(v) for k, v in r["columns"].items()},
                )
                for r in data["rows"]
            ],
            problems=[Problem(*p) for p in data["problems"]],
            milestones=[
                ParsedMilestone(
                    row,
                    pk,
                    part,
                    {int(q): None if v is None else Decimal(v) for q, v in values.items()},
                    {int(q): tuple(c) for q, c in columns.items()},
                    problems,
                )
                for row, pk, part, values, columns, problems in data.get("milestones", [])
            ],
        )


def narrative_headers() -> dict[str, str]:
    from .models import Result

    return {name: str(Result._meta.get_field(name).verbose_name) for name in NARRATIVE_FIELDS}


def rating_labels() -> dict[str, Decimal]:
    return {_("達成"): Decimal(1), _("未達成"): Decimal(0)}


# --- building ------------------------------------------------------------------------------


def _columns(rows: list[RowSpec]) -> list[tuple[str, str]]:
    """One column per distinct input (header and kind), in order of first appearance; two inputs
    of one indicator with the same header get two columns."""
    columns: list[tuple[str, str]] = []
    for row in rows:
        seen: dict[tuple[str, str], int] = {}
        for spec in row.inputs:
            ident = (spec.header, spec.kind)
            n = seen.get(ident, 0)
            seen[ident] = n + 1
            matches = [i for i, c in enumerate(columns) if c == ident]
            if len(matches) <= n:
                columns.append(ident)
    return columns


def _number_format(spec: InputSpec) -> str:
    """Shows every decimal the server keeps (up to FIGURE_DECIMAL_PLACES): the target's places
    always, the rest when typed. A whole-number target gets General, which shows 90 as 90 and
    90.3 as 90.3 (a `#,##0.####` format would show 90 as "90.")."""
    if spec.kind != NUMBER:
        return "0"
    decimals = min(max(spec.decimals, 0), FIGURE_DECIMAL_PLACES)
    if not decimals:
        return "General"
    return "#,##0." + "0" * decimals + "#" * (FIGURE_DECIMAL_PLACES - decimals)


def _cell_value(spec: InputSpec, value):
    if value is None:
        return None
    if spec.kind == RATING:
        labels = {number: label for label, number in rating_labels().items()}
        return labels.get(value, value)
    # A whole number is written as an int so Excel shows no decimals it does not have.
    return int(value) if value == value.to_integral_value() else value


class _Validations:
    """One DataValidation per distinct rule, with every cell it applies to."""

    def __init__(self, sheet):
        self.sheet = sheet
        self.rules: dict[tuple, DataValidation] = {}

    def add(self, spec: InputSpec, coordinate: str):
        if spec.kind == RATING:
            ident = (RATING,)
            make = lambda: DataValidation(  # noqa: E731
                type="list", formula1='"' + ",".join(rating_labels()) + '"', allow_blank=True
            )
        elif spec.kind == CODE and spec.maximum <= 20:
            ident = (CODE, spec.maximum)
            codes = ",".join(str(n) for n in range(int(spec.minimum), int(spec.maximum) + 1))
            make = lambda: DataValidation(type="list", formula1=f'"{codes}"', allow_blank=True)  # noqa: E731
        else:
            whole = spec.kind == CODE
            ident = (NUMBER, whole, spec.minimum, spec.maximum)
            make = lambda: DataValidation(  # noqa: E731
                type="whole" if whole else "decimal",
                operator="between",
                formula1=str(spec.minimum),
                formula2=str(spec.maximum),
                allow_blank=True,
            )
        rule = self.rules.get(ident)
        if rule is None:
            rule = make()
            rule.showErrorMessage = True
            rule.errorTitle = _("數值不符")
            rule.error = _rule_error(spec)
            # Said before typing too: a cell's validation cannot count decimals.
            rule.showInputMessage = True
            rule.promptTitle = _("可填入的數值")
            rule.prompt = _rule_error(spec)
            self.rules[ident] = rule
            self.sheet.add_data_validation(rule)
        rule.add(coordinate)


def _rule_error(spec: InputSpec) -> str:
    if spec.kind == RATING:
        return _("請選擇「達成」或「未達成」。")
    if spec.kind == CODE:
        return _("請填入 %(low)s 至 %(high)s 的整數等第代碼。") % {
            "low": spec.minimum,
            "high": spec.maximum,
        }
    return _("請填入 %(low)s 至 %(high)s 之間的數值，最多 %(places)s 位小數。") % {
        "low": f"{spec.minimum:,}",
        "high": f"{spec.maximum:,}",
        "places": FIGURE_DECIMAL_PLACES,
    }


def _put(sheet, row: int, column: int, value):
    """A cell holding `value`; text stays text (a name 「=1+1」 is no formula) and loses any
    character XML cannot hold, so text stored before such characters were refused still
    downloads."""
    cell = sheet.cell(row, column, cleaned(value) if isinstance(value, str) else value)
    keep_as_text(cell)
    return cell


def build(
    scope: Scope, rows: list[RowSpec], *, title: str, milestones: list[MilestoneSpec] = ()
) -> bytes:
    """The workbook for `scope` with `rows` (and, when given, a sheet of the indicators'
    分季目標), as xlsx bytes."""
    columns = _columns(rows)
    first_input = FIXED_COLUMNS + 1
    narrative = narrative_headers()
    first_narrative = first_input + len(columns)
    narrative_column = {name: first_narrative + n for n, name in enumerate(NARRATIVE_FIELDS)}
    last_column = first_narrative + len(NARRATIVE_FIELDS) - 1

    book = Workbook()
    sheet = book.active
    sheet.title = _("填報")
    sheet.sheet_properties.tabColor = "1F4E79"
    _put(sheet, TITLE_ROW, 1, str(title)).font = Font(bold=True, size=14)
    sheet.merge_cells(start_row=TITLE_ROW, start_column=1, end_row=TITLE_ROW, end_column=8)
    headers = [
        _("識別碼（請勿修改）"),
        _("策略目標"),
        _("指標名稱"),
        _("衡量單位"),
        _("年度目標值"),
        _("狀態"),
        *(header for header, _kind in columns),
        *(narrative[name] for name in NARRATIVE_FIELDS),
    ]
    for n, text in enumerate(headers, start=1):
        cell = _put(sheet, HEADER_ROW, n, str(text))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.fill = LOCKED_FILL
    validations = _Validations(sheet)
    layout = []
    for offset, row in enumerate(rows):
        r = FIRST_ROW + offset
        fixed = [row.indicator_id, row.goal, row.name, row.measure, row.target, row.state]
        for n, value in enumerate(fixed, start=1):
            cell = _put(sheet, r, n, value)
            cell.fill = LOCKED_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        placed = {}
        seen: dict[tuple[str, str], int] = {}
        for spec in row.inputs:
            ident = (spec.header, spec.kind)
            n = seen.get(ident, 0)
            seen[ident] = n + 1
            index = [i for i, c in enumerate(columns) if c == ident][n]
            column = first_input + index
            placed[column] = spec
            cell = sheet.cell(r, column, _cell_value(spec, row.figures.get(spec.key)))
            cell.number_format = _number_format(spec)
            if row.editable:
                cell.protection = Protection(locked=False)
                cell.fill = INPUT_FILL
                validations.add(spec, cell.coordinate)
            else:
                cell.fill = LOCKED_FILL
        for index in range(len(columns)):
            if first_input + index not in placed:
                sheet.cell(r, first_input + index).fill = NOT_APPLICABLE_FILL
        for name, column in narrative_column.items():
            cell = _put(sheet, r, column, row.narrative.get(name) or None)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if row.editable:
                cell.protection = Protection(locked=False)
                cell.fill = INPUT_FILL
            else:
                cell.fill = LOCKED_FILL
        layout.append([row.indicator_id, row.version, [_placed(s, c) for c, s in placed.items()]])
    widths = [8, 24, 30, 10, 24, 10, *([14] * len(columns)), *([30] * len(NARRATIVE_FIELDS))]
    for n, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    sheet.column_dimensions[get_column_letter(KEY_COLUMN)].hidden = True
    sheet.freeze_panes = sheet.cell(FIRST_ROW, first_input)
    sheet.protection.sheet = True
    # Protection guards against slips, not people: the server reads only the signed input cells.
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    fit_rows(sheet, min_row=HEADER_ROW)
    # Every printed page names its rows: the goal and indicator beside the input columns.
    print_setup(sheet, title_rows=f"{HEADER_ROW}:{HEADER_ROW}", title_columns="B:C")

    milestone_layout = None
    if milestones:
        milestone_layout = _milestone_sheet(book.create_sheet(_("分季目標")), milestones)
    _instructions(book.create_sheet(_("說明")), scope, last_column)
    payload = {
        "format": FORMAT,
        **scope.signed_part(),
        "rows": layout,
        "narrative": narrative_column,
        "max_column": last_column,
    }
    if milestone_layout is not None:
        payload["milestones"] = milestone_layout
    _write_signed(book, signing.dumps(payload, salt=SALT, compress=True))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# The milestones sheet: hidden indicator id and part key, then what the row is, then Q1-Q3.
MILESTONE_SHEET_INDEX = 1
MILESTONE_FIRST_QUARTER_COLUMN = 6
MILESTONE_COLUMNS = 9


def _milestone_sheet(sheet, specs: list[MilestoneSpec]) -> dict:
    """Fills the milestones sheet; its signed layout: each row's indicator and part."""
    headers = [
        _("識別碼（請勿修改）"),
        _("目標項目代號（請勿修改）"),
        _("指標名稱"),
        _("目標項目"),
        _("年度目標值"),
        *(_("第%(q)s季預定進度") % {"q": q} for q in (1, 2, 3)),
        _("預設值（第1至第3季，留空時採用）"),
    ]
    _put(sheet, TITLE_ROW, 1, _("分季目標（各季累計預定進度；第4季即為年度目標值）")).font = Font(
        bold=True, size=14
    )
    for n, text in enumerate(headers, start=1):
        cell = _put(sheet, HEADER_ROW, n, str(text))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.fill = LOCKED_FILL
    layout = []
    for offset, spec in enumerate(specs):
        r = FIRST_ROW + offset
        defaults = "、".join(
            "—" if spec.defaults.get(q) is None else str(_plain_figure(spec.defaults[q]))
            for q in (1, 2, 3)
        )
        fixed = [spec.indicator_id, spec.part, spec.name, spec.label, spec.target]
        for n, value in enumerate(fixed, start=1):
            cell = _put(sheet, r, n, value)
            cell.fill = LOCKED_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for q in (1, 2, 3):
            cell = sheet.cell(r, MILESTONE_FIRST_QUARTER_COLUMN + q - 1, spec.planned.get(q))
            cell.number_format = "#,##0.####"
            if spec.editable:
                cell.protection = Protection(locked=False)
                cell.fill = INPUT_FILL
            else:
                cell.fill = LOCKED_FILL
        _put(sheet, r, MILESTONE_COLUMNS, defaults).fill = LOCKED_FILL
        layout.append([spec.indicator_id, spec.part])
    for n, width in enumerate([8, 8, 30, 20, 14, 14, 14, 14, 24], start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    sheet.column_dimensions["A"].hidden = True
    sheet.column_dimensions["B"].hidden = True
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False
    fit_rows(sheet, min_row=HEADER_ROW)
    return {"index": MILESTONE_SHEET_INDEX, "rows": layout}


def _plain_figure(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)


def _placed(spec: InputSpec, column: int) -> list:
    """An input cell in the signed layout: its key and column, and what it accepts, so the
    reader refuses a value with the bounds the server would (every problem in one preview)."""
    return [spec.key, column, spec.kind, str(spec.minimum), str(spec.maximum)]


def _instructions(sheet, scope: Scope, last_column: int):
    lines = [
        _("填報說明"),
        "",
        _(
            "1. 請在「填報」工作表的淡黃色儲存格填入本季累計的數值與文字；"
            "灰色儲存格為唯讀或不適用。"
        ),
        _("2. 數值請直接輸入數字（可含小數，最多 4 位），不可輸入公式、文字或單位。"),
        _("3. 等第代碼與「達成／未達成」請由下拉選單選擇。"),
        _(
            "4. 送出時，第1至第3季落後分季目標（預定進度）、第4季未達年度目標值者，"
            "「未達成原因」與「改善措施」必須填寫；草稿可先儲存。"
            "「分季目標」工作表列出各季預定進度，僅初核或管理者可修改。"
        ),
        _("5. 請勿修改、刪除或搬移第一欄（已隱藏的識別碼），也不要新增工作表或列。"),
        _(
            "6. 填好後回到 kpitrack 的「Excel 填報」頁面上傳；"
            "系統會先列出每一列將修改的內容與問題，"
            "確認後才會寫入，且全部寫入或全部不寫入。"
        ),
        _(
            "7. 已送出、已核定或已鎖定的成果不能以活頁簿修改；"
            "下載後他人已修改的資料會被拒絕，請重新下載。"
        ),
        _("8. 此活頁簿只能上傳到同一單位、年度與季別；其他單位或期間的活頁簿會被拒絕。"),
    ]
    for n, text in enumerate(lines, start=1):
        cell = sheet.cell(n, 1, text)
        cell.alignment = Alignment(wrap_text=True)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.column_dimensions["A"].width = 100
    fit_rows(sheet)
    sheet.protection.sheet = True


def _write_signed(book: Workbook, signed: str):
    meta = book.create_sheet(META_SHEET)
    meta.sheet_state = "veryHidden"
    meta.cell(1, 1, FORMAT)
    for n in range(0, len(signed), CHUNK):
        meta.cell(2 + n // CHUNK, 1, signed[n : n + CHUNK])
    meta.protection.sheet = True


# --- reading -------------------------------------------------------------------------------


def too_big(size: int) -> Problem:
    return Problem(
        _("檔案太大（%(size)s 位元組），上限為 %(limit)s 位元組。")
        % {"size": f"{size:,}", "limit": f"{max_bytes():,}"}
    )


# The start of every OLE2 compound file: an Excel 97-2003 workbook (.xls) is one.
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OTHER_SPREADSHEETS = {".ods": "OpenDocument", ".fods": "OpenDocument", ".xls": "Excel 97-2003"}


def _save_as_xlsx(kind: str) -> Problem:
    """A spreadsheet of another format: say what it is and how to make it one we read."""
    return Problem(
        _(
            "這是 %(kind)s 格式的試算表，系統只能讀取 Excel 活頁簿（.xlsx）。"
            "請在試算表程式中以「另存新檔」選擇「Excel 活頁簿（.xlsx）」格式儲存後再上傳。"
        )
        % {"kind": kind}
    )


def check_archive(data: bytes, *, name: str = "") -> None:
    """Refuses a file that is not a plain xlsx of a sane size, looking only at the zip
    directory: nothing is decompressed here."""
    if not data:
        raise Refused([Problem(_("檔案是空的。"))])
    if len(data) > max_bytes():
        raise Refused([too_big(len(data))])
    if name.lower().endswith((".xlsm", ".xltm", ".xlam")):
        raise Refused([Problem(_("不接受含巨集的活頁簿（.xlsm），請另存為 .xlsx 後上傳。"))])
    suffix = "." + name.lower().rpartition(".")[2] if "." in name else ""
    if data.startswith(OLE2_MAGIC):
        raise Refused([_save_as_xlsx(OTHER_SPREADSHEETS[".xls"])])
    if suffix in OTHER_SPREADSHEETS:
        raise Refused([_save_as_xlsx(OTHER_SPREADSHEETS[suffix])])
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise Refused([Problem(_("這不是 Excel 活頁簿（.xlsx）檔案。"))])
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Refused([Problem(_("這不是 Excel 活頁簿（.xlsx）檔案。"))]) from None
    names = {m.filename for m in members}
    if "content.xml" in names and "xl/workbook.xml" not in names:
        # An OpenDocument file renamed .xlsx: known from its directory, nothing read.
        raise Refused([_save_as_xlsx(OTHER_SPREADSHEETS[".ods"])])
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise Refused([Problem(_("這不是 Excel 活頁簿（.xlsx）檔案。"))])
    try:
        # The one check of a zip's directory, shared with evidence uploads.
        check_directory(
            members,
            max_members=MAX_MEMBERS,
            max_uncompressed=max_uncompressed(),
            max_ratio=max_ratio(),
        )
    except UnsafeArchive as exc:
        raise Refused([Problem(_archive_messages()[exc.reason])]) from None


def _archive_messages() -> dict[str, str]:
    return {
        "macros": _("不接受含巨集的活頁簿（.xlsm），請另存為 .xlsx 後上傳。"),
        "members": _("活頁簿的內容結構異常（檔案數過多），已拒絕。"),
        "size": _("活頁簿解壓縮後過大，可能是壓縮炸彈，已拒絕。"),
        "ratio": _("活頁簿的壓縮比異常，可能是壓縮炸彈，已拒絕。"),
    }


def _read_signed(book) -> dict:
    if META_SHEET not in book.sheetnames:
        raise Refused(
            [
                Problem(
                    _(
                        "這不是 kpitrack 下載的填報活頁簿（找不到識別資料），"
                        "請使用本系統下載的範本。"
                    )
                )
            ]
        )
    values = [row[0] for row in book[META_SHEET].iter_rows(max_col=1, values_only=True)]
    if not values or values[0] != FORMAT:
        raise Refused([Problem(_("這不是此版本 kpitrack 的填報活頁簿，請重新下載範本。"))])
    signed = "".join(v for v in values[1:] if isinstance(v, str))
    try:
        payload = signing.loads(signed, salt=SALT)
    except signing.BadSignature:
        raise Refused(
            [Problem(_("活頁簿的識別資料與簽章不符（可能被修改過），請重新下載範本後再填寫。"))]
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise Refused([Problem(_("這不是此版本 kpitrack 的填報活頁簿，請重新下載範本。"))])
    return payload


def _is_formula(cell) -> bool:
    # Read with data_only=False, a formula arrives typed "f" with its text ("=A1*2") or, for
    # array and data-table formulas, as openpyxl's object for them. Text that merely starts
    # with "=" (a narrative 「=(A-B)/B」 as downloaded) is typed "s" and stays text.
    if isinstance(cell.value, ArrayFormula | DataTableFormula):
        return True
    return cell.data_type == "f"


def read(data: bytes, *, name: str = "") -> Parsed:
    """The rows of an entry workbook with their figures parsed; every problem of a cell or a
    row is listed (with its row and column), a problem of the whole file raises Refused."""
    check_archive(data, name=name)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise Refused([Problem(_("無法讀取這個活頁簿，檔案可能已損壞。"))]) from None
    try:
        payload = _read_signed(book)
        sheet = book.worksheets[0]
        parsed = _read_rows(sheet, payload)
        if "milestones" in payload:
            signed = payload["milestones"]
            _read_milestones(book.worksheets[signed["index"]], signed["rows"], parsed)
        return parsed
    except (ParseError, DefusedXmlException):
        # A read-only workbook parses its sheet while the rows are read, so a damaged or hostile
        # sheet (an entity bomb: defusedxml refuses it, or expat's own amplification limit does
        # without it) surfaces here, not at load_workbook.
        raise Refused([Problem(_("無法讀取這個活頁簿，檔案可能已損壞。"))]) from None
    finally:
        book.close()


def _read_rows(sheet, payload: dict) -> Parsed:
    layout = {entry[0]: entry for entry in payload["rows"]}
    narrative_column = {name: int(c) for name, c in payload["narrative"].items()}
    max_column = payload["max_column"]
    headers: dict[int, str] = {}
    named: dict[int, tuple[str, str]] = {}
    rows, problems, seen = [], [], {}
    limit_rows = max_rows()
    declared = getattr(sheet, "max_row", None)
    if declared and declared - FIRST_ROW + 1 > limit_rows:
        raise Refused([_too_many_rows(limit_rows)])
    rows_read = sheet.iter_rows(min_row=HEADER_ROW, max_col=max_column)
    for r, row_cells in enumerate(rows_read, HEADER_ROW):
        cells = [cell.value for cell in row_cells]
        if r == HEADER_ROW:
            headers = {n: str(v or "") for n, v in enumerate(cells, start=1)}
            # Each column's letter and header, worked out once rather than for every cell.
            named = {
                n: (get_column_letter(n), headers.get(n, "")) for n in range(1, max_column + 1)
            }
            continue
        if r - FIRST_ROW + 1 > limit_rows:
            raise Refused([_too_many_rows(limit_rows)])
        by_column = dict(enumerate(cells, start=1))
        by_cell = dict(enumerate(row_cells, start=1))
        key = by_column.get(KEY_COLUMN)
        if key is None or key == "":
            if any(v not in (None, "") for v in cells):
                problems.append(Problem(_("這一列沒有識別碼，不是下載時的列；請勿新增列。"), row=r))
            continue
        entry = layout.get(key) if isinstance(key, int) else None
        if entry is None:
            problems.append(
                Problem(
                    _("識別碼「%(key)s」不屬於這份活頁簿的單位、年度與季別。") % {"key": key},
                    row=r,
                )
            )
            continue
        if key in seen:
            problems.append(
                Problem(
                    _("與第 %(other)s 列是同一個指標，一個指標只能有一列。") % {"other": seen[key]},
                    row=r,
                )
            )
            continue
        seen[key] = r
        indicator_id, version, placed = entry
        parsed = ParsedRow(r, indicator_id, version, {}, {}, {})
        for input_key, column, *accepts in placed:
            letter, header = parsed.columns[input_key] = named[column]
            value, problem = _figure(by_cell.get(column), header, accepts)
            if problem:
                problems.append(Problem(problem, row=r, column=letter, header=header))
            else:
                parsed.figures[input_key] = value
        for field_name, column in narrative_column.items():
            letter, header = parsed.columns[field_name] = named[column]
            text, problem = _text(by_cell.get(column))
            if problem:
                problems.append(Problem(problem, row=r, column=letter, header=header))
            else:
                parsed.narrative[field_name] = text
        used = {c for _k, c, *_accepts in placed} | set(narrative_column.values())
        for column in range(FIXED_COLUMNS + 1, max_column + 1):
            value = by_column.get(column)
            if column not in used and value not in (None, ""):
                problems.append(
                    Problem(
                        _("此欄不適用於這個指標，請清空。"),
                        row=r,
                        column=get_column_letter(column),
                        header=headers.get(column, ""),
                    )
                )
        rows.append(parsed)
    scope = {k: payload[k] for k in ("agency", "unit", "year", "q")}
    return Parsed(scope=scope, rows=rows, problems=problems)


def _read_milestones(sheet, signed_rows: list, parsed: Parsed) -> None:
    """The milestones sheet's planned values, for the (indicator, part) pairs it was built with;
    a cell's problem is kept on its row (`ParsedMilestone.problems`), a row's on the file,
    naming the sheet (the entry sheet's row numbers are other rows)."""
    known = {(pk, part) for pk, part in signed_rows}
    headers: dict[int, str] = {}
    seen = {}
    for r, row_cells in enumerate(
        sheet.iter_rows(min_row=HEADER_ROW, max_col=MILESTONE_COLUMNS), HEADER_ROW
    ):
        by_cell = dict(enumerate(row_cells, start=1))
        values = {n: c.value for n, c in by_cell.items()}
        if r == HEADER_ROW:
            headers = {n: str(v or "") for n, v in values.items()}
            continue
        if r - FIRST_ROW + 1 > max_rows():
            raise Refused([_too_many_rows(max_rows())])
        key = (values.get(1), values.get(2))
        if key[0] in (None, ""):
            if any(v not in (None, "") for v in values.values()):
                parsed.problems.append(
                    Problem(
                        _("「分季目標」工作表第 %(row)s 列沒有識別碼，請勿新增列。") % {"row": r}
                    )
                )
            continue
        if key not in known or key in seen:
            parsed.problems.append(
                Problem(_("「分季目標」工作表第 %(row)s 列的識別碼不是下載時的內容。") % {"row": r})
            )
            continue
        seen[key] = r
        milestone = ParsedMilestone(r, key[0], key[1], {}, {})
        for q in (1, 2, 3):
            column = MILESTONE_FIRST_QUARTER_COLUMN + q - 1
            letter, header = get_column_letter(column), headers.get(column, "")
            milestone.columns[q] = (letter, header)
            value, problem = _figure(by_cell.get(column), header, (NUMBER, "0", str(FIGURE_LIMIT)))
            if problem:
                milestone.problems.append([problem, letter, header])
            else:
                milestone.values[q] = value
        parsed.milestones.append(milestone)


def _too_many_rows(limit_rows: int) -> Problem:
    return Problem(_("活頁簿的列數超過上限 %(limit)s 列。") % {"limit": f"{limit_rows:,}"})


def _typed(value) -> str:
    """A cell's value as the person typed it: a float through its shortest repr, 5 not 5.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _figure(cell, header: str, accepts=()):
    """(value, None) or (None, message) for an input cell; `accepts` is the signed layout's
    kind, minimum and maximum of the input (absent in an older workbook)."""
    value = None if cell is None else cell.value
    if value is None or value == "":
        return None, None
    if _is_formula(cell):
        return None, _("不可使用公式，請直接填入數值。")
    if isinstance(value, str):
        labels = rating_labels()
        # A rating's list value, in either language the workbook may have been built in.
        for label, number in [*labels.items(), ("達成", Decimal(1)), ("未達成", Decimal(0))]:
            if value.strip() == label:
                return number, None
    if not isinstance(value, int | float | Decimal | str) or isinstance(value, bool):
        return None, _("「%(text)s」不是數字，請輸入例如 1234 或 1,234.5 的數值。") % {
            "text": value
        }
    kind, low, high = NUMBER, -FIGURE_LIMIT, FIGURE_LIMIT
    if len(accepts) == 3:
        kind, low, high = accepts[0], Decimal(accepts[1]), Decimal(accepts[2])
    typed = _typed(value)
    try:
        number = parse_figure(value)
    except FigureError as exc:
        if exc.code in ("not_a_number", "not_finite"):
            return None, figure_error_message(exc)
        number = None  # too many decimals or too large for any input
    if number is None or not low <= number <= high:
        places = FIGURE_DECIMAL_PLACES if kind == NUMBER else None
        return None, figure_bounds_message(typed, low, high, places=places)
    if kind == CODE and number != number.to_integral_value():
        return None, _("「%(text)s」不是整數的等第代碼（%(low)s 至 %(high)s）。") % {
            "text": typed,
            "low": f"{low:,}",
            "high": f"{high:,}",
        }
    if kind == RATING and number not in (0, 1):
        return None, _("「%(text)s」不符：請選擇「達成」或「未達成」。") % {"text": typed}
    return number, None


def _text(cell):
    value = None if cell is None else cell.value
    if value is None:
        return "", None
    if _is_formula(cell):
        return "", _("不可使用公式，請直接填入文字。")
    text = value if isinstance(value, str) else str(value)
    if len(text) > NARRATIVE_MAX_LENGTH:
        return "", _("文字過長（%(length)s 字），上限為 %(limit)s 字。") % {
            "length": f"{len(text):,}",
            "limit": f"{NARRATIVE_MAX_LENGTH:,}",
        }
    return text.strip(), None
