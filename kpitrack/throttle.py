"""Throttling of sign-ins and API tokens, on django-axes' counters (rows in the database, so
every app server sees the same count).

- Sign-ins: axes counts failures per user name and address (settings, AXES_*).
- API tokens: every refused key counts against its address under one pseudo user name,
  TOKEN_CLIENT, that no real account can hold (user names never contain parentheses). The
  same limit and wait apply, and an administrator unlocks an address the same way
  (`manage.py axes_reset_ip ADDRESS`, or the access attempts in the admin).
- What a locked-out client is answered (`lockout_response`, settings AXES_LOCKOUT_CALLABLE):
  429 Too Many Requests with Retry-After, in the request's language; a page for a sign-in, JSON
  for the API. Every failure during the wait counts too and restarts it, so the wait always
  runs from now and the message can say how long it is.
"""

import logging
import math

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kpitrack.api.errors import Throttled, refusal_answer
from kpitrack.core.logs import security_event

TOKEN_CLIENT = "(api-token)"
_TOKEN_CREDENTIALS = {"username": TOKEN_CLIENT}


def cooloff_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def _wait() -> str:
    minutes = math.ceil(cooloff_seconds() / 60)
    return ngettext("%(n)s 分鐘", "%(n)s 分鐘", minutes) % {"n": minutes}


def token_throttled() -> Throttled:
    """The API's refusal while the address may use no key."""
    message = _(
        "此位址的 API 金鑰錯誤次數過多，已暫停使用 API 金鑰 %(wait)s；請於 %(wait)s後再試。"
    ) % {"wait": _wait()}
    return Throttled(message, retry_after=cooloff_seconds())


def token_allowed(request) -> bool:
    """Whether the request's address may present a key now."""
    return AxesProxyHandler.is_allowed(request, _TOKEN_CREDENTIALS)


def token_failed(request) -> None:
    """Counts a refused key against the request's address; at the limit axes flags the request,
    and its middleware answers it with `lockout_response`."""
    AxesProxyHandler.user_login_failed(
        sender=__name__, credentials=_TOKEN_CREDENTIALS, request=request
    )


def lockout_response(request, original_response=None, credentials=None):
    username = (credentials or {}).get("username") or ""
    api = request.path_info.startswith("/api/")
    event = "api_token_throttled" if api else "signin_locked_out"
    security_event(
        event, level=logging.WARNING, request=request, **({} if api else {"username": username})
    )
    if api:
        return refusal_answer(token_throttled())
    context = {"username": username, "wait": _wait(), "limit": settings.AXES_FAILURE_LIMIT}
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(cooloff_seconds())
    return response
