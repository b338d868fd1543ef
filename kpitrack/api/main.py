"""The one NinjaAPI behind /api/v1/: how every endpoint authenticates, reads a body and answers
an error. The endpoints live one module per resource (achievements, results, dashboards).

- Who: `Authorization: Token <key>` (kpitrack.tokens) or the signed-in session, on every
  endpoint. A key that is sent must be valid: a bad one is 401 even with a session beside it,
  saying why (unknown, expired, revoked by a password change, user deactivated), and counts
  against the caller's address; too many and the address waits (429, kpitrack.throttle).
- CSRF: a session is a browser's, so its unsafe requests keep Django's CSRF check; a token is
  never sent by a browser on its own, so token requests need none.
- Bodies: JSON objects only, at most MAX_BODY_BYTES and MAX_DEPTH levels deep.
- Errors: always JSON in the shape of kpitrack.api.errors, the status from
  kpitrack.core.refusals.status_of.
- Answers: checked against their schema (kpitrack.api.schemas); each endpoint says
  `exclude_unset=True` so an answer carries exactly the keys the endpoint built (a schema's
  defaults are for the keys some answers leave out, never filled in).
"""

import json
import logging
import re

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaError
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.security import APIKeyCookie, APIKeyHeader
from ninja.utils import check_csrf

from kpitrack import throttle
from kpitrack.core.logs import security_event
from kpitrack.core.refusals import Refusal
from kpitrack.core.text import has_unusable, shown
from kpitrack.outage import is_database_outage, outage_answer
from kpitrack.tokens import TokenRefused, token_for_key

from . import achievements, dashboards, results
from .errors import Invalid, TooLarge, Unauthenticated, error, refusal_answer, server_error
from .schemas import BODY_MESSAGES

# A result's draft is a few figures and five narrative texts: 256 KiB holds five texts of
# 15,000 Chinese characters each. Anything deeper than MAX_DEPTH is not a draft (a draft is 2).
MAX_BODY_BYTES = 256 * 1024
MAX_DEPTH = 8
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


class TokenAuth(APIKeyHeader):
    """`Authorization: Token <key>`, a key made by `manage.py create_api_token USER`."""

    param_name = "Authorization"
    openapi_description = "Token <key>（python manage.py create_api_token USER）"

    def authenticate(self, request, key):
        if not key:
            return None  # no key sent: the session may speak
        if not throttle.token_allowed(request):
            throttle.token_failed(request)  # a try during the wait counts, as a sign-in's does
            raise throttle.token_throttled()
        scheme, _sep, value = key.partition(" ")
        try:
            if scheme.lower() != "token" or not value.strip():
                raise TokenRefused("unknown", _("API 金鑰無效。"))
            token = token_for_key(value.strip())
        except TokenRefused as refused:
            security_event(
                "api_token_refused",
                level=logging.WARNING,
                request=request,
                reason=refused.reason,
                token=refused.token.prefix if refused.token else None,
                path=request.path,
            )
            # At the limit axes flags the request and its middleware answers 429 instead.
            throttle.token_failed(request)
            raise Unauthenticated(refused.message) from None
        security_event(
            "api_token_used",
            request=request,
            user=token.user.get_username(),
            token=token.prefix,
            path=request.path,
        )
        request.user = token.user  # so history and anything reading request.user sees the caller
        return token.user


class SessionAuth(APIKeyCookie):
    """The signed-in session; its unsafe requests must carry the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self):
        # csrf=True tells the docs page to send the CSRF token with "Try it out"; the check itself
        # is below (django-ninja's would run before knowing whether the caller is signed in).
        super().__init__(csrf=True)

    def __call__(self, request):
        return self.authenticate(request, None)

    def authenticate(self, request, key):
        if not request.user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise PermissionDenied(_("CSRF 驗證失敗，請重新載入頁面。"))
        return request.user


class Renderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str) -> int:
    """How deep the JSON text nests, counted before parsing (which could recurse that deep)."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def unusable_field(value, path: str = "") -> str | None:
    """The field (dotted, as the API's `errors` name fields) of the first string or key holding
    an unusable character (kpitrack.core.text), or None. The depth is bounded already."""
    if isinstance(value, str):
        return (path or "non_field_errors") if has_unusable(value) else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        field = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and has_unusable(key):
            return shown(field)
        if (found := unusable_field(item, field)) is not None:
            return found
    return None


