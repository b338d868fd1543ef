"""The review queue in Debian's chromium, on a 390 px phone and on a desktop: a planner ticks
every submitted result but one, approves them at once, and returns that one with a comment.
Each page checked with axe's WCAG 2.1 AA rules, read without sideways scrolling, its controls
big enough for a thumb (44 px), and photographed to test-artifacts/."""

from decimal import Decimal

import pytest

from .test_pages import _axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
THUMB = 44


@pytest.fixture(params=list(SIZES))
def screen(request, chromium):
    return request.param, chromium.new_page(locale="zh-TW", viewport=SIZES[request.param])


def _check(page, artifacts, size, name):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[size]["width"], f"{page.url} is {width}px wide"
    _axe(page)
    page.screenshot(path=str(artifacts / f"review-queue-{size}-{name}.png"), full_page=True)


def _thumb_sized(locator):
    box = locator.bounding_box()
    assert box["height"] >= THUMB and box["width"] >= THUMB, box


def _submitted(indicator, user, value):
    from performance.services import result_save_draft, result_submit

    result = result_save_draft(
        indicator=indicator,
        quarter=1,
        figures={"value": Decimal(value)},
        narrative={"progress": "辦理中", "shortfall_reason": "人力不足", "improvement": "增派人力"},
        expected_version=None,
        user=user,
    )
    return result_submit(result=result, expected_version=result.version, user=user)


def test_a_planner_approves_all_but_one_and_returns_it(
    live_server, screen, artifacts, django_user_model
):
    from budget.models import Membership
    from budget.services import membership_create
    from performance.models import Result
    from tests.conftest import make_alice
    from tests.performance.conftest import build_workflow
    from tests.performance.test_review_queue import _extra

    size, page = screen
    alice = make_alice()
    workflow = build_workflow(alice)
    indicators = [workflow.count, workflow.elsewhere, *_extra(workflow, alice, 3, both_units=True)]
    results = [_submitted(i, alice, str(10 * (n + 1))) for n, i in enumerate(indicators)]
    keep = results[2]
    planner = django_user_model.objects.create_user("planner", password="planner-password")
    membership_create(
        member=planner,
        agency=workflow.agency,
        role=Membership.Role.PLANNER,
        user=None,
        reason="測試",
    )

    page.goto(f"{live_server.url}/accounts/login/?next=/review/")
    page.fill("#id_username", "planner")
    page.fill("#id_password", "planner-password")
    page.click("main button[type=submit]")
    page.wait_for_url(f"**/review/{workflow.agency.code}/")
    assert page.locator("[data-testid=queue-row]").count() == len(results)
    assert "民國" in page.inner_text("#q-year")  # the year reads in the ROC calendar
    _check(page, artifacts, size, "listed")

    # Each unit's results ticked at once (a static script), then the one to keep unticked.
    units = page.locator("button[data-tick-unit]")
    assert units.count() == 2
    for n in range(units.count()):
        _thumb_sized(units.nth(n))
        units.nth(n).click()
    assert page.locator("input[name=result]:checked").count() == len(results)
    label = page.locator(f"label[for=pick-{keep.pk}]")
    _thumb_sized(label)
    label.click()
    assert page.locator("input[name=result]:checked").count() == len(results) - 1
    approve = page.locator("[data-testid=approve-selected]")
    _thumb_sized(approve)
    with page.expect_navigation(wait_until="load"):
        approve.click()
    assert "已初核通過 4 筆成果。" in page.inner_text("main")
    assert page.locator("[data-testid=queue-row]").count() == 1
    _check(page, artifacts, size, "approved")

    summary = page.locator(f"#row-{keep.pk} details.return summary")
    _thumb_sized(summary)
    summary.click()
    page.fill(f"#return-{keep.pk}", "請補充人力調度的佐證")
    _check(page, artifacts, size, "returning")
    with page.expect_navigation(wait_until="load"):
        page.click(f"#row-{keep.pk} details.return button")
    assert page.locator("[data-testid=queue-empty]").count() == 1
    _check(page, artifacts, size, "done")

    states = dict(Result.objects.filter(pk__in=[r.pk for r in results]).values_list("pk", "state"))
    assert states.pop(keep.pk) == Result.State.RETURNED
    assert set(states.values()) == {Result.State.FIRST_APPROVED}
    assert Result.objects.get(pk=keep.pk).review_comment == "請補充人力調度的佐證"
