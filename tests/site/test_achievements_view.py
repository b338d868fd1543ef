import re

import pytest

pytestmark = pytest.mark.django_db


def test_home_opens_on_the_latest_quarter_with_approved_figures(client, bob):
    # FY2013 has targets only; the newest approved figures are FY2012's 1-6月.
    client.force_login(bob)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/achievements/?year=2012&quarter=2"


def test_the_menu_link_without_a_period_opens_on_the_latest_approved_quarter(client, bob):
    client.force_login(bob)
    response = client.get("/achievements/")
    assert response.status_code == 302
    assert response["Location"] == "/achievements/?year=2012&quarter=2"
    assert client.get(response["Location"]).status_code == 200


def test_it_shows_recomputed_rates_and_lights(client, bob):
    client.force_login(bob)
    response = client.get("/achievements/", {"year": 2012, "quarter": 2})
    assert response.status_code == 200
    html = response.content.decode()
    assert "民國101年（2012）" in html
    assert "103.13%" in html
    assert "綠燈" in html and "紅燈" in html and "白燈" in html
    assert "與重算不符" in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"year": "x"}, "年度必須是西元年的數字，例如 2013。"),
        ({"year": "２０１２"}, "年度必須是西元年的數字，例如 2013。"),
        ({"year": "1800"}, "年度必須介於 1912 與 2200 之間。"),
        ({"year": "9" * 5000}, "年度必須介於 1912 與 2200 之間。"),
        ({"year": "2012", "quarter": "9"}, "季別必須是 1 到 4 的整數。"),
        ({"quarter": "2"}, "請指定年度（西元年，例如 2013）。"),
    ],
)
def test_bad_input_gets_the_period_form_message_not_a_500(client, bob, params, message):
    client.force_login(bob)
    response = client.get("/achievements/", params)
    assert response.status_code == 400
    alert = re.search(r'role="alert">(.*?)</ul>', response.content.decode(), re.S)
    assert alert and message in alert[1]


def test_bad_input_keeps_the_valid_choices(client, bob):
    client.force_login(bob)
    html = client.get("/achievements/", {"year": "x", "quarter": "2"}).content.decode()
    assert '<option value="2" selected>第2季（1-6月）</option>' in html


def test_it_answers_in_english(client, bob):
    client.force_login(bob)
    response = client.get("/achievements/", {"year": "1800"}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert "The year must be between 1912 and 2200." in html
    assert "Q2 (Jan–Jun)" in html
