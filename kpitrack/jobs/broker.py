"""The connection to the broker (Redis, kpitrack/settings.py) that a thread keeps between
requests, for the check that a job can be queued and for sending it.

A report's start checked the broker and then sent the task, each on a connection of its own:
two TCP connections to Redis per start, 5-6 ms of its time under bench/load.py (docs/
benchmarks.md, "The broker's connection kept"). A kept connection answers a PING instead. Per
thread, as a kombu connection is not to be shared between threads (a web worker answers on one
thread; the in-process pool's threads, with JOBS_FALLBACK_IN_PROCESS, have their own)."""

import threading

from django.conf import settings
from kombu import Connection

_kept = threading.local()


def _open(url: str) -> Connection:
    timeout = settings.JOBS_BROKER_TIMEOUT
    conn = Connection(
        url,
        connect_timeout=timeout,
        # A broker that accepts the connection and then does not answer is waited for this
        # long, not for ever (the redis client's default).
        transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
    )
    conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
    return conn


def drop() -> None:
    """Forgets this thread's connection (closing it as far as it can be)."""
    conn, _kept.conn, _kept.url = getattr(_kept, "conn", None), None, None
    if conn is not None:
        try:
            conn.release()
        except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is gone anyway
            pass


def connection(url: str) -> Connection:
    """This thread's connection to the broker at `url`, answering now: the kept one if it
    answers a PING, else a new one (the broker restarted, or closed an idle connection). Raises
    what kombu or redis raise when the broker cannot be reached."""
    conn = getattr(_kept, "conn", None)
    if conn is not None and _kept.url == url:
        try:
            conn.default_channel.client.ping()
            return conn
        except Exception:  # noqa: BLE001 - any failure: try a new connection once
            pass
    drop()
    conn = _open(url)
    try:
        conn.default_channel.client.ping()
    except Exception:
        conn.release()
        raise
    _kept.conn, _kept.url = conn, url
    return conn
