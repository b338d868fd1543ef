"""The quarterly workflow in Debian's chromium, with axe's WCAG 2.1 AA checks on every page:
`staff` enters a quarter, `head` submits it (only a unit head submits), `planner` returns it
with a comment, `staff` fixes it, `head` submits again, `planner` and `director` approve it, and
the approved figure appears on the achievements page and in the year's report."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from tests.browser.test_pages import WCAG_AA, browser_page  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "kpitrack-demo"
YEAR, QUARTER = 2013, 4
INDICATOR = "intl-cooperation"  # 洽談次數 (target 90) and 正面回應國家數 (target 4)


def _axe(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()


def _log_in(page, base, username):
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.click("main button[type=submit]")


def _open_entry(page, base, indicator):
    page.goto(f"{base}/work/{indicator.pk}/q{QUARTER}/")
    _axe(page)


def test_a_quarter_goes_from_entry_to_approval(
    live_server,
    browser_page,  # noqa: F811
    artifacts,
    monkeypatch,
):
    from budget.models import Agency, Unit
    from performance.models import Indicator, Result
    from performance.services import entry_exception_grant
    from tests.conftest import seeded

    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    seeded()
    call_command("ensure_demo_users")
    admin = get_user_model().objects.get(username="demo")
    nia = Agency.objects.get(code="nia")
    indicator = Indicator.objects.get(goal__agency=nia, goal__year=YEAR, code=INDICATOR)
    # FY2013 is history: the demo opens the quarter as an administrator's exception would.
    entry_exception_grant(
        agency=nia,
        unit=Unit.objects.get(pk=indicator.responsible_unit_id),
        year=YEAR,
        quarter=QUARTER,
        until=timezone.localdate() + timedelta(days=7),
        user=admin,
        reason="示範：開放 102 年第 4 季填報",
    )
    page, base = browser_page, live_server.url
    page.set_viewport_size({"width": 390, "height": 844})  # a phone

    # staff: My work lists the indicator; the entry form previews as figures are typed.
    _log_in(page, base, "staff")
    page.goto(f"{base}/work/?year={YEAR}&quarter={QUARTER}")
    _axe(page)
    page.screenshot(path=str(artifacts / "flow-1-my-work.png"), full_page=True)
    page.click(f"text={indicator.name}")
    page.wait_for_url(f"**/work/{indicator.pk}/q{QUARTER}/")
    _axe(page)
    page.fill("#id_f_talks", "95")
    page.fill("#id_f_countries", "5")
    page.locator("[data-testid=rate]").filter(has_text="105.56%").wait_for()
    assert "綠燈" in page.inner_text("[data-testid=light]")
    page.fill("#id_progress", "與 5 國完成洽談。")
    page.screenshot(path=str(artifacts / "flow-2-entry-preview.png"), full_page=True)
    _axe(page)
    with page.expect_navigation(wait_until="load"):
        page.click("button[value=save]")
    assert "草稿已儲存" in page.inner_text("main")
    assert page.inner_text("[data-testid=state]") == "草稿"
    _axe(page)

    # A bad figure is answered next to its field and saves nothing.
    page.fill("#id_f_talks", "九十")
    with page.expect_navigation(wait_until="load"):
        page.click("button[value=save]")
    assert "不是數字" in page.inner_text("#id_f_talks_error")
    assert page.get_attribute("#id_f_talks", "aria-invalid") == "true"
    _axe(page)

    # head submits.
    _log_in(page, base, "head")
    _open_entry(page, base, indicator)
    with page.expect_navigation(wait_until="load"):
        page.click("button[value=submit]")
    assert page.inner_text("[data-testid=state]") == "已送出"

    # planner returns it with a comment.
    _log_in(page, base, "planner")
    _open_entry(page, base, indicator)
    page.fill("#id_comment", "洽談次數請依會議紀錄更正為 100 次。")
    with page.expect_navigation(wait_until="load"):
        page.click("button[value=return]")
    assert page.inner_text("[data-testid=state]") == "退回"
    _axe(page)

    # staff sees the comment and fixes the figure; head submits again.
    _log_in(page, base, "staff")
    _open_entry(page, base, indicator)
    assert "更正為 100 次" in page.inner_text("[data-testid=returned-comment]")
    page.screenshot(path=str(artifacts / "flow-3-returned.png"), full_page=True)
    page.fill("#id_f_talks", "100")
    page.locator("[data-testid=rate]").filter(has_text="111.11%").wait_for()
    with page.expect_navigation(wait_until="load"):
        page.click("button[value=save]")
    _log_in(page, base, "head")
    _open_entry(page, base, indicator)
    with page.expect_navigation(wait_until="load"):
        page.click("button[value=submit]")

    # planner, then director approve.
    steps = (("planner", "初核通過", "初核通過"), ("director", "核定", "已核定"))
    for username, button, state in steps:
        _log_in(page, base, username)
        _open_entry(page, base, indicator)
        with page.expect_navigation(wait_until="load"):
            page.click(f"form.review button:text-is('{button}')")
        assert page.inner_text("[data-testid=state]") == state
        _axe(page)
    page.screenshot(path=str(artifacts / "flow-4-approved.png"), full_page=True)
    assert Result.objects.get(indicator=indicator, quarter=QUARTER).state == "approved"

    # The approved figure is on the achievements page and in the year's report.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/achievements/?year={YEAR}&quarter={QUARTER}")
    assert "111.11%" in page.inner_text("main")
    _axe(page)
    page.goto(f"{base}/reports/nia/performance/{YEAR}/")
    assert "111.11%" in page.inner_text("main")
    page.screenshot(path=str(artifacts / "flow-5-report.png"))
    _axe(page)
