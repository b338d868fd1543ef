"""The Excel entry pages: choose, download, upload, preview, confirm, over HTTP."""

import io
import zipfile
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from budget.models import Membership
from budget.services import membership_create
from performance.models import Result
from performance.services import result_save_draft

from .workbook_helpers import fill

pytestmark = pytest.mark.django_db

COUNT = "辦理件數（件）"


@pytest.fixture
def uploads(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path / "workbook-uploads"


def _scope(flow, unit="ops") -> dict:
    return {"agency": flow.agency.code, "unit": unit, "year": flow.year, "quarter": flow.quarter}


def _download(client, flow) -> bytes:
    response = client.get(reverse("workbook-download"), _scope(flow))
    assert response.status_code == 200
    return response.content


def _upload(client, flow, data: bytes, name="填報.xlsx", unit="ops"):
    return client.post(
        reverse("workbook-upload"),
        {**_scope(flow, unit), "file": SimpleUploadedFile(name, data)},
    )


def test_the_page_offers_the_units_the_user_enters(client, alice, workflow):
    client.force_login(alice)
    response = client.get(
        reverse("workbook"), {"scope": "wf|ops", "year": workflow.year, "quarter": 1}
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "流程測試署 業務組" in text
    assert "流程測試署 全機關" in text
    assert reverse("workbook-download") in text


def test_it_downloads_the_units_workbook(client, alice, workflow):
    client.force_login(alice)
    response = client.get(reverse("workbook-download"), _scope(workflow))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    assert "filename*=utf-8''" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    names = [sheet.cell(r, 3).value for r in range(3, sheet.max_row + 1)]
    assert names == [workflow.count.name, workflow.ratio.name]  # not the other unit's


def test_download_upload_preview_confirm(client, alice, workflow, uploads):
    client.force_login(alice)
    data = fill(_download(client, workflow), {(workflow.count, COUNT): 150})

    preview = _upload(client, workflow, data)

    text = preview.content.decode()
    assert preview.status_code == 200
    assert f"{COUNT}：（空白） → 150" in text
    assert not Result.objects.filter(indicator=workflow.count).exists()
    token = preview.context["token"]
    assert (uploads / f"{token}.xlsx").read_bytes() == data

    done = client.post(reverse("workbook-confirm"), {"token": token})

    assert done.status_code == 200
    assert "已由「填報.xlsx」寫入 1 列的變更" in done.content.decode()
    result = Result.objects.get(indicator=workflow.count)
    assert result.figures.get().value == Decimal("150")
    assert result.history.first().history_change_reason == "Excel 匯入：填報.xlsx"
    assert list(uploads.iterdir()) == []


def test_a_bad_file_gets_the_problems_and_no_confirm(client, alice, workflow, uploads):
    client.force_login(alice)
    data = fill(_download(client, workflow), {(workflow.count, COUNT): "=1/0"})
    response = _upload(client, workflow, data)
    text = response.content.decode()
    assert response.status_code == 400
    assert "不可使用公式" in text and "第 3 列" not in text  # row and column are table cells
    assert response.context["token"] is None
    assert "確認匯入" not in text
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_a_file_that_is_not_a_workbook_is_refused(client, alice, workflow):
    client.force_login(alice)
    response = _upload(client, workflow, b"%PDF-1.4", name="report.pdf")
    assert response.status_code == 400
    assert "這不是 Excel 活頁簿" in response.content.decode()


def test_the_confirm_is_refused_after_a_change_since_the_preview(client, alice, workflow):
    client.force_login(alice)
    data = fill(_download(client, workflow), {(workflow.count, COUNT): 150})
    token = _upload(client, workflow, data).context["token"]
    result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": Decimal("130")},
        narrative={},
        expected_version=None,
        user=alice,
        reason="表單",
    )
    response = client.post(reverse("workbook-confirm"), {"token": token})
    assert response.status_code == 409
    assert "預覽之後，有列的成果已被其他人修改" in response.content.decode()
    assert Result.objects.get(indicator=workflow.count).figures.get().value == Decimal("130")


def test_another_users_upload_cannot_be_confirmed(client, alice, bob, workflow):
    client.force_login(alice)
    data = fill(_download(client, workflow), {(workflow.count, COUNT): 150})
    token = _upload(client, workflow, data).context["token"]
    client.force_login(bob)
    response = client.post(reverse("workbook-confirm"), {"token": token})
    assert response.status_code == 403
    assert not Result.objects.filter(indicator=workflow.count).exists()


def test_staff_of_another_unit_can_neither_download_nor_upload(client, alice, bob, workflow):
    membership_create(
        member=bob,
        agency=workflow.agency,
        unit=workflow.other_unit,
        role=Membership.Role.STAFF,
        user=alice,
        reason="測試",
    )
    client.force_login(alice)
    data = fill(_download(client, workflow), {(workflow.count, COUNT): 150})
    client.force_login(bob)
    assert client.get(reverse("workbook-download"), _scope(workflow)).status_code == 403
    response = _upload(client, workflow, data)
    assert response.status_code == 403
    assert "您沒有「流程測試署 業務組" in response.content.decode()
    # Uploaded as bob's own unit, it is recognised as another unit's workbook.
    response = _upload(client, workflow, data, unit="admin")
    assert response.status_code == 400
    assert "不是此頁選擇的" in response.content.decode()
    assert not Result.objects.filter(indicator=workflow.count).exists()


def test_the_pages_need_a_login(client, workflow):
    for name in ("workbook", "workbook-download"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_the_planning_office_downloads_the_whole_agency(client, alice, bob, workflow):
    membership_create(
        member=bob, agency=workflow.agency, role=Membership.Role.PLANNER, user=alice, reason="測試"
    )
    client.force_login(bob)
    response = client.get(reverse("workbook-download"), _scope(workflow, unit=""))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    names = {sheet.cell(r, 3).value for r in range(3, sheet.max_row + 1)}
    assert names == {workflow.count.name, workflow.ratio.name, workflow.elsewhere.name}
    assert "全機關" in sheet["A1"].value
    # A unit's workbook is for the people who enter its figures.
    assert client.get(reverse("workbook-download"), _scope(workflow)).status_code == 403


def _ods() -> bytes:
    """The directory of an OpenDocument spreadsheet, as LibreOffice writes it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
        archive.writestr("META-INF/manifest.xml", "<manifest:manifest/>")
    return out.getvalue()


# An Excel 97-2003 file starts as every OLE2 compound file does.
XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504


@pytest.mark.parametrize(
    "name, data, kind",
    [
        ("填報.ods", _ods(), "OpenDocument"),
        ("填報.xlsx", _ods(), "OpenDocument"),  # renamed, still an OpenDocument file
        ("填報.xls", XLS, "Excel 97-2003"),
        ("填報.xlsx", XLS, "Excel 97-2003"),
    ],
)
def test_another_spreadsheet_format_is_refused_saying_to_save_as_xlsx(
    client, alice, workflow, name, data, kind
):
    client.force_login(alice)
    response = _upload(client, workflow, data, name=name)
    text = response.content.decode()
    assert response.status_code == 400
    assert kind in text
    assert "另存新檔" in text and "Excel 活頁簿（.xlsx）" in text


def test_an_upload_changed_since_the_download_is_a_conflict_as_in_the_api(
    client, alice, workflow, uploads
):
    client.force_login(alice)
    data = fill(_download(client, workflow), {(workflow.count, COUNT): 150})
    result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": Decimal("130")},
        narrative={},
        expected_version=None,
        user=alice,
        reason="表單",
    )
    response = _upload(client, workflow, data)
    assert response.status_code == 409
    assert "下載活頁簿後已被修改" in response.content.decode()
    assert response.context["token"] is None


# --- issue 17: reached from the menu and from 我的工作; its year picker reads in ROC years ------


def test_the_year_picker_reads_in_roc_years_and_keeps_the_chosen_one(client, alice, workflow):
    from kpitrack.core.engine.calendar import to_roc

    client.force_login(alice)
    response = client.get(
        reverse("workbook"), {"scope": "wf|ops", "year": workflow.year, "quarter": 1}
    )
    text = response.content.decode()
    roc = to_roc(workflow.year)
    assert (
        f'<option value="{workflow.year}" selected>民國{roc}年（{workflow.year}）</option>' in text
    )
    assert "年度（西元）" not in text


def test_a_bad_year_in_the_address_is_still_a_message(client, alice, workflow):
    client.force_login(alice)
    response = client.get(reverse("workbook"), {"scope": "wf|ops", "year": "abc", "quarter": 1})
    assert "年度必須是西元年的數字" in response.content.decode()


def test_the_menu_links_to_the_workbook(client, alice, workflow):
    client.force_login(alice)
    header = client.get(reverse("my-work")).content.decode().split("</header>")[0]
    assert f'href="{reverse("workbook")}"' in header
