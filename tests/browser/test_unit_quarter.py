"""The unit quarter page in Debian's chromium, on a 390 px phone and on a desktop, with axe's
WCAG 2.1 AA checks: two rows filled (one behind its milestone with its reasons, one ahead) and
saved at once; a refused row keeps what was typed while the other is saved; a file attached
to a row before its first save leaves the typed values alone; leaving with unsaved edits asks."""

import pytest
from django.contrib.auth import get_user_model

from tests.browser.test_pages import WCAG_AA, browser_page  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _axe(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("width", [390, 1280], ids=["phone", "desktop"])
def test_a_unit_enters_its_quarter_on_one_page(
    live_server,
    browser_page,  # noqa: F811
    artifacts,
    settings,
    tmp_path,
    width,
):
    from budget.models import Membership
    from budget.services import membership_create
    from performance.models import Evidence, Result
    from tests.conftest import make_alice
    from tests.performance.conftest import build_workflow

    settings.MEDIA_ROOT = tmp_path / "media"
    flow = build_workflow(make_alice())
    staff = get_user_model().objects.create_user("staff", "s@example.org", "staff-password")
    membership_create(
        member=staff,
        agency=flow.agency,
        unit=flow.unit,
        role=Membership.Role.STAFF,
        user=None,
        reason="測試",
    )
    page, base = browser_page, live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "staff-password")
    with page.expect_navigation(wait_until="load"):
        page.click("main button[type=submit]")
    page.goto(f"{base}/work/?year={flow.year}&quarter=1")
    page.click("[data-testid=unit-page]")
    page.wait_for_url(f"**/units/{flow.agency.code}/{flow.unit.code}/{flow.year}/q1/")
    _axe(page)
    c, r = f"#id_i{flow.count.pk}-", f"#id_i{flow.ratio.pk}-"

    # A file before the first save: the typed figures of every row stay as they are.
    page.fill(f"{c}f_value", "10")
    page.fill(f"{r}f_num", "95")
    page.set_input_files(
        f"#file-{flow.count.pk}",
        files=[{"name": "會議紀錄.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.click(f"#evidence-{flow.count.pk} form.upload button")
    page.locator(f"#evidence-{flow.count.pk}").filter(has_text="會議紀錄.pdf").wait_for()
    assert page.input_value(f"{c}f_value") == "10"
    assert page.input_value(f"{r}f_num") == "95"

    # Two rows, one behind its milestone (with its reasons), one ahead; saved at once.
    page.fill(f"{c}shortfall_reason", "人力不足")
    page.fill(f"{c}improvement", "增派人力")
    page.fill(f"{r}f_den", "100")
    row = page.locator(f"#preview-{flow.count.pk}")
    row.filter(has_text="落後預定進度").wait_for()
    page.screenshot(path=str(artifacts / f"unit-quarter-{width}-typed.png"), full_page=True)
    with page.expect_navigation(wait_until="load"):
        page.click("[data-testid=save-all]")
    assert "已儲存 2 項" in page.inner_text("#messages")
    assert Result.objects.filter(indicator__in=[flow.count, flow.ratio]).count() == 2
    assert Evidence.objects.filter(result__indicator=flow.count).count() == 1
    _axe(page)

    # A refused row keeps what was typed; the other row is saved.
    page.fill(f"{c}f_value", "30")
    page.fill(f"{r}f_num", "120")
    with page.expect_navigation(wait_until="load"):
        page.click("[data-testid=save-all]")
    assert "分子「查獲件數」不可大於分母「受理件數」" in page.inner_text(f"#row-{flow.ratio.pk}")
    assert page.input_value(f"{r}f_num") == "120"
    count = Result.objects.get(indicator=flow.count, quarter=1)
    assert {f.key: str(f.value) for f in count.figures.all()} == {"value": "30.0000"}
    page.screenshot(path=str(artifacts / f"unit-quarter-{width}-refused.png"), full_page=True)
    _axe(page)

    # Leaving with unsaved edits asks first (the page's beforeunload handler cancels the
    # unload, which is what makes the browser ask); a page just loaded does not.
    asks = (
        "() => { const e = new Event('beforeunload', {cancelable: true});"
        " window.dispatchEvent(e); return e.defaultPrevented; }"
    )
    page.goto(page.url)
    assert page.evaluate(asks) is False
    page.click(f"{r}f_num")
    page.keyboard.type("9")
    assert page.evaluate(asks) is True
