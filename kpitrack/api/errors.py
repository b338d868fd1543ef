"""The one place a refusal becomes an HTTP answer, in the one shape of every JSON error
(kpitrack.core.answers): `{"error": "<message>", "request_id": "<id>"}`; a 400 for input adds
`"errors": {"<field>": ["<message>", …]}`, a 409 adds `"current"` (the values as they are now).
Messages are in the request's language.

This module needs nothing but Django, so the middleware can answer the API's requests in the
API's shape before any view (or django-ninja) is loaded.
"""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404, JsonResponse
from django.utils.log import log_response
from django.utils.translation import gettext as _

# The shape itself is the core's, shared with the JSON addresses outside the API.
from kpitrack.core.answers import error
from kpitrack.core.logs import current_request_id
from kpitrack.core.refusals import Refusal, status_of


class Unauthenticated(Refusal):
    status = 401


class Throttled(Refusal):
    """Too many failures from this address (kpitrack.throttle): wait `retry_after` seconds."""

    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class TooLarge(Refusal):
    status = 413


class Invalid(Refusal):
    """Input refused field by field: `errors` maps a field (`figures.<key>`, `narrative.<name>`,
    `non_field_errors`) to its messages; the first one is the answer's `error`."""

    def __init__(self, errors: dict[str, list]):
        self.errors = {field: [str(m) for m in messages] for field, messages in errors.items()}
        super().__init__(next(m for messages in self.errors.values() for m in messages))


def _default_message(status: int) -> str:
    return {
        401: _("請先登入。"),
        403: _("您沒有權限執行這項操作。"),
        404: _("找不到這個 API 網址。"),
        405: _("這個網址不接受此請求方法。"),
        413: _("資料過大。"),
    }.get(status, _("請求有誤。"))


def refusal_answer(exc: BaseException) -> JsonResponse | None:
    """The JSON answer to a refusal (kpitrack.core.refusals.status_of decides the status),
    or None for an exception that is not one."""
    if isinstance(exc, RequestDataTooBig):
        return error(_("資料過大。"), 413)
    status = status_of(exc)
    if status is None:
        return None
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            exc = Invalid(exc.message_dict)
        else:
            return error(exc.messages[0], status)
    if isinstance(exc, Refusal):
        extra = {}
        if getattr(exc, "errors", None):
            extra["errors"] = exc.errors
        if getattr(exc, "answer_current", None) is not None:
            extra["current"] = exc.answer_current
        response = error(exc.message or _default_message(status), status, **extra)
        if status == 401:
            response["WWW-Authenticate"] = "Token"  # how to present oneself (RFC 9110)
        if status == 429:
            response["Retry-After"] = str(exc.retry_after)  # seconds (RFC 9110)
        return response
    message = str(exc) if isinstance(exc, (PermissionDenied, Http404)) and exc.args else ""
    return error(message or _default_message(status), status)


def server_error_answer(request) -> JsonResponse:
    """The JSON 500, with the request id the logged traceback carries (kpitrack.core.logs), so
    a caller can quote it."""
    request_id = getattr(request, "request_id", None) or current_request_id()
    message = _("伺服器處理時發生錯誤，請稍後再試一次；若持續發生，請通知系統管理者。")
    return error(message, 500, request_id=request_id)


def server_error(request, exc: BaseException) -> JsonResponse:
    """A bug inside the API: logged once, with its traceback, as Django logs a 500 (so ADMINS
    and Sentry hear of it), and answered JSON. Django would log the 500 answer again, without
    the traceback, unless log_response marks it as logged."""
    response = server_error_answer(request)
    log_response(
        "Internal Server Error: %s", request.path, response=response, request=request, exception=exc
    )
    return response
