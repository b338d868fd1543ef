"""Download, fill and read entry workbooks in tests, the way a person's Excel would."""

import io

from openpyxl import load_workbook

from performance import workbook as wb
from performance.workbook_import import build_for


def download(user, flow, *, unit="default", quarter=None) -> bytes:
    return build_for(
        user,
        agency=flow.agency,
        unit=flow.unit if unit == "default" else unit,
        year=flow.year,
        quarter=quarter or flow.quarter,
    )


def fill(data: bytes, values: dict) -> bytes:
    """`values` maps (indicator, header) to what is typed in that cell."""
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    headers = {cell.value: cell.column for cell in sheet[wb.HEADER_ROW]}
    rows = {sheet.cell(r, wb.KEY_COLUMN).value: r for r in range(wb.FIRST_ROW, sheet.max_row + 1)}
    for (indicator, header), value in values.items():
        sheet.cell(rows[indicator.pk], headers[header], value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
