"""Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT failed sign-ins for one user name
from one address, that pair waits AXES_COOLOFF_TIME, told so in its language (429); the right
password does not get through meanwhile; an administrator unlocks; the address is REMOTE_ADDR
unless trusted proxies are configured."""

from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import RequestFactory, override_settings

from kpitrack.core.clients import client_address
from tests.site.test_settings import _check, _setting

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
HOME = "10.0.0.1"


def _sign_in(client, password, *, username="bob", address=HOME, **extra):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def _fail(client, times, **kwargs):
    return [_sign_in(client, "wrong", **kwargs).status_code for _ in range(times)]


def _signed_in(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def test_the_fifth_failure_locks_the_pair_and_then_the_right_password_is_refused(client, bob):
    assert _fail(client, 5) == [200, 200, 200, 200, 429]
    response = _sign_in(client, "bob-password")
    html = response.content.decode()
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert "暫停登入 15 分鐘" in html and "已達 5 次" in html and "系統管理者" in html
    assert not _signed_in(client, bob)


def test_the_lockout_page_speaks_english_when_asked(client, bob):
    _fail(client, 5)
    response = _sign_in(client, "bob-password", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 429
    assert "Sign-in paused for 15 minutes" in html, html
    assert not _signed_in(client, bob)


@override_settings(AXES_FAILURE_LIMIT=3, AXES_COOLOFF_TIME=timedelta(minutes=40))
def test_the_limit_and_the_wait_are_settings(client, bob):
    assert _fail(client, 3) == [200, 200, 429]
    response = _sign_in(client, "bob-password")
    assert response.status_code == 429 and response["Retry-After"] == "2400"
    assert "40 分鐘" in response.content.decode()


def test_only_the_pair_waits_another_address_or_user_signs_in(client, bob, charlie):
    _fail(client, 5)
    assert _sign_in(client, "charlie-password", username="charlie").status_code == 302
    assert _signed_in(client, charlie)
    client.logout()
    assert _sign_in(client, "bob-password", address="10.0.0.2").status_code == 302
    assert _signed_in(client, bob)


def test_a_success_below_the_limit_starts_the_count_again(client, bob):
    _fail(client, 4)
    assert _sign_in(client, "bob-password").status_code == 302
    client.logout()
    assert _fail(client, 4) == [200] * 4
    assert _sign_in(client, "bob-password").status_code == 302


def test_the_pair_signs_in_again_once_the_wait_is_over(client, bob):
    _fail(client, 5)
    # The wait runs from the last failure: move every failure 16 minutes into the past.
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= timedelta(minutes=16)
        attempt.save()
    assert _sign_in(client, "bob-password").status_code == 302
    assert _signed_in(client, bob)


def test_an_administrator_unlocks_with_the_command(client, bob):
    _fail(client, 5)
    call_command("axes_reset_username", "bob", stdout=StringIO())
    assert _sign_in(client, "bob-password").status_code == 302
    assert _signed_in(client, bob)


def test_an_administrator_unlocks_in_the_admin(client, bob, alice):
    _fail(client, 5)
    admin = type(client)()
    admin.force_login(alice)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "bob" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="bob")
    deleted = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert _sign_in(client, "bob-password").status_code == 302
    assert _signed_in(client, bob)


def test_the_admin_sign_in_is_throttled_too(client, alice):
    statuses = [
        client.post(
            "/admin/login/?next=/admin/",
            {"username": "alice", "password": "wrong"},
            REMOTE_ADDR=HOME,
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]


def test_a_forged_forwarded_for_header_does_not_escape_the_lock(client, bob):
    """Without trusted proxies the header is the client's own words: not believed."""
    statuses = [
        _sign_in(client, "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code for n in range(5)
    ]
    assert statuses[-1] == 429
    response = _sign_in(client, "bob-password", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert response.status_code == 429


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_each_client_is_counted_apart(client, bob):
    proxy = {"address": "10.9.9.9"}
    _fail(client, 5, HTTP_X_FORWARDED_FOR="forged, 198.51.100.7", **proxy)
    locked = _sign_in(client, "bob-password", HTTP_X_FORWARDED_FOR="198.51.100.7", **proxy)
    assert locked.status_code == 429
    other = _sign_in(client, "bob-password", HTTP_X_FORWARDED_FOR="198.51.100.8", **proxy)
    assert other.status_code == 302


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "1.2.3.4", "10.0.0.5"),
        (1, "1.2.3.4", "1.2.3.4"),
        (1, "9.9.9.9, 1.2.3.4", "1.2.3.4"),
        (2, "9.9.9.9, 1.2.3.4, 10.0.0.4", "1.2.3.4"),
        # Fewer entries than proxies, a bad entry or none at all: the nearest peer.
        (2, "1.2.3.4", "10.0.0.5"),
        (1, "not-an-address", "10.0.0.5"),
        (1, None, "10.0.0.5"),
    ],
)
def test_the_client_address(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    meta = {"REMOTE_ADDR": "10.0.0.5"}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_address(RequestFactory().get("/", **meta)) == expected


def test_an_ipv6_peer_and_a_bare_request():
    assert client_address(RequestFactory().get("/", REMOTE_ADDR="::1")) == "::1"
    request = RequestFactory().get("/")
    del request.META["REMOTE_ADDR"]
    assert client_address(request) is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AXES_FAILURE_LIMIT": "0"}, "AXES_FAILURE_LIMIT='0' must be at least 1"),
        ({"AXES_FAILURE_LIMIT": "five"}, "AXES_FAILURE_LIMIT='five' is not a whole number"),
        ({"AXES_COOLOFF_MINUTES": "-1"}, "AXES_COOLOFF_MINUTES='-1' must be at least 1"),
        ({"TRUSTED_PROXY_COUNT": "x"}, "TRUSTED_PROXY_COUNT='x' is not a whole number"),
    ],
)
def test_bad_throttle_settings_stop_start_up(env, message):
    result = _check(DEBUG="1", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_throttle_settings_come_from_the_environment():
    result = _setting(
        "AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME",
        DEBUG="1",
        AXES_FAILURE_LIMIT="8",
        AXES_COOLOFF_MINUTES="30",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "8 0:30:00"
