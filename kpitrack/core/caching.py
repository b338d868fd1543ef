"""The shared cache as what it is here, a speed-up: a cache that cannot be reached (Redis down,
REDIS_URL set) reads as a miss and is not written, so the pages that use it still answer, from
the database; /readyz/ says the cache is down (kpitrack/health.py)."""

import hashlib
import logging

from django.core.cache import cache

log = logging.getLogger("kpitrack.cache")


def cache_get(key: str):
    """The value under `key`, or None when there is none or the cache cannot be reached."""
    try:
        return cache.get(key)
    except Exception as exc:  # the backend's own errors (redis, sockets) have no common base
        log.warning("cache unavailable, read from the database: %s", exc.__class__.__name__)
        return None


def cache_set(key: str, value, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception as exc:  # as above
        log.warning("cache unavailable, nothing stored: %s", exc.__class__.__name__)


def versioned_key(name: str, version: str | None, what: str) -> str | None:
    """The key of `what` as of the data's `version` (None: nothing to key by, do not cache). A
    new version is a new key, so nothing is ever deleted; the timeout frees the space."""
    if version is None:
        return None
    return f"kpitrack:{name}:{version}:{hashlib.sha256(what.encode()).hexdigest()}"
