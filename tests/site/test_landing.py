"""After signing in, each role lands on the page it works from (performance/landing.py):
staff and heads on their unit's quarter page for the current quarter, 初核 and 複核 on the
review queue, viewers and administrators on the dashboards, a superuser on the home page; a
safe `next` still wins."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from performance.services import period_get_or_create, period_update

pytestmark = pytest.mark.django_db

PASSWORD = "landing-password"


def _sign_in(client, user, **query):
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    url = reverse("login")
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    response = client.post(url, {"username": user.get_username(), "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    target = urlsplit(response["Location"])
    return target.path, {k: v[-1] for k, v in parse_qs(target.query).items()}


@pytest.fixture
def past_quarters(cast):
    """nia's FY2013 Q1 and Q2 windows, both long closed: Q2 opened last."""
    for quarter in (1, 2):
        period_get_or_create(agency=cast.agency, year=2013, quarter=quarter)


@pytest.mark.parametrize("role", ["staff", "head"])
def test_staff_and_heads_land_on_their_units_current_quarter(client, cast, past_quarters, role):
    path, query = _sign_in(client, cast[role])
    assert (path, query) == (_unit_page(cast, 2013, 2), {})
    page = client.get(path)
    assert page.status_code == 200
    assert cast.indicator.name in page.content.decode()


def _unit_page(cast, year, quarter):
    return reverse("unit-quarter", args=[cast.agency.code, cast.unit.code, year, quarter])


def test_the_quarter_whose_window_is_open_today_wins(client, cast, past_quarters):
    period = period_get_or_create(agency=cast.agency, year=2013, quarter=1)
    today = timezone.localdate()
    period_update(
        period=period,
        expected_version=period.version,
        user=cast["superuser"],
        reason="測試：開放第一季",
        opens_on=today - timedelta(days=400),
        closes_on=today + timedelta(days=5),
        first_review_due=today + timedelta(days=10),
        final_review_due=today + timedelta(days=15),
    )
    assert _sign_in(client, cast["staff"]) == (_unit_page(cast, 2013, 1), {})


@pytest.mark.parametrize("role", ["planner", "director"])
def test_reviewers_land_on_their_review_queue(client, cast, past_quarters, role):
    path, query = _sign_in(client, cast[role])
    assert (path, query) == (reverse("review-queue"), {})
    # Reviewing in one agency only, the queue opens straight on that agency's list.
    page = client.get(path, follow=True)
    assert page.status_code == 200
    assert page.redirect_chain[-1][0].startswith(reverse("review-queue-agency", args=["nia"]))


def test_without_any_period_the_work_list_opens_on_its_default(client, cast):
    path, query = _sign_in(client, cast["staff"])
    assert path == reverse("my-work") and query == {"unit": str(cast.unit.pk)}
    assert client.get(path, query).status_code == 200


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_viewers_and_administrators_land_on_the_dashboards(client, cast, role):
    path, _query = _sign_in(client, cast[role])
    assert path == reverse("dashboards:index")


def test_a_superuser_lands_on_the_home_page(client, cast):
    assert _sign_in(client, cast["superuser"]) == (reverse("home"), {})


def test_a_safe_next_still_wins(client, cast):
    assert _sign_in(client, cast["staff"], next="/reports/") == ("/reports/", {})


def test_an_unsafe_next_is_ignored(client, cast, past_quarters):
    path, _query = _sign_in(client, cast["viewer"], next="https://evil.example/")
    assert path == reverse("dashboards:index")


def test_a_signed_in_user_opening_the_login_page_is_sent_to_their_landing(client, cast):
    client.force_login(cast["viewer"])
    response = client.get(reverse("login"))
    assert response.status_code == 302 and response["Location"] == reverse("dashboards:index")
