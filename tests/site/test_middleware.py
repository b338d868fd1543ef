"""Characters no page can use (NUL, other C0 controls) answer 400 with a message, never a 500."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_nul_in_an_api_parameter_answers_400_naming_the_parameter(client, bob):
    # On PostgreSQL this NUL reached the agency query and answered 500.
    client.force_login(bob)
    response = client.get("/api/v1/achievements/?year=2013&agency=%00")
    assert response.status_code == 400
    assert response.json() == {
        "error": "欄位「agency」含有無法使用的控制字元，請移除後再試一次。",
        "request_id": response["X-Request-ID"],
    }


def test_the_refusal_is_in_the_users_language(client, bob):
    client.force_login(bob)
    response = client.get(
        "/api/v1/achievements/?year=2013&agency=nia%1B", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "“agency” contains a control character" in response.json()["error"]


def test_a_control_character_in_a_form_field_answers_the_sites_400_page(client, bob):
    response = client.post("/accounts/login/", {"username": "bob\x00", "password": "bob-password"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "欄位「username」含有無法使用的控制字元" in page
    assert '<header class="site">' in page
    assert "_auth_user_id" not in client.session


def test_a_nul_in_the_path_answers_400(client):
    response = client.get("/reports/%00/")
    assert response.status_code == 400
    assert "網址含有無法使用的控制字元" in response.content.decode()


def test_tab_newline_and_carriage_return_pass(client, bob):
    # Multi-line text fields carry them: the login form answers as usual (wrong credentials).
    response = client.post(
        "/accounts/login/", {"username": "bob\t\r\nx", "password": "bob-password"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
