import pytest

pytestmark = pytest.mark.django_db


def test_home_redirects_to_the_latest_year(client, bob):
    client.force_login(bob)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/achievements/?year=2013"


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
    "params", [{"year": "x"}, {"year": "1800"}, {"year": "2012", "quarter": "9"}, {}]
)
def test_bad_input_gets_a_message_not_a_500(client, bob, params):
    client.force_login(bob)
    response = client.get("/achievements/", params)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_it_reads_in_a_fixed_number_of_queries(client, bob, django_assert_max_num_queries):
    client.force_login(bob)
    with django_assert_max_num_queries(12):
        client.get("/achievements/", {"year": 2011})
    with django_assert_max_num_queries(12):
        client.get("/achievements/", {"year": 2012, "quarter": 2})
