"""A manager's path through the dashboards in Debian's chromium, at desktop width and on a
390 px phone, with axe's WCAG 2.1 AA checks and a screenshot of each page in test-artifacts/."""

import pytest

from tests.browser.test_pages import _axe
from tests.conftest import seeded

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_manager_opens_the_overview_filters_and_drills_into_an_indicator(
    live_server, chromium, artifacts, django_user_model, viewport
):
    seeded()  # a transactional test may start from a flushed database
    from budget.models import Agency, Membership
    from budget.services import membership_create

    mia = django_user_model.objects.create_user("mia", "mia@example.org", "mia-password-1")
    # A manager who reads the ministry, and so every agency under it (檢視).
    membership_create(
        member=mia,
        agency=Agency.objects.get(code="moi"),
        role=Membership.Role.VIEWER,
        user=None,
        reason="測試：檢視內政部",
    )
    page = chromium.new_page(locale="zh-TW", viewport=VIEWPORTS[viewport])

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "mia")
    page.fill("#id_password", "mia-password-1")
    with page.expect_navigation(wait_until="load"):
        page.click("main button[type=submit]")

    page.goto(f"{live_server.url}/dashboards/nia/")
    assert "民國101年（2012） 績效概況" in page.inner_text("h1")
    assert "資料截至第2季" in page.inner_text("main")
    page.screenshot(path=str(artifacts / f"dashboard-overview-{viewport}.png"), full_page=True)
    _axe(page)
    # Nothing wider than the screen: tables scroll in their own box or become cards.
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["width"]

    page.click("text=查看全部指標")
    page.select_option("#filter-light", "green")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**light=green**")
    # Six green through Q2, each quarter judged against its milestone (issue 17): repatriation,
    # yellow against the year, is ahead of its Q2 milestone.
    assert "符合條件的指標共 6 項" in page.inner_text("main")
    page.screenshot(path=str(artifacts / f"dashboard-table-{viewport}.png"), full_page=True)
    _axe(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["width"]

    page.click("text=外籍專業人士申請核發就業PASS卡")
    page.wait_for_url("**/indicators/pass-card/**")
    assert page.locator("svg.chart title").count() == 2
    assert "103.13%" in page.inner_text("main")
    page.screenshot(path=str(artifacts / f"dashboard-indicator-{viewport}.png"), full_page=True)
    _axe(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["width"]
