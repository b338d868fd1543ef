"""Uploaded workbooks are parsed with defusedxml (openpyxl uses it when it is installed): an XML
entity bomb in a sheet is refused with a message, and nothing is written or kept.

Without defusedxml, openpyxl opens such a file and expat's own amplification limit stops the
expansion later, while the rows are read; the reader turns that into the same refusal (the last
test runs openpyxl without defusedxml: it answered 500 before)."""

import io
import os
import subprocess
import sys
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from performance.models import Result

from .test_workbook_views import COUNT, _download, _scope
from .workbook_helpers import fill

# "Billion laughs": ten entities, each ten of the one before; 10⁹ "lol"s once expanded.
BOMB = (
    '<!DOCTYPE worksheet [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    + "]>"
)


def test_openpyxl_parses_with_defusedxml():
    # A fresh interpreter: what openpyxl decided when it was first imported, as a server starts.
    code = "import openpyxl.xml; print(openpyxl.xml.DEFUSEDXML)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "True", result.stderr


def _with_bomb(data: bytes, part: str, at: str) -> bytes:
    """The workbook with an entity bomb declared in `part` and expanded where `at` was."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            content = source.read(member.filename)
            if member.filename == part:
                text = content.decode()
                assert at in text
                declaration = text[: text.index("?>") + 2] if text.startswith("<?xml") else ""
                body = text[len(declaration) :]
                content = (declaration + BOMB + body.replace(at, "&lol9;", 1)).encode()
            target.writestr(member, content)
    return out.getvalue()


@pytest.mark.django_db
def test_an_entity_bomb_in_a_sheet_is_refused_and_nothing_is_written(
    client, alice, workflow, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(alice)
    data = fill(_download(client, workflow), {(workflow.count, COUNT): 150})
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>150</v>" in sheet
    bomb = _with_bomb(data, "xl/worksheets/sheet1.xml", "<v>150</v>")

    response = client.post(
        reverse("workbook-upload"),
        {**_scope(workflow), "file": SimpleUploadedFile("填報.xlsx", bomb)},
    )

    assert response.status_code == 400
    assert "無法讀取這個活頁簿" in response.content.decode()
    assert response.context["token"] is None
    assert not Result.objects.filter(indicator=workflow.count).exists()
    assert not (tmp_path / "workbook-uploads").exists() or not any(
        (tmp_path / "workbook-uploads").iterdir()
    )


@pytest.mark.django_db
def test_an_entity_bomb_is_refused_even_where_openpyxl_parses_without_defusedxml(
    client, alice, workflow, tmp_path
):
    # openpyxl then parses with the standard library, whose expat stops the expansion only while
    # the rows are read: that must still be a refusal of the file, not a server error.
    client.force_login(alice)
    data = fill(_download(client, workflow), {(workflow.count, COUNT): 150})
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(_with_bomb(data, "xl/worksheets/sheet1.xml", "<v>150</v>"))
    code = (
        "import django, sys; django.setup()\n"
        "import openpyxl.xml; assert openpyxl.xml.DEFUSEDXML is False\n"
        "from performance.workbook import Refused, read\n"
        "try:\n"
        "    read(open(sys.argv[1], 'rb').read(), name='bomb.xlsx')\n"
        "except Refused as exc:\n"
        "    print('refused:', *(p.message for p in exc.problems))\n"
    )
    env = {
        **os.environ,
        "OPENPYXL_DEFUSEDXML": "False",
        "DJANGO_SETTINGS_MODULE": "kpitrack.settings",
        "KPITRACK_ENV_FILE": "",
        "DEBUG": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("refused: 無法讀取這個活頁簿"), result.stdout
