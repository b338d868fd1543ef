"""Bad API keys are throttled per address as wrong passwords are (kpitrack.throttle), and every
refused key is a JSON 401 that says why: unknown, expired, revoked by a password change, or its
user deactivated."""

from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.utils import timezone

from kpitrack.models import ApiToken
from kpitrack.tokens import api_token_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/achievements/"
HOME, ELSEWHERE = "10.0.0.1", "10.0.0.2"


def _get(client, key, *, address=HOME, **extra):
    return client.get(
        URL, {"year": 2012}, HTTP_AUTHORIZATION=f"Token {key}", REMOTE_ADDR=address, **extra
    )


def _bad(client, times, **kwargs):
    return [_get(client, "kpt_wrong", **kwargs).status_code for _ in range(times)]


def test_the_fifth_bad_key_makes_the_address_wait_even_with_a_good_key(client, bob):
    good = api_token_create(user=bob)
    assert _bad(client, 5) == [401, 401, 401, 401, 429]
    response = _get(client, good)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "900"
    assert response.json() == {
        "error": "此位址的 API 金鑰錯誤次數過多，已暫停使用 API 金鑰 15 分鐘；請於 15 分鐘後再試。",
        "request_id": response["X-Request-ID"],
    }
    # Another address is not held up, and sign-ins from this one are not either.
    assert _get(client, good, address=ELSEWHERE).status_code == 200
    signed_in = client.post(
        "/accounts/login/", {"username": "bob", "password": "bob-password"}, REMOTE_ADDR=HOME
    )
    assert signed_in.status_code == 302


def test_the_wait_is_said_in_english_when_asked(client, bob):
    _bad(client, 5)
    response = _get(client, "kpt_wrong", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert "15 minutes" in response.json()["error"], response.json()


def test_a_session_without_a_key_is_not_held_up(client, bob):
    _bad(client, 5)
    client.force_login(bob)
    assert client.get(URL, {"year": 2012}, REMOTE_ADDR=HOME).status_code == 200


def test_an_administrator_unlocks_the_address(client, bob):
    good = api_token_create(user=bob)
    _bad(client, 5)
    call_command("axes_reset_ip", HOME, stdout=StringIO())
    assert _get(client, good).status_code == 200


def test_the_address_may_try_again_once_the_wait_is_over(client, bob):
    good = api_token_create(user=bob)
    _bad(client, 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _get(client, good).status_code == 200


def _refused(client, key) -> str:
    response = _get(client, key)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    return response.json()["error"]


def test_an_unknown_key(client, bob):
    assert _refused(client, "kpt_nothing") == "API 金鑰無效。"


def test_a_key_dies_when_its_user_changes_the_password(client, bob):
    key = api_token_create(user=bob)
    assert _get(client, key).status_code == 200
    browser = type(client)()
    browser.force_login(bob)
    new = "a-much-longer-secret-2026"
    changed = browser.post(
        "/accounts/password/",
        {"old_password": "bob-password", "new_password1": new, "new_password2": new},
    )
    assert changed.status_code == 302
    assert _refused(client, key) == (
        "API 金鑰已失效：建立金鑰後使用者的密碼已變更，請重新建立金鑰。"
    )
    assert _get(client, api_token_create(user=bob)).status_code == 200


def test_a_key_dies_with_its_users_account(client, bob):
    key = api_token_create(user=bob)
    bob.is_active = False
    bob.save()
    assert _refused(client, key) == "API 金鑰已失效：使用者帳號已停用。"
    bob.is_active = True
    bob.save()
    assert _get(client, key).status_code == 200


def test_an_expired_key(client, bob):
    key = api_token_create(user=bob, days=1)
    assert _get(client, key).status_code == 200
    expired = timezone.now() - timedelta(minutes=1)
    ApiToken.objects.filter(user=bob).update(expires_at=expired)
    message = _refused(client, key)
    assert message.startswith("API 金鑰已於 ") and message.endswith("到期，請重新建立金鑰。")
    english = _get(client, key, HTTP_ACCEPT_LANGUAGE="en").json()["error"]
    assert english.startswith("The API key expired on "), english
