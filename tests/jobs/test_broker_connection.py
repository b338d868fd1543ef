"""kpitrack.jobs.broker: a thread keeps its connection to the broker between the check and the
send and from one request to the next, and replaces it when the broker has dropped it. Against
the real Redis on 127.0.0.1:6379 (database 9, as the other broker tests)."""

import pytest
import redis

from kpitrack.jobs import broker
from kpitrack.jobs.health import broker_check

URL = "redis://127.0.0.1:6379/9"
DOWN = "redis://127.0.0.1:8279/9"  # nothing listens there (tests/jobs/test_faults.py)


@pytest.fixture
def server(settings):
    settings.CELERY_BROKER_URL = URL
    client = redis.Redis.from_url(URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    broker.drop()
    yield client
    broker.drop()


def _connections_received(client) -> int:
    return client.info("stats")["total_connections_received"]


def test_checks_and_sends_share_one_kept_connection(server):
    from kpitrack.jobs import runners

    before = _connections_received(server)
    for job_id in range(5):
        assert broker_check() == (True, "broker reachable")
        runners._send(10_000 + job_id)  # never run: no worker reads database 9 here
    # This test's client counts one of its own for INFO; other processes of the suite may
    # connect meanwhile, but not ten times.
    assert _connections_received(server) - before <= 3
    server.delete("celery")


def test_a_connection_the_broker_dropped_serves_again(server):
    """Redis closed it (a restart, an idle timeout): the check and the send still go through,
    on the same kept connection reconnected or on a new one."""
    from kpitrack.jobs import runners

    server.delete("celery")
    assert broker_check()[0]
    kept = broker.connection(URL)
    server.client_kill_filter(_id=kept.default_channel.client.client_id())
    assert broker_check() == (True, "broker reachable")
    runners._send(20_000)
    assert server.llen("celery") == 1
    server.delete("celery")


def test_another_broker_named_in_the_settings_is_asked_not_the_kept_one(server, settings):
    assert broker_check()[0]
    settings.CELERY_BROKER_URL = DOWN
    ok, reason = broker_check()
    assert not ok and reason.startswith("broker unavailable")
    settings.CELERY_BROKER_URL = URL
    assert broker_check() == (True, "broker reachable")
