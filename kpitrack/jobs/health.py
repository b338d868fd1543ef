"""Whether jobs can be queued, for /readyz/ (kpitrack/health.py registers broker_check)."""

from django.conf import settings


def broker_check() -> tuple[bool, str]:
    """(ok, reason): jobs run in process when no broker is configured; with one, whether it
    answers within JOBS_BROKER_TIMEOUT seconds, on this thread's kept connection (a PING) or a
    new one. The reason never holds the broker's password."""
    url = settings.CELERY_BROKER_URL
    if not url:
        return True, "no broker configured: jobs run in the web processes"
    from . import broker

    try:
        broker.connection(url)
    except Exception as exc:  # kombu wraps each transport's own errors differently
        return False, f"broker unavailable: {exc.__class__.__name__}"
    return True, "broker reachable"
