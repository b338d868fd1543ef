"""Idle expiry of signed-in sessions.

A session ends SESSION_COOKIE_AGE (SESSION_IDLE_HOURS) after its last request. Django's own way,
SESSION_SAVE_EVERY_REQUEST, writes the session on every request; here a request saves it — which
moves its expiry, in the session store and in the cookie, SESSION_COOKIE_AGE on from now — only
when the last save is SESSION_TOUCH_SECONDS old or more. So a session ends between
SESSION_COOKIE_AGE − SESSION_TOUCH_SECONDS and SESSION_COOKIE_AGE after its last request, at the
cost of one write a minute per active user rather than one per request. The store (database or
cache) holds the expiry, so every app server agrees on it.
"""

import time

from django.conf import settings
from django.contrib.sessions.backends import db
from django.utils import timezone

from kpitrack.core.prepared import Prepared

# When the session was last saved for its expiry (seconds since the epoch), in its own data.
TOUCHED = "_kpitrack_touched"


def touch(session) -> None:
    """Mark the session saved now; SessionMiddleware then saves it with a new expiry."""
    session[TOUCHED] = int(time.time())


def stamp_on_login(sender, request, user, **kwargs) -> None:
    """Signing in saves the session anyway: its expiry starts there (connected in apps.py)."""
    if request is not None and hasattr(request, "session"):
        touch(request.session)


class SessionIdleMiddleware:
    """After SessionMiddleware in MIDDLEWARE, so the session is saved after this has marked it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # A server error or an outage (503) extends nothing, and the database may be unreachable.
        if session is None or response.status_code >= 500:
            return response
        touched = session.get(TOUCHED)  # loads the session, if the view did not
        # Only a session with something in it (a signed-in user's): a visitor is given none.
        if session.is_empty():
            return response
        if touched is None or time.time() - touched >= settings.SESSION_TOUCH_SECONDS:
            touch(session)
        return response


def _session(session_key):
    return (
        db.SessionStore.get_model_class()
        .objects.filter(session_key=session_key)
        .values_list("session_key", "session_data", "expire_date")
    )


# Every signed-in request reads its session: the SQL is built once (kpitrack.core.prepared).
_SESSION = Prepared(_session)


class SessionStore(db.SessionStore):
    """Django's database sessions (SESSION_ENGINE = "kpitrack.sessions"), the session read by
    its key alone and its expiry compared here, where Django compares it in SQL: the same
    session, or none when it has expired."""

    def _get_session_from_db(self):
        found = _SESSION(self.session_key) if isinstance(self.session_key, str) else []
        if found and found[0][2] > timezone.now():
            return self.model(*found[0])
        self._session_key = None
        return None
