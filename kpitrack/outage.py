"""While the database cannot be reached: 503 with Retry-After, a page for people, JSON for the
API and the other JSON addresses, and no query while answering (the page is rendered without
the request's user or session).

Every request opens its own transaction work, so a write cut off by the outage is rolled back by
PostgreSQL as a whole; once the database is back the next request reconnects by itself (the
connection pool replaces broken connections, see settings.py)."""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django.utils.translation import gettext as _

from kpitrack.core.answers import answers_json, error
from kpitrack.core.logs import current_request_id

logger = logging.getLogger(__name__)


def is_database_outage(exc: BaseException | None) -> bool:
    """A connection refused, lost or not handed out in time (psycopg and the pool raise these
    as OperationalError, a closed connection as InterfaceError). Also a lock or statement that
    timed out: in each case trying again later is the answer."""
    return isinstance(exc, OperationalError | InterfaceError)


def outage_answer(request, exc: BaseException) -> HttpResponse:
    logger.warning("database unavailable while answering %s: %s", request.path, exc)
    if answers_json(request):
        response = error(
            _("資料庫暫時無法使用，請稍後再試一次。"),
            503,
            request_id=getattr(request, "request_id", None) or current_request_id(),
        )
    else:
        page = loader.get_template("503.html").render()
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(settings.DATABASE_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response
