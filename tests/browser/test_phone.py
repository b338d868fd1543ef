"""The pages a person works from, on a 390 px phone (issue 17): nothing scrolls sideways, each
menu link reads on one line (報表 never breaks into 報/表), axe finds no WCAG 2.1 AA violation,
and a screenshot of each is kept in test-artifacts/."""

import pytest

from tests.browser.test_pages import _axe, browser_page  # noqa: F401 - the shared chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

# (name, address) of each page checked; `{history}` is the address of an indicator's history,
# `{job}` that of a job (_waiting_bundle).
# The inbox and the completion board are checked at this width by test_notifications.py.
PAGES = (
    ("achievements", "/achievements/?year=2012&quarter=2"),
    ("history", "{history}"),
    ("my-work", "/work/?year=2013&quarter=1"),
    ("workbook", "/workbook/?scope=nia|&year=2013&quarter=1"),
    ("unit-quarter", "/units/nia/international-affairs/2013/q1/"),
    ("review-queue", "/review/nia/?year=2013&quarter=1"),
    ("quarterly-report", "/reports/nia/quarterly/2013/q1/"),
    ("budget-report", "/reports/nia/budget/2013/"),  # its KPI table was 459 px wide
    ("performance-report", "/reports/nia/performance/2012/"),
    # Issue 16: the job list, and a ministry's zip of reports while its parts wait (progress bar,
    # cancel button and the table of parts at once).
    ("jobs", "/jobs/"),
    ("job", "{job}"),
)

# Each menu link's and header control's box: more than one box, or taller than one line,
# means it wrapped inside a word.
HEADER = (
    "header.site nav a, header.site .tools label, header.site .tools button, header.site .tools a"
)
NAV_LINKS = """(selector) => [...document.querySelectorAll(selector)].map(a => ({
  text: a.innerText,
  boxes: a.getClientRects().length,
  height: a.getBoundingClientRect().height,
  line: parseFloat(getComputedStyle(a).lineHeight),
}))"""


def _waiting_bundle(user) -> str:
    """A ministry's zip of reports whose two parts wait: nothing runs it (made as rows, never
    handed to a pool or a broker), so its page shows the progress bar throughout."""
    from budget.models import Agency
    from kpitrack.jobs.models import Job

    moi, nia = Agency.objects.get(code="moi"), Agency.objects.get(code="nia")
    bundle = Job.objects.create(
        kind="report_bundle",
        user=user,
        agency=moi,
        total=2,
        title="內政部_102年度_施政績效報告_全部機關.zip",
    )
    for agency in (moi, nia):
        Job.objects.create(
            kind="report", user=user, agency=agency, parent=bundle, title=agency.name
        )
    return f"/jobs/{bundle.pk}/"


def _sign_in(page, base_url):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", "phone")
    page.fill("#id_password", "phone-password")
    with page.expect_navigation(wait_until="load"):
        page.click("main button[type=submit]")


@pytest.mark.parametrize(("name", "address"), PAGES, ids=[name for name, _ in PAGES])
def test_the_page_reads_on_a_phone(
    live_server,
    browser_page,  # noqa: F811 - the fixture imported above
    artifacts,
    django_user_model,
    name,
    address,
):
    from performance.models import Indicator
    from tests.conftest import seeded

    seeded()
    phone = django_user_model.objects.create_superuser(
        "phone", "phone@example.org", "phone-password"
    )
    history = Indicator.objects.get(code="intl-cooperation", goal__year=2012).pk
    page = browser_page
    page.set_viewport_size(PHONE)
    _sign_in(page, live_server.url)

    job = _waiting_bundle(phone) if "{job}" in address else ""
    response = page.goto(
        live_server.url + address.format(history=f"/indicators/{history}/history/", job=job)
    )
    assert response.status == 200
    page.screenshot(path=str(artifacts / f"phone-{name}.png"), full_page=True)

    overflow = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert overflow[0] <= overflow[1], f"{name} scrolls sideways: {overflow}"
    links = page.evaluate(NAV_LINKS, HEADER)
    assert {link["text"] for link in links} >= {"我的工作", "Excel 填報", "報表", "語言", "登出"}
    for link in links:
        assert link["boxes"] == 1 and link["height"] < 2 * link["line"], link
    _axe(page)
