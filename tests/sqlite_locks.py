"""SQLite's shared cache, as the in-memory test database uses it, made to wait as a file does.

The test database on SQLite is one in-memory database in a shared cache, so that the live
server's threads, a job's pool thread and the test see the same rows. In a shared cache, a
connection that finds a table locked by another (a write not yet committed, a read not yet
done) is refused at once ("database table is locked"): SQLite's busy timeout, which the file
database of `make run` waits on (settings: timeout=20, BEGIN IMMEDIATE), does not apply there.
A live-server test whose job was claimed while the job's page was read failed so (CI, stop 24).

Each test connection to the in-memory database retries such a statement until the lock is gone,
for at most TIMEOUT seconds, as a file database's connection would wait; any other error, and
a wait past the timeout, is raised as it was."""

import time

from django.db import OperationalError
from django.db.backends.signals import connection_created

TIMEOUT = 20.0  # seconds: settings.py's busy timeout for SQLite
_PAUSE = 0.002
# SQLITE_LOCKED and SQLITE_LOCKED_SHAREDCACHE; "database is locked" (SQLITE_BUSY) has already
# waited the busy timeout.
_SHARED_CACHE_LOCKS = ("database table is locked", "database schema is locked")


def wait_for_shared_cache_locks(execute, sql, params, many, context):
    deadline = None
    while True:
        try:
            return execute(sql, params, many, context)
        except OperationalError as exc:
            if not str(exc).startswith(_SHARED_CACHE_LOCKS):
                raise
            now = time.monotonic()
            if deadline is None:
                deadline = now + TIMEOUT
            elif now >= deadline:
                raise
            time.sleep(_PAUSE)


def _on_connection(sender, connection, **kwargs):
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        return
    if wait_for_shared_cache_locks not in connection.execute_wrappers:
        connection.execute_wrappers.append(wait_for_shared_cache_locks)


def install() -> None:
    connection_created.connect(_on_connection, dispatch_uid="kpitrack-tests-shared-cache-locks")
