"""The management screens (管理者) in Debian's chromium: a quarter's window, an exception, the
lock and a reopening done through the forms, each page checked with axe's WCAG 2.1 AA rules and
read on a 390 px phone without sideways scrolling."""

import pytest

from .test_pages import ARGS, CHROMIUM, _axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser.new_page(locale="zh-TW", viewport=PHONE)
        browser.close()


def _fits(page):
    """Nothing wider than the phone: the page never scrolls sideways (a wide history table
    scrolls inside its own box)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def _go(page, selector):
    """Click something that loads a new page and wait for it: reading the page while the next
    one is still arriving finds no document (CI once failed on exactly that)."""
    with page.expect_navigation(wait_until="load"):
        page.click(selector)


def _check(page, artifacts, name):
    _fits(page)
    _axe(page)
    page.screenshot(path=str(artifacts / f"manage-{name}.png"), full_page=True)


def test_an_administrator_manages_a_quarter_on_a_phone(
    live_server, phone, artifacts, django_user_model
):
    from budget.models import Agency, Membership
    from budget.services import membership_create
    from performance.models import EntryException, ReportingPeriod, Result
    from tests.conftest import seeded

    seeded()
    admin = django_user_model.objects.create_user("manager", password="manager-password")
    membership_create(
        member=admin,
        agency=Agency.objects.get(code="nia"),
        role=Membership.Role.ADMIN,
        user=None,
        reason="測試",
    )
    page = phone
    page.goto(f"{live_server.url}/accounts/login/?next=/manage/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", "manager-password")
    _go(page, "main button[type=submit]")
    page.wait_for_url("**/manage/")
    _check(page, artifacts, "index")

    _go(page, "main a[href='/manage/nia/']")
    page.select_option("#year", "2012")
    _go(page, "main form button[type=submit]")
    page.wait_for_url("**/manage/nia/?year=2012")
    _check(page, artifacts, "agency")

    _go(page, "main a[href='/manage/nia/2012/q2/']")
    page.wait_for_url("**/manage/nia/2012/q2/")
    page.fill("#id_reason", "")
    page.fill("#id_closes_on", "2012-06-01")
    _go(page, "main form.manage button[type=submit]")
    # Refused: closing before opening, and no reason; both named above the form and at the field.
    assert "填報截止日不可早於填報開始日" in page.inner_text("#form-errors")
    assert "請說明理由" in page.inner_text("#form-errors")
    _check(page, artifacts, "quarter-refused")
    page.fill("#id_closes_on", "2012-08-05")
    page.fill("#id_reason", "配合年度結算延後")
    _go(page, "main form.manage button[type=submit]")
    assert "已更新" in page.inner_text("main")
    _check(page, artifacts, "quarter")
    period = ReportingPeriod.objects.get(agency__code="nia", year=2012, quarter=2)
    assert period.closes_on.isoformat() == "2012-08-05"

    _go(page, "nav.tabs >> text=逾期填報例外")
    page.select_option("#id_unit", label="國際事務組")
    page.fill("#id_until", "2999-12-31")
    page.fill("#id_reason", "系統故障延誤")
    _go(page, "main form.manage button[type=submit]")
    assert "國際事務組" in page.inner_text("main table")
    _check(page, artifacts, "exceptions")
    assert EntryException.objects.filter(unit__name="國際事務組", year=2012, quarter=2).exists()

    _go(page, "nav.tabs >> text=鎖定與解除")
    _check(page, artifacts, "lock")
    page.fill("#id_reason", "年度結算")
    _go(page, "main form.manage button[type=submit]")
    assert "本季已鎖定" in page.inner_text("main")
    assert ReportingPeriod.objects.get(pk=period.pk).locked

    _go(page, "nav.tabs >> text=重新開放已核定成果")
    _check(page, artifacts, "results")
    link = page.locator("main table a[href$='/reopen/']").first
    href = link.get_attribute("href")
    with page.expect_navigation(wait_until="load"):
        link.click()
    page.wait_for_url(f"**{href}")
    _check(page, artifacts, "reopen")
    page.fill("#id_reason", "數字誤植")
    _go(page, "main form.manage button[type=submit]")
    page.wait_for_url("**/results/")
    assert Result.objects.filter(
        indicator__goal__agency__code="nia", state="returned", review_comment="數字誤植"
    ).exists()
