"""A signed-in session ends SESSION_IDLE_HOURS (8) after its last request; a request moves that
end on, saving the session at most once a minute (kpitrack/sessions.py); optionally the session
ends with the browser. Expiry is set in the session table rather than waited for."""

import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from kpitrack.sessions import TOUCHED

pytestmark = pytest.mark.django_db

PAGE = "/work/"  # any page for signed-in users only
EIGHT_HOURS = 8 * 3600


def _row(client) -> Session:
    return Session.objects.get(session_key=client.cookies["sessionid"].value)


def _last_saved(client, seconds_ago: int, *, ends_in: timedelta) -> None:
    """As if the session's last save was `seconds_ago`, and it ends `ends_in` from now."""
    session = client.session
    session[TOUCHED] = int(time.time()) - seconds_ago
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + ends_in
    )


def test_the_idle_time_is_eight_hours_by_default(settings):
    assert settings.SESSION_COOKIE_AGE == EIGHT_HOURS
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is False


def test_signing_in_gives_a_session_of_eight_hours(client, bob):
    answer = client.post("/accounts/login/", {"username": "bob", "password": "bob-password"})
    assert answer.status_code == 302
    assert answer.cookies["sessionid"]["max-age"] == EIGHT_HOURS
    left = (_row(client).expire_date - timezone.now()).total_seconds()
    assert EIGHT_HOURS - 60 < left <= EIGHT_HOURS


def test_a_session_idle_beyond_the_limit_is_signed_out(client, bob):
    client.force_login(bob)
    assert client.get(PAGE).status_code == 200
    _last_saved(client, EIGHT_HOURS + 1, ends_in=timedelta(seconds=-1))
    answer = client.get(PAGE)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")


def test_an_active_session_is_extended_by_the_full_idle_time(client, bob):
    client.force_login(bob)
    # Last saved an hour ago: seven of its eight hours left.
    _last_saved(client, 3600, ends_in=timedelta(hours=7))
    answer = client.get(PAGE)
    assert answer.status_code == 200
    left = (_row(client).expire_date - timezone.now()).total_seconds()
    assert EIGHT_HOURS - 60 < left <= EIGHT_HOURS
    assert answer.cookies["sessionid"]["max-age"] == EIGHT_HOURS


def test_a_request_within_a_minute_of_the_last_save_writes_nothing(client, bob):
    client.force_login(bob)
    _last_saved(client, 30, ends_in=timedelta(hours=7, minutes=59))
    before = _row(client).expire_date
    answer = client.get(PAGE)
    assert answer.status_code == 200
    assert _row(client).expire_date == before
    assert "sessionid" not in answer.cookies


def test_the_first_requests_after_signing_in_write_nothing(client, bob):
    """Signing in saved the session a moment ago (force_login too, as the query counts of the
    other tests rely on)."""
    client.force_login(bob)
    before = _row(client).expire_date
    for _ in range(2):
        answer = client.get(PAGE)
        assert answer.status_code == 200
        assert "sessionid" not in answer.cookies
    assert _row(client).expire_date == before


def test_a_visitor_is_given_no_session(client):
    answer = client.get("/accounts/login/")
    assert answer.status_code == 200
    assert "sessionid" not in answer.cookies
    assert not Session.objects.exists()


def test_the_session_may_end_with_the_browser(client, bob, settings):
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    answer = client.post("/accounts/login/", {"username": "bob", "password": "bob-password"})
    cookie = answer.cookies["sessionid"]
    assert cookie["max-age"] == "" and cookie["expires"] == ""
    # A later save (its idle expiry moved on) keeps it a browser-session cookie.
    _last_saved(client, 3600, ends_in=timedelta(hours=7))
    answer = client.get(PAGE)
    assert answer.cookies["sessionid"]["max-age"] == ""
    assert answer.cookies["sessionid"]["expires"] == ""


def test_the_store_answers_a_session_until_it_expires(client, bob, settings):
    """kpitrack.sessions.SessionStore compares the expiry itself (Django compares it in SQL)."""
    from django.contrib.sessions.backends.base import SessionBase

    from kpitrack.sessions import SessionStore

    assert settings.SESSION_ENGINE == "kpitrack.sessions"
    client.force_login(bob)
    key = client.cookies["sessionid"].value
    assert SessionStore(key).load()["_auth_user_id"] == str(bob.pk)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now())
    expired = SessionStore(key)
    assert expired.load() == {} and expired.session_key is None
    assert SessionStore("no-such-session-key").load() == {}
    assert isinstance(expired, SessionBase)
