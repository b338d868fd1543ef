"""A person's path through the site in Debian's chromium, with axe's WCAG 2.1 AA checks."""

import pytest

from .conftest import ARGS, CHROMIUM  # noqa: F401 - imported from here by other modules

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture
def browser_page(chromium):
    """A page of its own, in the module's chromium (tests/browser/conftest.py)."""
    return chromium.new_page(locale="zh-TW", viewport={"width": 1280, "height": 900})


def _axe(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()


def test_it_logs_in_browses_and_opens_reports(
    live_server, browser_page, artifacts, django_user_model
):
    from tests.conftest import seeded

    seeded()  # a transactional test may start from a flushed database
    django_user_model.objects.create_superuser("alice", "alice@example.org", "alice-password")
    page = browser_page

    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    assert page.locator("html").get_attribute("lang") == "zh-Hant-TW"
    _axe(page)

    page.fill("#id_username", "alice")
    page.fill("#id_password", "wrong")
    page.click("main button[type=submit]")
    assert "帳號或密碼錯誤" in page.inner_text("main")

    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password")
    page.click("main button[type=submit]")
    # Signing in opens the newest quarter with approved figures (FY2013 has targets only).
    page.wait_for_url("**/achievements/?year=2012&quarter=2")
    assert "民國101年（2012）" in page.inner_text("h1")
    _axe(page)

    page.select_option("#year", "2013")
    page.click("main form button[type=submit]")
    page.wait_for_url("**year=2013**")
    page.select_option("#year", "2012")
    page.select_option("#quarter", "2")
    page.click("main form button[type=submit]")
    page.wait_for_url("**year=2012**")
    text = page.inner_text("main")
    assert "103.13%" in text
    assert "與重算不符" in text
    page.screenshot(path=str(artifacts / "achievements-2012.png"), full_page=True)
    _axe(page)

    page.click("header >> text=報表")
    page.click("main a >> text=民國102年（2013） >> nth=0")  # a link, not the 季管考 year list
    page.wait_for_url("**/reports/nia/budget/2013/**")
    assert "預算員額說明表" in page.inner_text("main")
    assert page.locator("svg.orgchart title").count() == 1
    page.screenshot(path=str(artifacts / "report-budget-2013.png"))
    _axe(page)

    # The file is made by a background job (issue 16): its page shows the progress, then the
    # download; the job runs in the server's own pool (no broker here).
    page.click("text=Excel 表格")
    page.wait_for_url("**/jobs/*/")
    download = page.locator("main a.download")
    download.wait_for(timeout=120_000)
    _axe(page)
    with page.expect_download() as download_info:
        download.click()
    assert download_info.value.suggested_filename == "入出國及移民署_102年度_預算總說明.xlsx"

    page.select_option("#lang-select", "en")
    with page.expect_navigation(wait_until="load"):
        page.click("header form.lang button")
    assert page.locator("html").get_attribute("lang") == "en"
