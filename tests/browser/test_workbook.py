"""The Excel round trip in Debian's chromium: download the workbook, fill it with openpyxl,
upload it, read the preview, confirm; axe's WCAG 2.1 AA checks on every page."""

from decimal import Decimal

import pytest

from performance.models import Result
from tests.browser.test_pages import _axe, browser_page  # noqa: F401 - the fixture
from tests.performance.conftest import build_workflow
from tests.performance.workbook_helpers import fill

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workflow(alice):
    """Written in the test itself, which commits, so that the live server sees it."""
    return build_workflow(alice)


def test_it_downloads_fills_uploads_previews_and_confirms(
    live_server,
    browser_page,  # noqa: F811
    workflow,
    settings,
    tmp_path,
    artifacts,
):
    settings.MEDIA_ROOT = tmp_path / "media"
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password")
    with page.expect_navigation(wait_until="load"):
        page.click("main button[type=submit]")

    page.goto(f"{live_server.url}/workbook/")
    _axe(page)
    page.select_option("#wb-unit", "wf|ops")
    page.select_option("#wb-year", str(workflow.year))
    page.select_option("#wb-quarter", str(workflow.quarter))
    page.click("main form[method=get] button[type=submit]")
    page.wait_for_url("**/workbook/?**")
    assert "流程測試署 業務組" in page.inner_text("main")
    _axe(page)

    with page.expect_download() as download_info:
        page.click("main a[href*='/workbook/download/']")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    filled = tmp_path / "填報.xlsx"
    filled.write_bytes(
        fill(
            open(download.path(), "rb").read(),  # noqa: SIM115 - read once, closed by gc
            {
                (workflow.count, "辦理件數（件）"): 120,
                (workflow.count, "辦理情形"): "已完成",
            },
        )
    )

    page.set_input_files("#wb-file", str(filled))
    page.click("text=上傳並預覽")
    page.wait_for_url("**/workbook/upload/")
    preview = page.inner_text("#preview")
    assert "辦理件數（件）：（空白） → 120" in preview
    assert "辦理情形：（空白） → 已完成" in preview
    assert not Result.objects.filter(indicator=workflow.count).exists()
    page.screenshot(path=str(artifacts / "workbook-preview.png"), full_page=True)
    _axe(page)

    page.click("text=確認匯入")
    page.wait_for_url("**/workbook/confirm/")
    assert "寫入 1 列的變更" in page.inner_text("main")
    _axe(page)
    result = Result.objects.get(indicator=workflow.count, quarter=workflow.quarter)
    assert result.figures.get().value == Decimal("120")
    assert result.history.first().history_change_reason == "Excel 匯入：填報.xlsx"
