"""Issue 17's journey in Debian's chromium, each step through the pages as a person does it:
填報人 fills the whole unit quarter on one page (one figure behind its milestone, with its
reasons, one ahead); 單位主管 submits both at once; 初核 approves one and returns the other
with a comment; 填報人 finds the return in the inbox and fixes it; 單位主管 sends it again and
初核 approves it; 複核 (neither the submitter nor the 初核: separation of duties holds) approves
both; the 季管考 report, opened from the completion board, shows them. Every page visited is
checked with axe's WCAG 2.1 AA rules and for Content-Security-Policy violations, and
photographed to test-artifacts/journey-*.png."""

import pytest

from tests.browser.test_csp import RECORD_VIOLATIONS
from tests.browser.test_pages import _axe, browser_page  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "journey-password"
RETURN_COMMENT = "請補充人力調度的佐證"
FIXED = "增派人力，並於四月起調度兩名支援人員"


class Journey:
    """The browser page, signing in as each person and checking every page it shows."""

    def __init__(self, page, base, artifacts):
        self.page, self.base, self.artifacts = page, base, artifacts
        self.refused: dict[str, list[str]] = {}
        self.step = 0
        page.add_init_script(RECORD_VIOLATIONS)

    def seen(self, name):
        """The page in view: no CSP violation, none of axe's, and a screenshot."""
        self.page.wait_for_load_state("networkidle")
        found = self.page.evaluate("window.__cspViolations || []")
        if found:
            self.refused[f"{name} ({self.page.url})"] = found
        _axe(self.page)
        self.step += 1
        path = self.artifacts / f"journey-{self.step:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)

    def sign_in(self, username):
        """Signs in through the login page; the person lands on the page they work from."""
        self.page.context.clear_cookies()
        self.page.goto(f"{self.base}/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("main button[type=submit]")
        self.page.wait_for_load_state()

    def click(self, selector):
        self.page.click(selector)
        self.page.wait_for_load_state()

    def text(self, selector="main"):
        return self.page.inner_text(selector)


def test_a_quarter_from_entry_to_the_quarterly_report(
    live_server,
    browser_page,  # noqa: F811
    artifacts,
    django_user_model,
):
    from budget.models import Membership
    from budget.services import membership_create
    from performance.models import Result
    from tests.conftest import make_alice
    from tests.performance.conftest import build_workflow

    alice = make_alice()
    # Agency wf, unit 業務組 with two indicators of this year (指標count: 100 件 a year;
    # 指標ratio: 查獲率 90%), its Q1 window open (build_workflow).
    flow = build_workflow(alice)
    Role = Membership.Role
    for name, role, unit in (
        ("staff", Role.STAFF, flow.unit),
        ("head", Role.HEAD, flow.unit),
        ("planner", Role.PLANNER, None),
        ("director", Role.DIRECTOR, None),
    ):
        user = django_user_model.objects.create_user(name, f"{name}@example.org", PASSWORD)
        membership_create(
            member=user, agency=flow.agency, unit=unit, role=role, user=alice, reason="測試"
        )
    # Separation of duties is on (the default): 複核 may be neither submitter nor 初核.
    assert flow.agency.separate_review_duties
    journey = Journey(browser_page, live_server.url, artifacts)
    page = journey.page
    unit_page = f"/units/{flow.agency.code}/{flow.unit.code}/{flow.year}/q1/"
    c, r = f"#id_i{flow.count.pk}-", f"#id_i{flow.ratio.pk}-"

    # 填報人 lands on the unit's quarter and fills both rows on it.
    journey.sign_in("staff")
    page.wait_for_url(f"**{unit_page}")
    journey.seen("staff-lands")
    page.fill(f"{c}f_value", "10")  # 10 of a milestone of 25: behind
    page.fill(f"{c}shortfall_reason", "人力不足")
    page.fill(f"{c}improvement", "增派人力")
    page.fill(f"{r}f_num", "95")  # 95% against 90%: ahead
    page.fill(f"{r}f_den", "100")
    page.locator(f"#preview-{flow.count.pk}").filter(has_text="落後預定進度").wait_for()
    page.locator(f"#preview-{flow.ratio.pk}").filter(has_text="超前進度").wait_for()
    journey.seen("staff-typed")
    journey.click("[data-testid=save-all]")
    assert "已儲存 2 項" in journey.text("#messages")
    journey.seen("staff-saved")

    # 單位主管 lands on the same page and submits both at once.
    journey.sign_in("head")
    page.wait_for_url(f"**{unit_page}")
    journey.click("[data-testid=submit-all]")
    assert "已送出 2 項，等待初核。" in journey.text("#messages")
    for indicator in (flow.count, flow.ratio):
        assert "已送出" in journey.text(f"#row-{indicator.pk}")
    journey.seen("head-submitted")

    count = Result.objects.get(indicator=flow.count, quarter=1)
    ratio = Result.objects.get(indicator=flow.ratio, quarter=1)

    # 初核 lands on the queue: approves the one ahead, returns the one behind with a comment.
    journey.sign_in("planner")
    page.wait_for_url(f"**/review/{flow.agency.code}/**")
    assert page.locator("[data-testid=queue-row]").count() == 2
    assert "人力不足" in journey.text(f"#row-{count.pk}")
    journey.seen("planner-queue")
    page.click(f"label[for=pick-{ratio.pk}]")
    journey.click("[data-testid=approve-selected]")
    assert "已初核通過 1 筆成果。" in journey.text()
    assert page.locator("[data-testid=queue-row]").count() == 1
    journey.seen("planner-approved-one")
    page.click(f"#row-{count.pk} details.return summary")
    page.fill(f"#return-{count.pk}", RETURN_COMMENT)
    journey.click(f"#row-{count.pk} details.return button")
    assert "並通知填報單位修正" in journey.text()
    assert page.locator("[data-testid=queue-empty]").count() == 1
    journey.seen("planner-returned-one")

    # 填報人 finds the return, with its comment, in the inbox and fixes the row.
    journey.sign_in("staff")
    # The bell says, in words, what waits: the 初核 of the row ahead and the return.
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="通知，2 則未讀").click()
    item = page.locator("ol.inbox li").filter(has_text=RETURN_COMMENT)
    assert item.count() == 1
    assert "已退回修正" in item.inner_text() and flow.count.name in item.inner_text()
    journey.seen("staff-inbox")
    with page.expect_navigation(wait_until="load"):
        item.locator("a").first.click()
    assert RETURN_COMMENT in journey.text()
    journey.seen("staff-returned-result")
    journey.click("[data-testid=unit-page]")
    assert "退回" in journey.text(f"#row-{flow.count.pk}")
    page.fill(f"{c}improvement", FIXED)
    journey.click("[data-testid=save-all]")
    assert "已儲存 1 項" in journey.text("#messages")
    journey.seen("staff-fixed")

    # 單位主管 sends it again; 初核 approves it.
    journey.sign_in("head")
    journey.click("[data-testid=submit-all]")
    assert "已送出 1 項，等待初核。" in journey.text("#messages")
    journey.seen("head-resubmitted")
    journey.sign_in("planner")
    page.wait_for_url(f"**/review/{flow.agency.code}/**")
    assert page.locator("[data-testid=queue-row]").count() == 1
    assert FIXED in journey.text(f"#row-{count.pk}")
    page.click(f"label[for=pick-{count.pk}]")
    journey.click("[data-testid=approve-selected]")
    assert "已初核通過 1 筆成果。" in journey.text()
    journey.seen("planner-approved-fix")

    # 複核 lands on the queue of what waits for 複核 and approves both.
    journey.sign_in("director")
    page.wait_for_url(f"**/review/{flow.agency.code}/**")
    assert page.locator("[data-testid=queue-row]").count() == 2
    assert page.locator("[data-testid=withheld]").count() == 0
    journey.seen("director-queue")
    for pk in (count.pk, ratio.pk):
        page.click(f"label[for=pick-{pk}]")
    journey.click("[data-testid=approve-selected]")
    assert "已核定 2 筆成果。" in journey.text()
    journey.seen("director-approved")
    states = set(Result.objects.filter(pk__in=[count.pk, ratio.pk]).values_list("state", flat=True))
    assert states == {Result.State.APPROVED}

    # The completion board shows the unit done and opens the quarter's 季管考 report.
    journey.sign_in("planner")
    page.goto(f"{live_server.url}/board/{flow.agency.code}/{flow.year}/q1/")
    journey.seen("board")
    journey.click("[data-testid=quarterly-report]")
    assert page.url.endswith(f"/reports/{flow.agency.code}/quarterly/{flow.year}/q1/")
    rows = page.locator("table.quarterly tbody tr").filter(has=page.locator("th[scope=row]"))
    behind = rows.filter(has_text=flow.count.name)
    ahead = rows.filter(has_text=flow.ratio.name)
    assert behind.count() == 1 and ahead.count() == 1
    behind_text, ahead_text = behind.inner_text(), ahead.inner_text()
    assert "\t40%\t" in behind_text and "落後進度" in behind_text, behind_text  # 10 of 25
    assert "\t105.56%\t" in ahead_text and "超前進度" in ahead_text, ahead_text  # 95% of 90%
    assert "已核定" in behind_text and "已核定" in ahead_text
    assert "落後原因：人力不足" in behind_text and f"改善措施：{FIXED}" in behind_text
    assert "落後原因" not in ahead_text
    journey.seen("quarterly-report")

    assert not journey.refused, journey.refused
