"""Whether jobs can be queued, for /readyz/ (kpitrack/health.py registers broker_check)."""

from django.conf import settings


def broker_check() -> tuple[bool, str]:
    """(ok, reason): jobs run in process when no broker is configured; with one, whether it
    answers within JOBS_BROKER_TIMEOUT seconds. The reason never holds the broker's password."""
    url = settings.CELERY_BROKER_URL
    if not url:
        return True, "no broker configured: jobs run in the web processes"
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=settings.JOBS_BROKER_TIMEOUT) as conn:
            conn.ensure_connection(
                max_retries=1,
                interval_start=0,
                interval_step=0,
                timeout=settings.JOBS_BROKER_TIMEOUT,
            )
    except Exception as exc:  # kombu wraps each transport's own errors differently
        return False, f"broker unavailable: {exc.__class__.__name__}"
    return True, "broker reachable"
