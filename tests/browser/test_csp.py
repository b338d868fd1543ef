"""The Content-Security-Policy in Debian's chromium: every main page, as each role that opens it,
loads with no violation — no inline script, no <style> element, no style attribute, nothing
htmx, Swagger UI or the admin adds — and every page carries the policy (a page without it would
show no violation and prove nothing)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.browser.test_pages import browser_page  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "kpitrack-demo"
YEAR, QUARTER = 2013, 4
INDICATOR = "intl-cooperation"

# Before any script of the page: every violation the page reports, kept on window.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
    + (e.sample ? ` (${e.sample})` : "")
  );
});
"""


class Visits:
    """Opens pages and keeps, per address, what the policy refused."""

    def __init__(self, page, base):
        self.page, self.base = page, base
        self.refused: dict[str, list[str]] = {}
        self.visited: list[str] = []
        self._console: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._on_console)

    def _on_console(self, message):
        if "Content Security Policy" in message.text or "Permissions-Policy" in message.text:
            self._console.append(message.text)

    def open(self, path, *, ready=None, status=200):
        response = self.page.goto(self.base + path)
        assert response.status == status, (path, response.status)
        policy = response.headers.get("content-security-policy", "")
        assert "style-src 'self'" in policy and "script-src 'self'" in policy, (path, policy)
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (path, policy)
        self.check(path, ready)

    def check(self, path, ready=None):
        """Records what the page in view refused (after `ready`, a selector of what its scripts
        render, has appeared)."""
        if ready:
            self.page.locator(ready).first.wait_for()
        self.page.wait_for_load_state("networkidle")
        found = self.page.evaluate("window.__cspViolations") + self._console
        self._console = []
        self.visited.append(path)
        if found:
            self.refused[path] = found

    def log_in(self, username):
        self.page.context.clear_cookies()
        self.open("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("main button[type=submit]")
        self.page.wait_for_load_state()
        self.check(f"after signing in as {username}")


def test_no_page_breaks_the_content_security_policy(
    live_server,
    browser_page,  # noqa: F811
    monkeypatch,
):
    from django.contrib.auth import get_user_model

    from budget.models import Agency, Unit
    from performance.models import Indicator
    from performance.services import entry_exception_grant
    from tests.conftest import seeded

    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    seeded()
    call_command("ensure_demo_users")
    nia = Agency.objects.get(code="nia")
    indicator = Indicator.objects.get(goal__agency=nia, goal__year=YEAR, code=INDICATOR)
    unit = Unit.objects.get(pk=indicator.responsible_unit_id)
    entry_exception_grant(
        agency=nia,
        unit=unit,
        year=YEAR,
        quarter=QUARTER,
        until=timezone.localdate() + timedelta(days=7),
        user=get_user_model().objects.get(username="demo"),
        reason="測試：開放 102 年第 4 季填報",
    )
    visits = Visits(browser_page, live_server.url)
    page = visits.page
    entry = f"/work/{indicator.pk}/q{QUARTER}/"

    # Signed out: the sign-in page, a page that does not exist, the API's docs (Swagger UI).
    visits.open("/accounts/login/")
    visits.open("/no-such-page/", status=404)
    visits.open("/api/v1/docs", ready=".swagger-ui .opblock")

    # 填報人: enters figures; htmx previews them as they are typed.
    visits.log_in("staff")
    visits.open("/")
    visits.open(f"/work/?year={YEAR}&quarter={QUARTER}")
    visits.open(entry)
    page.fill("#id_f_talks", "95")
    page.fill("#id_f_countries", "5")
    page.locator("[data-testid=rate]").filter(has_text="105.56%").wait_for()
    visits.check(f"{entry} (htmx preview)")
    with page.expect_navigation(wait_until="load"):
        page.click("button[value=save]")
    visits.check(f"{entry} (saved)")
    visits.open(f"/indicators/{indicator.pk}/history/")
    visits.open("/workbook/")
    visits.open("/accounts/password/")

    # 單位主管 submits; 初核 opens it for review and finds it in 我的工作.
    visits.log_in("head")
    visits.open(entry)
    with page.expect_navigation(wait_until="load"):
        page.click("button[value=submit]")
    visits.check(f"{entry} (submitted)")
    visits.log_in("planner")
    visits.open(f"/work/?year={YEAR}&quarter={QUARTER}")
    visits.open(entry, ready="form.review")

    # 檢視: achievements, dashboards with their SVG charts, reports.
    visits.log_in("viewer")
    visits.open("/achievements/?year=2012&quarter=2")
    visits.open("/dashboards/nia/")
    visits.open("/dashboards/nia/indicators/")
    visits.open("/dashboards/nia/indicators/pass-card/", ready="svg.chart")
    visits.open(f"/dashboards/nia/units/{unit.code}/")
    visits.open("/reports/")
    visits.open("/reports/nia/performance/2010/", ready=".analysis p.hang")
    visits.open("/reports/nia/budget/2013/", ready="svg.orgchart")
    visits.open("/reports/nia/quarterly/2013/q1/", ready="table.quarterly")  # issue 17

    # The superuser: the admin's index, a list, a change form with inlines, a history.
    visits.log_in("demo")
    visits.open("/admin/")
    visits.open("/admin/budget/agency/")
    visits.open(f"/admin/budget/agency/{nia.pk}/change/")
    visits.open(f"/admin/budget/agency/{nia.pk}/history/")
    visits.open(f"/admin/performance/indicator/{indicator.pk}/change/")

    # Signing out lands on the signed-out page.
    visits.open("/reports/")
    page.click("header button:text-is('登出')")
    page.wait_for_url("**/accounts/logged-out/")
    visits.check("/accounts/logged-out/ (signing out)")
    visits.open("/accounts/logged-out/")

    assert not visits.refused, "\n".join(
        f"{path}: {refusal}" for path, refused in visits.refused.items() for refusal in refused
    )
    assert len(visits.visited) >= 30
