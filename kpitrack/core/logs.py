"""What every log record carries, and the one way a security event is written.

Each request has an id (kpitrack.logs.RequestIdMiddleware takes a safe incoming `X-Request-ID`
or makes one) that every record logged while it runs carries as `request_id` ("-" outside a
request), so the line of a 500 can be found from the id its page or JSON answer shows.

Security events go to the logger "kpitrack.security", one record each, with `event` naming it,
`user` (who acted) and `address` (where from), plus the event's own facts as fields of the record
(keys of the JSON line; `key='value'` pairs in the text line). Never a password or a token.
"""

import logging
import logging.config
import re
import uuid
from contextvars import ContextVar

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from kpitrack.core import clients

security_log = logging.getLogger("kpitrack.security")

# The request being answered in this thread (or task), set by kpitrack.logs.RequestIdMiddleware.
_request: ContextVar = ContextVar("kpitrack_request", default=None)

# An id a proxy or a client sends is kept only if it is short and cannot break a log line.
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
NO_REQUEST = "-"


def configure(config: dict) -> None:
    """LOGGING_CONFIG: Django's dictConfig, and Python's warnings made records too, so they
    reach standard error in the same format (one JSON object a line) instead of raw text."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def request_id_for(incoming: str | None) -> str:
    """The incoming id when it is a safe token, else a new one (32 hex digits)."""
    if incoming and _SAFE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def enter(request):
    """Make `request` the current one; returns the token `leave` takes."""
    return _request.set(request)


def leave(token) -> None:
    _request.reset(token)


def current_request():
    return _request.get()


def current_request_id() -> str:
    return getattr(_request.get(), "request_id", None) or NO_REQUEST


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record. Django logs a 4xx after the middleware has returned,
    with the request in the record: its id is read from there first."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request = record.__dict__.get("request")
            record.request_id = getattr(request, "request_id", None) or current_request_id()
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, request_id, message, the
    traceback as `exc_info`, and the record's extra fields (a security event's facts, Django's
    `status_code`). Django's `request` object is left out: its path is in the message."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", ["levelname", "name", "request_id", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request"])
        super().__init__(*args, **kwargs)


def _username(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return NO_REQUEST
    return user.get_username()


def client_address(request) -> str:
    """The address sign-in throttling counts (kpitrack.core.clients: behind TRUSTED_PROXY_COUNT
    proxies, from X-Forwarded-For), so a security record names the client, not the proxy."""
    return (clients.client_address(request) if request is not None else None) or NO_REQUEST


def security_event(event: str, *, level: int = logging.INFO, request=None, **facts) -> None:
    """Log `event` to "kpitrack.security". `user` (who acted) and `address` come from `request`,
    or the current request, unless given; outside a request they are "-"."""
    request = request if request is not None else current_request()
    fields = {
        "event": event,
        "user": _username(getattr(request, "user", None)),
        "address": client_address(request),
        **facts,
    }
    # repr() quotes each value and escapes line breaks, so a typed username cannot forge a line.
    text = " ".join(f"{key}={value!r}" for key, value in fields.items() if key != "event")
    security_log.log(level, "%s %s", event, text, extra=fields)
