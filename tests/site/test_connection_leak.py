"""No server leaks PostgreSQL connections: after many parallel requests, runserver and gunicorn
hand their connections back, and the count PostgreSQL sees returns to the pools' idle size.

Before the pool (CONN_MAX_AGE=60, no pool), each of runserver's request threads kept its own
connection after answering: a few minutes of parallel requests held 99 and PostgreSQL refused
every client. The servers run as deployed (DEBUG off) in subprocesses, on the test database."""

import http.client
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tests.site.servers import WAIT, running, site_env, wait_until

REQUESTS = 200
PARALLEL = 40
POOL_MIN, POOL_MAX = 1, 4


@pytest.fixture
def postgresql():
    """Asked for before the database, so SQLite skips without setting it up."""
    if connection.vendor != "postgresql":
        pytest.skip("connections PostgreSQL holds for a server: PostgreSQL only")


# A session key of the right shape that no session has: looked up in the database each time
# (Django does not even look up a key shorter than 8 characters).
UNKNOWN_SESSION = "no-such-session-key-0123456789"
# The server's connections say who they are, so the test's own are never counted.
SERVER = "kpitrack-leak-test"


def _connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [SERVER]
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize(("kind", "processes"), [("runserver", 1), ("gunicorn", 2)])
def test_parallel_requests_leave_only_the_pools_idle_connections(
    kind, processes, postgresql, transactional_db, tmp_path
):
    settings = connection.settings_dict
    env = site_env(
        DATABASE_URL=f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}"
        f"/{settings['NAME']}?application_name={SERVER}",
        MEDIA_ROOT=str(tmp_path / "media"),
        WEB_CONCURRENCY=str(processes),
        DB_POOL_MIN_SIZE=str(POOL_MIN),
        DB_POOL_MAX_SIZE=str(POOL_MAX),
        # Connections above the minimum close after a second idle, not the default minute.
        DB_POOL_MAX_IDLE="1",
    )
    with (tmp_path / f"{kind}.log").open("w") as log, running(kind, env, log) as base:
        peak = 0
        done = threading.Event()

        def watch():
            nonlocal peak
            try:
                while not done.is_set():
                    peak = max(peak, _connections())
            finally:
                connection.close()

        # Browsers keep their HTTP connections open between requests (runserver speaks
        # HTTP/1.1 keep-alive, one thread per client connection): so do these clients, until the
        # end of the test. A visitor's session cookie makes every request read the session table.
        port = int(base.rsplit(":", 1)[1])
        clients = [
            http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT) for _ in range(PARALLEL)
        ]

        def ask(client):
            statuses = []
            for _ in range(REQUESTS // PARALLEL):
                client.request("GET", "/", headers={"Cookie": f"sessionid={UNKNOWN_SESSION}"})
                response = client.getresponse()
                response.read()
                statuses.append(response.status)
            return statuses

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            with ThreadPoolExecutor(PARALLEL) as pool:
                statuses = [status for some in pool.map(ask, clients) for status in some]
        finally:
            done.set()
            watcher.join()
        assert statuses == [302] * REQUESTS  # on to the sign-in page, each one served
        assert peak <= processes * POOL_MAX
        idle = processes * POOL_MIN
        try:
            wait_until(lambda: _connections() <= idle, f"at most {idle} connections left")
        finally:
            for client in clients:
                client.close()
