"""What the site records of its requests: each request's id, its 500 answer, and the security
events of signing in and out, refusals (403) and password changes. The records themselves are
shaped by kpitrack.core.logs; where they go is LOGGING in kpitrack/settings.py
(docs/logging.md)."""

import logging
import sys

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpResponseServerError
from django.template import loader
from django.utils.translation import gettext as _

# The API's error shape, so an error outside django-ninja under /api/ still answers JSON.
from kpitrack.api.errors import server_error_answer
from kpitrack.core import logs
from kpitrack.core.answers import answers_json
from kpitrack.outage import is_database_outage, outage_answer


class RequestIdMiddleware:
    """First in MIDDLEWARE, so everything after it, the 500 page included, runs with the id:
    sets request.request_id and the current request, answers the id in `X-Request-ID`, and
    records every 403, whichever view, middleware or handler refused."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = logs.request_id_for(request.headers.get("X-Request-ID"))
        if settings.SENTRY_ENABLED:
            import sentry_sdk

            sentry_sdk.set_tag("request_id", request.request_id)
        token = logs.enter(request)
        try:
            response = self.get_response(request)
            if response.status_code == 403:
                logs.security_event(
                    "permission_denied",
                    level=logging.WARNING,
                    request=request,
                    method=request.method,
                    path=request.path,
                )
        finally:
            logs.leave(token)
        response["X-Request-ID"] = request.request_id
        return response


def server_error(request):
    """handler500: the site's 500 page with the error reference a user can quote (the request id
    of the logged traceback). Rendered without the request's context: no database, no session,
    as whatever failed may be those. At a JSON address (the API, a job's status) the JSON
    answer. A database outage met outside a view (the session saved after it) answers 503
    like one inside it (kpitrack.middleware.DatabaseOutageMiddleware)."""
    exc = sys.exc_info()[1]
    if is_database_outage(exc):
        return outage_answer(request, exc)
    if answers_json(request):
        return server_error_answer(request)
    request_id = getattr(request, "request_id", None) or logs.current_request_id()
    return HttpResponseServerError(loader.render_to_string("500.html", {"request_id": request_id}))


# Sign-in events (django.contrib.auth's signals): the username tried, never the password.


def _signed_in(sender, request, user, **kwargs):
    logs.security_event("login", request=request, user=user.get_username())


def _signed_out(sender, request, user, **kwargs):
    logs.security_event(
        "logout", request=request, user=user.get_username() if user is not None else logs.NO_REQUEST
    )


def _sign_in_failed(sender, credentials, request=None, **kwargs):
    # The credentials arrive with the password already masked; only the username is kept.
    logs.security_event(
        "login_failed",
        level=logging.WARNING,
        request=request,
        username=str(credentials.get("username", "")),
    )


def connect() -> None:
    """Called once from KpitrackConfig.ready."""
    user_logged_in.connect(_signed_in, dispatch_uid="kpitrack.logs.login")
    user_logged_out.connect(_signed_out, dispatch_uid="kpitrack.logs.logout")
    user_login_failed.connect(_sign_in_failed, dispatch_uid="kpitrack.logs.login_failed")


class PasswordChangeLog:
    """Not a rule (it accepts every password): Django tells each validator in
    AUTH_PASSWORD_VALIDATORS when a user's password has been saved (AbstractBaseUser.save calls
    password_validation.password_changed), whichever way it was saved — the password page, the
    admin's change-password form, `manage.py changepassword`, a new user. So this is the one
    place that sees them all; `user` in the record is who was signed in, `target` whose
    password it is."""

    def validate(self, password, user=None) -> None:
        return None

    def password_changed(self, password, user=None) -> None:
        target = user.get_username() if user is not None else logs.NO_REQUEST
        logs.security_event("password_changed", target=target)

    def get_help_text(self) -> str:
        return _("密碼變更會記錄在系統的安全紀錄中。")
