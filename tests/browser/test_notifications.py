"""The bell, the inbox and the completion board in Debian's chromium at 390 px wide (a phone),
with axe's WCAG 2.1 AA checks: the unread count is in words for a screen reader, nothing
overflows sideways, the inbox marks read and the board's 「提醒」 answers with a message."""

from decimal import Decimal

import pytest

from budget.models import Membership
from budget.services import membership_create
from performance.services import result_return, result_save_draft, result_submit
from tests.browser.test_pages import WCAG_AA, browser_page  # noqa: F401  (the fixture)
from tests.performance.conftest import build_workflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "notify-password"


def _axe(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()


def _fits(page):
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, f"the page is {wide} px wide at 390"


def _log_in(page, base, username):
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation(wait_until="load"):
        page.click("main button[type=submit]")


def test_the_bell_inbox_and_board_on_a_phone(
    live_server,
    browser_page,  # noqa: F811
    artifacts,
    django_user_model,
):
    from tests.conftest import make_alice

    alice = make_alice()
    workflow = build_workflow(alice)
    people = {}
    for name, role, unit in (
        ("staff", Membership.Role.STAFF, workflow.unit),
        ("head", Membership.Role.HEAD, workflow.unit),
        ("planner", Membership.Role.PLANNER, None),
    ):
        user = django_user_model.objects.create_user(name, f"{name}@example.org", PASSWORD)
        membership_create(
            member=user, agency=workflow.agency, unit=unit, role=role, user=alice, reason="測試"
        )
        people[name] = user
    result = result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": Decimal("120")},
        narrative={},
        expected_version=None,
        user=people["staff"],
    )
    result = result_submit(result=result, expected_version=result.version, user=people["head"])
    result_return(
        result=result, expected_version=result.version, user=people["planner"], comment="請補充"
    )

    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    base = live_server.url
    _log_in(page, base, "staff")
    page.goto(f"{base}/work/")
    bell = page.get_by_role("link", name="通知，1 則未讀")
    assert bell.is_visible()
    _fits(page)
    with page.expect_navigation(wait_until="load"):
        bell.click()
    assert "/notifications/" in page.url
    assert "已退回修正：請補充" in page.content()
    _axe(page)
    _fits(page)
    page.screenshot(path=str(artifacts / "notify-1-inbox-390.png"), full_page=True)
    with page.expect_navigation(wait_until="load"):
        page.click("text=標為已讀")
    assert page.get_by_role("link", name="通知，0 則未讀").is_visible()

    _log_in(page, base, "planner")
    page.goto(f"{base}/board/")
    page.wait_for_load_state()
    assert "各單位填報進度" in page.content()
    _axe(page)
    _fits(page)
    page.screenshot(path=str(artifacts / "notify-2-board-390.png"), full_page=True)
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("button", name="提醒「秘書室」").click()
    assert "秘書室" in page.get_by_role("status").inner_text()
    _axe(page)
