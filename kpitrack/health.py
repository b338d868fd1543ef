"""Is this process able to serve? The readiness checks behind /readyz/, one small function each.

A check returns None when all is well, or a short reason an operator can act on. Reasons name
what failed, never a setting's value (a URL may hold a password): /readyz/ is public.

To check something new (a job broker, say), write a function and add it to CHECKS; a check that
only applies when a setting is present returns None without it.
"""

import logging
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, storages
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger(__name__)


def database() -> str | None:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        logger.warning("readiness: the database cannot be reached: %s", exc)
        return "cannot be reached"
    return None


def migrations() -> str | None:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        logger.warning("readiness: the migrations cannot be read: %s", exc)
        return "cannot be read"
    if pending:
        return f"{len(pending)} not applied (run manage.py migrate)"
    return None


def cache_() -> str | None:
    # Only a shared cache is worth checking: a process's own memory cannot be unavailable.
    if not getattr(settings, "REDIS_URL", ""):
        return None
    key = f"kpitrack:readyz:{secrets.token_hex(8)}"
    try:
        cache.set(key, "1", timeout=10)
        found = cache.get(key)
        cache.delete(key)
    except Exception as exc:  # the backend's own errors (redis, sockets) have no common base
        logger.warning("readiness: the cache cannot be reached: %s", exc)
        return "cannot be reached"
    if found != "1":
        return "does not keep what is written"
    return None


def broker() -> str | None:
    # The jobs' own check (kpitrack.jobs.health), so /readyz/ and starting a job agree on what a
    # reachable broker is; without CELERY_BROKER_URL jobs run in process and there is none.
    from kpitrack.jobs.health import broker_check

    ok, reason = broker_check()
    if ok:
        return None
    logger.warning("readiness: the job broker cannot be reached: %s", reason)
    return "cannot be reached"


def media() -> str | None:
    storage = storages["default"]
    if not isinstance(storage, FileSystemStorage):
        # Object storage (STORAGE_BACKEND=s3): one small request the bucket must answer; a key
        # that does not exist is an answer, a refused key or an unreachable store is not.
        try:
            storage.exists(".readyz")
        except Exception as exc:  # boto3's errors are many; any of them means "cannot serve"
            logger.warning("readiness: the file storage cannot be reached: %s", exc)
            return "cannot be reached"
        return None
    root = Path(settings.MEDIA_ROOT)
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root, prefix=".readyz-"):
            pass
    except OSError as exc:
        logger.warning("readiness: MEDIA_ROOT is not writable: %s", exc)
        return "is not writable"
    return None


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": database,
    "migrations": migrations,
    "cache": cache_,
    "broker": broker,
    "media": media,
}


def failures() -> dict[str, str]:
    """{check name: reason} for every check that failed; empty when ready. Without a database
    the migrations cannot be read either, so only the database is named then."""
    failed = {}
    for name, check in CHECKS.items():
        if name == "migrations" and "database" in failed:
            continue
        reason = check()
        if reason is not None:
            failed[name] = reason
    return failed
