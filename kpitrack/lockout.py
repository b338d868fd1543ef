"""What a locked-out client is answered (axes calls `lockout_response`, settings
AXES_LOCKOUT_CALLABLE): 429 Too Many Requests with Retry-After, in the request's language; a
page for a sign-in, JSON for the API. axes counts every failure from the moment of the lockout
on too, so the wait always runs from now and the message can say how long it is."""

import logging
import math

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kpitrack.api.errors import Throttled, refusal_answer

security = logging.getLogger("kpitrack.security")


def cooloff_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def _minutes() -> int:
    return math.ceil(cooloff_seconds() / 60)


def _wait() -> str:
    minutes = _minutes()
    return ngettext("%(n)s 分鐘", "%(n)s 分鐘", minutes) % {"n": minutes}


def token_throttled() -> Throttled:
    """The API's refusal while the address may use no token."""
    message = _(
        "此位址的 API 金鑰錯誤次數過多，已暫停使用 API 金鑰 %(wait)s；請於 %(wait)s後再試。"
    ) % {"wait": _wait()}
    return Throttled(message, retry_after=cooloff_seconds())


def lockout_response(request, original_response=None, credentials=None):
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    security.warning(
        "lockout",
        extra={
            "event": "lockout",
            "username": username,
            "address": getattr(request, "axes_ip_address", None),
            "path": request.path,
        },
    )
    if request.path_info.startswith("/api/"):
        return refusal_answer(token_throttled())
    context = {"username": username, "wait": _wait(), "limit": settings.AXES_FAILURE_LIMIT}
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(cooloff_seconds())
    return response
