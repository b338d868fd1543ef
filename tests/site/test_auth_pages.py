"""Login, logout and password change in the site's own look, Traditional Chinese first, with
the markup axe checks (lang, one h1, a label for every input)."""

import re

import pytest

pytestmark = pytest.mark.django_db


def _labelled(html: str) -> None:
    """Every visible input has a <label for> and the page says its language and has one h1."""
    assert '<html lang="zh-Hant-TW">' in html
    assert len(re.findall(r"<h1[ >]", html)) == 1
    ids = re.findall(r'<input[^>]*type="(?:text|password)"[^>]*id="([^"]+)"', html)
    ids += re.findall(r'<input[^>]*id="([^"]+)"[^>]*type="(?:text|password)"', html)
    assert ids
    for input_id in ids:
        assert f'<label for="{input_id}"' in html, input_id


def test_the_login_page_is_in_chinese_with_labels(client):
    html = client.get("/accounts/login/").content.decode()
    assert "登入 kpitrack" in html and "忘記密碼" in html
    _labelled(html)


def test_a_wrong_password_is_said_next_to_the_fields(client, bob):
    response = client.post("/accounts/login/", {"username": "bob", "password": "nope"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "帳號或密碼錯誤" in html and 'aria-describedby="login-error"' in html


def test_logging_out_shows_the_logged_out_page(client, bob):
    client.force_login(bob)
    response = client.post("/accounts/logout/", follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == "/accounts/logged-out/"
    assert "您已登出" in html and 'href="/accounts/login/"' in html
    assert client.get("/reports/").status_code == 302  # really signed out


def test_the_password_change_page_is_in_chinese_with_labels(client, bob):
    client.force_login(bob)
    html = client.get("/accounts/password/").content.decode()
    assert "變更密碼" in html and "舊密碼" in html
    _labelled(html)
    assert 'aria-describedby="id_new_password1_helptext"' in html


def test_a_password_is_changed_and_the_old_one_no_longer_works(client, bob):
    client.force_login(bob)
    new = "a-much-longer-secret-2013"
    response = client.post(
        "/accounts/password/",
        {"old_password": "bob-password", "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert "密碼已變更" in response.content.decode()
    bob.refresh_from_db()
    assert bob.check_password(new) and not bob.check_password("bob-password")


def test_a_bad_password_change_is_answered_next_to_its_field_and_changes_nothing(client, bob):
    client.force_login(bob)
    response = client.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": "x", "new_password2": "y"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'aria-invalid="true"' in html and "舊密碼" in html
    # The input points at its error, and the error is there under that id.
    assert 'aria-describedby="id_old_password_error"' in html
    assert 'id="id_old_password_error"' in html
    bob.refresh_from_db()
    assert bob.check_password("bob-password")


def test_the_pages_answer_in_english_when_asked(client, bob):
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Forgot your password" in html
    client.force_login(bob)
    html = client.get("/accounts/password/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Change password" in html
