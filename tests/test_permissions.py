"""Every page is for signed-in users; the admin only for staff."""

import pytest

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/achievements/?year=2013",
    "/reports/",
    "/reports/pick/?agency=nia&kind=budget&year=2013",
    "/reports/nia/budget/2013/",
    "/reports/nia/budget/2013/pdf/",
    "/reports/nia/budget/2013/xlsx/",
    "/reports/nia/performance/2010/",
]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_api_gets_401(client):
    assert client.get("/api/v1/achievements/?year=2013").status_code == 401


@pytest.mark.parametrize("url", ["/admin/", "/admin/performance/result/"])
def test_admin_is_for_staff_only(client, bob, alice, url):
    client.force_login(bob)
    assert client.get(url).status_code == 302
    client.force_login(alice)
    assert client.get(url).status_code == 200


def test_unknown_agency_is_404(client, bob):
    client.force_login(bob)
    assert client.get("/reports/nope/budget/2013/").status_code == 404
    assert client.get("/reports/pick/?agency=nope&kind=budget&year=2013").status_code == 404
