"""The entry workbook as a person sees and prints it: wrapped text in rows tall enough to show
it, the indicator named on every printed page, and what LibreOffice actually prints."""

import io
import shutil
import subprocess
from dataclasses import replace

import pytest
from openpyxl import load_workbook

from performance import workbook as wb

from .test_workbook_file import ROWS, SCOPE

# Ten numbered sentences: the last ones print only if the row grows past its first line.
LONG = "".join(f"第{n}句說明本季辦理情形與後續規劃。" for n in range(1, 11))
LONG_NAME = "提升國境線上查驗與入出境管理服務之整體效能與民眾滿意度指標"


def _sheet(rows=None):
    rows = rows or [replace(ROWS[0], name=LONG_NAME, narrative={"progress": LONG}), *ROWS[1:]]
    return load_workbook(io.BytesIO(wb.build(SCOPE, rows, title="測試"))).worksheets[0]


def test_rows_with_wrapped_text_are_as_tall_as_their_text():
    sheet = _sheet()
    width = sheet.column_dimensions["K"].width  # 辦理情形
    assert sheet["K2"].value == "辦理情形" and sheet["K3"].value == LONG
    height = sheet.row_dimensions[3].height
    # LONG is 170 CJK characters, two width units each, in a column about 30 units wide.
    assert height is not None and height >= 15 * (len(LONG) * 2 // width), height
    assert sheet.row_dimensions[4].height in (None, 15) or sheet.row_dimensions[4].height < height


def test_every_printed_page_names_the_goal_and_indicator_beside_the_inputs():
    sheet = _sheet()
    assert sheet.print_title_cols == "$B:$C"
    assert sheet.print_title_rows == f"${wb.HEADER_ROW}:${wb.HEADER_ROW}"
    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == "9"  # A4


def _pdf_text(tmp_path, data: bytes) -> str:
    source = tmp_path / "workbook.xlsx"
    source.write_bytes(data)
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    result = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "workbook.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    return "".join(result.stdout.split())  # CJK text wraps anywhere: compare without spaces


@pytest.mark.libreoffice
@pytest.mark.skipif(
    not shutil.which("soffice"),
    reason="LibreOffice is not installed: `make test` installs libreoffice-calc-nogui",
)
def test_libreoffice_prints_the_whole_wrapped_narrative(tmp_path):
    rows = [replace(ROWS[0], name=LONG_NAME, narrative={"progress": LONG}), *ROWS[1:]]
    text = _pdf_text(tmp_path, wb.build(SCOPE, rows, title="測試"))
    assert "第1句說明" in text
    assert "第10句說明本季辦理情形與後續規劃" in text, "the narrative is cut to its first lines"
    assert LONG_NAME[-8:] in text, "the indicator name is cut to its first line"
