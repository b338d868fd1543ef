"""While the database cannot be reached, pages answer the site's 503 page and the API a JSON
503, both with Retry-After, and nothing is half-written; when it returns, the next request is
served without restarting anything.

SQLite: a fresh process whose database file cannot be opened. PostgreSQL: a live server (runserver
and gunicorn) whose every connection goes through a TCP proxy the test stops and starts."""

import json
import time
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.sessions.models import Session
from django.db import connection

from kpitrack.tokens import api_token_create
from tests import interpreters
from tests.conftest import ROOT
from tests.site.servers import Proxy, fetch, running, site_env, wait_until

ZH_PAGE = "<h1>暫時無法服務</h1>"
EN_PAGE = "<h1>Service temporarily unavailable</h1>"
ZH_API = {"error": "資料庫暫時無法使用，請稍後再試一次。"}


def _without_id(body: dict) -> dict:
    """The answer without its request id (every API error names one; which one is the log's)."""
    assert body.pop("request_id", "") not in ("", "-"), body
    return body


def _ask(requests, tmp_path, debug="0"):
    result = interpreters.run(
        ["tests/site/outage_probe.py", json.dumps(requests)],
        cwd=ROOT,
        env=site_env(
            DATABASE_URL=f"sqlite:///{tmp_path}/no-such-folder/db.sqlite3",
            MEDIA_ROOT=str(tmp_path / "media"),
            DEBUG=debug,
        ),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_a_database_pages_and_the_api_answer_503_and_healthz_200(tmp_path):
    page, english, api, saved_after_view, healthz = _ask(
        [
            # The session is read for the signed-in check: that read meets the outage.
            {"path": "/", "cookie": "some-session"},
            {
                "path": "/",
                "cookie": "some-session",
                "headers": {"accept-language": "en"},
            },
            {
                "path": "/api/v1/results/",
                "data": {"year": 2013, "quarter": 1},
                "headers": {"authorization": "Token some-key"},
            },
            # The view succeeds; saving its session afterwards meets the outage (handler500).
            {"path": "/remember/"},
            {"path": "/healthz/"},
        ],
        tmp_path,
    )
    assert (page["status"], page["retry_after"]) == (503, "30")
    assert page["type"].startswith("text/html")
    assert ZH_PAGE in page["body"]
    assert '<header class="site">' in page["body"]
    assert "Traceback" not in page["body"]
    assert english["status"] == 503 and EN_PAGE in english["body"]
    assert (api["status"], api["retry_after"]) == (503, "30")
    assert api["type"] == "application/json"
    assert _without_id(json.loads(api["body"])) == ZH_API
    assert (saved_after_view["status"], saved_after_view["retry_after"]) == (503, "30")
    assert ZH_PAGE in saved_after_view["body"]
    assert healthz["status"] == 200


def test_with_debug_on_a_view_meeting_the_outage_answers_503_too(tmp_path):
    # Django's debug page replaces handler500 then: the middleware answers instead.
    [page] = _ask([{"path": "/", "cookie": "some-session"}], tmp_path, debug="1")
    assert (page["status"], page["retry_after"]) == (503, "30")
    assert ZH_PAGE in page["body"]


# PostgreSQL: a real server behind a proxy ---------------------------------------------------


@pytest.fixture
def postgresql():
    """Asked for before the database, so SQLite skips without setting it up."""
    if connection.vendor != "postgresql":
        pytest.skip("a server whose PostgreSQL goes away and comes back: PostgreSQL only")


@pytest.fixture
def proxy(postgresql):
    settings = connection.settings_dict
    proxy = Proxy((settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)))
    proxy.start()
    yield proxy
    if proxy.running:
        proxy.stop()


# The server's connections say who they are; its pool keeps this many open when idle.
SERVER = "kpitrack-outage-test"
IDLE = 4
OUTAGE = 20  # seconds the database stays away


def _server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [SERVER]
        )
        return cursor.fetchone()[0]


def _csrf(base) -> str:
    """A CSRF cookie from the sign-in page: an anonymous GET needs no database."""
    status, headers, _ = fetch(base + "/accounts/login/")
    assert status == 200
    cookie = next(c for c in headers.get_all("Set-Cookie") if c.startswith("csrftoken="))
    return cookie.split(";", 1)[0].split("=", 1)[1]


def _sign_in(base, csrf):
    form = urlencode(
        {"username": "outage", "password": "outage-password-1", "csrfmiddlewaretoken": csrf}
    )
    return fetch(
        base + "/accounts/login/",
        data=form.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Referer": base + "/accounts/login/",
        },
        follow=False,
    )


@pytest.mark.parametrize("kind", ["runserver", "gunicorn"])
def test_a_database_outage_answers_503_writes_nothing_and_service_resumes(
    kind, postgresql, transactional_db, proxy, tmp_path
):
    # Hashed as the server hashes (the tests' own hasher is one it does not know).
    hasher = PBKDF2PasswordHasher()
    user = get_user_model().objects.create_user("outage")
    user.password = hasher.encode("outage-password-1", hasher.salt())
    user.save(update_fields=["password"])
    key = api_token_create(user=user)
    settings = connection.settings_dict
    env = site_env(
        DATABASE_URL=f"postgres://{settings['USER']}@127.0.0.1:{proxy.port}/{settings['NAME']}"
        f"?application_name={SERVER}",
        MEDIA_ROOT=str(tmp_path / "media"),
        # One process whose pool keeps more idle connections than the outage's requests use up:
        # after the outage some are still broken, and must not be handed to a request.
        WEB_CONCURRENCY="1",
        DB_POOL_MIN_SIZE=str(IDLE),
    )
    auth = {"Authorization": f"Token {key}"}
    with (tmp_path / f"{kind}.log").open("w") as log, running(kind, env, log) as base:
        assert fetch(base + "/readyz/")[0] == 200
        wait_until(lambda: _server_connections() == IDLE, f"the pool's {IDLE} idle connections")
        csrf = _csrf(base)

        proxy.stop()
        stopped = time.monotonic()
        # Signing in writes the session and the user's last_login: neither may be left.
        status, headers, body = _sign_in(base, csrf)
        assert (status, headers["Retry-After"]) == (503, "30")
        assert ZH_PAGE in body.decode()
        status, headers, body = fetch(base + "/api/v1/results/?year=2013&quarter=1", headers=auth)
        assert (status, headers["Retry-After"]) == (503, "30")
        assert _without_id(json.loads(body)) == ZH_API
        status, _, body = fetch(base + "/readyz/")
        assert status == 503
        assert json.loads(body)["failed"] == {"database": "cannot be reached"}
        assert fetch(base + "/healthz/")[0] == 200
        assert not Session.objects.exists()
        user.refresh_from_db()
        assert user.last_login is None

        # A real outage lasts: psycopg_pool's own reconnection policy (delays doubling for five
        # minutes) would then leave the next attempt up to as long again away; the pool's
        # reconnect_timeout (settings.py) must make the site pick up as soon as it is back.
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - stopped)))
        proxy.start()
        # The next request is served: the broken connections are replaced, nothing restarts.
        status, headers, _ = _sign_in(base, csrf)
        assert (status, headers["Location"]) == (302, "/")
        assert Session.objects.count() == 1
        assert fetch(base + "/api/v1/results/?year=2013&quarter=1", headers=auth)[0] == 200
        assert fetch(base + "/readyz/")[0] == 200