class BodyParser(Parser):
    """A JSON object within the limits, or a refusal that says which limit."""

    def parse_body(self, request):
        if request.content_type != "application/json":
            raise Refusal(_("請以 JSON 格式傳送資料。"))
        if len(request.body) > MAX_BODY_BYTES:
            raise TooLarge(
                _("資料過大：API 一次最多接受 %(size)s KB。") % {"size": MAX_BODY_BYTES // 1024}
            )
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refusal(_("請以 JSON 格式傳送資料。")) from None
        if nesting_depth(text) > MAX_DEPTH:
            raise Refusal(_("巢狀層次太深（最多 %(max)s 層）。") % {"max": MAX_DEPTH})
        try:
            body = json.loads(text)
        except ValueError:
            raise Refusal(_("請以 JSON 格式傳送資料。")) from None
        if not isinstance(body, dict):
            raise Refusal(_("請以 JSON 物件傳送資料。"))
        # As the middleware refuses them in forms: stored, they break the xlsx exports later.
        if (field := unusable_field(body)) is not None:
            message = _("欄位「%(name)s」含有無法使用的控制字元，請移除後再試一次。") % {
                "name": field
            }
            raise Invalid({field: [message]})
        return body


class Api(NinjaAPI):
    def get_content_type(self) -> str:
        return "application/json"  # JSON is UTF-8 by definition (RFC 8259): no charset

    def get_openapi_operation_id(self, operation) -> str:
        return operation.view_func.__name__  # each endpoint's function name is unique

    def set_default_exception_handlers(self):
        self.add_exception_handler(Exception, _any_exception)
        self.add_exception_handler(HttpError, _http_error)
        self.add_exception_handler(SchemaError, _schema_error)


def _any_exception(request, exc):
    if isinstance(exc, RawPostDataException):  # a form body already read by the CSRF check
        return error(_("請以 JSON 格式傳送資料。"), 400)
    if is_database_outage(exc):
        return outage_answer(request, exc)
    return refusal_answer(exc) or server_error(request, exc)


def _http_error(request, exc):
    # The body parser's refusals reach here wrapped by django-ninja ("Cannot parse request body").
    if exc.__cause__ is not None and (answer := refusal_answer(exc.__cause__)) is not None:
        return answer
    if isinstance(exc, AuthenticationError):
        return refusal_answer(Unauthenticated(""))
    return error(exc.message, exc.status_code)


def _message(path: tuple, kind: str) -> str:
    found = BODY_MESSAGES.get(path)
    if isinstance(found, dict):
        found = found.get(kind, found["*"])
    if found is not None:
        return str(found)
    return _("此欄位為必填。") if kind == "missing" else _("格式不正確。")


def _schema_error(request, exc):
    """Parameters or a body that do not fit their schema: 400 with messages per field."""
    errors = {}
    for problem in exc.errors:
        source, *path = problem["loc"]
        if source == "body":
            path = path[1:]  # the body parameter's own name
        if len(path) > 1 and (path[0], "*") in BODY_MESSAGES:
            key, field = (path[0], "*"), f"{path[0]}.{path[1]}"
        else:
            key, field = tuple(path[:1]), ".".join(str(p) for p in path[:1]) or "non_field_errors"
        message = _message(key, problem["type"])
        if message not in errors.setdefault(field, []):  # one per field, not one per union arm
            errors[field].append(message)
    return refusal_answer(Invalid(errors))


api = Api(
    title="kpitrack API",
    version="1",
    description=(
        "績效指標的達成情形、季填報與儀表板資料。以工作階段（登入）或 "
        '`Authorization: Token <key>` 呼叫；錯誤一律為 JSON：`{"error": "…"}`，'
        "400 另附各欄位的 `errors`，409 另附 `current`。"
    ),
    urls_namespace="api",
    auth=[TokenAuth(), SessionAuth()],
    renderer=Renderer(),
    parser=BodyParser(),
    # No validator badge: it would be fetched from validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("", achievements.router)
api.add_router("", results.router)
api.add_router("", dashboards.router)
