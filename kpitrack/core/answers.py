"""The one shape of every JSON answer the site gives, the API's and the few JSON addresses
outside it (a job's status, the readiness check, the outage's 503): UTF-8 text as is, and an
error as `{"error": "<message in the request's language>", "request_id": "<id>", …}`, the id
being the one `X-Request-ID` and the log's records carry, so a caller can quote it.

Here in the core, which imports no app, so the API (kpitrack.api.errors adds its refusals), the
job pages and the site's own addresses share it without importing each other."""

from functools import wraps

from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from kpitrack.core.logs import current_request_id

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def answer(data, status: int = 200) -> JsonResponse:
    """UTF-8 JSON with the text as is (not \\u-escaped), typed plain `application/json`."""
    return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


def error(message: str, status: int, /, **extra) -> JsonResponse:
    """Every JSON error: its message, and the id of the request; `extra` adds keys (the API's
    field `errors`, a 409's `current`, the readiness check's `status` and `failed`: hence
    `status` positional only)."""
    extra.setdefault("request_id", current_request_id())
    return answer({"error": str(message), **extra}, status)


def json_endpoint(*methods: str, signed_in: bool = True):
    """A JSON address outside the API, answering only `methods` (safe ones: it changes
    nothing). Where Django would answer an empty 405 (require_GET) or a redirect to the sign-in
    page (login_required), its script gets an error in the one shape: 405 with `Allow` for
    another method, then 401 for a visitor not signed in when `signed_in`.

    Exempt from CSRF, or a POST would meet Django's HTML 403 before the 405: with safe methods
    only, whatever else arrives is refused here before the view does anything."""
    methods = tuple(m.upper() for m in methods)
    if not methods or not set(methods) <= SAFE_METHODS:
        raise ValueError(f"a JSON endpoint takes safe methods only, not {methods}")

    def decorate(view):
        @wraps(view)
        def endpoint(request, *args, **kwargs):
            if request.method not in methods:
                response = error(_("這個網址不接受此請求方法。"), 405)
                response["Allow"] = ", ".join(methods)
                return response
            if signed_in and not request.user.is_authenticated:
                return error(_("請先登入。"), 401)
            return view(request, *args, **kwargs)

        endpoint = csrf_exempt(endpoint)
        endpoint.answers_json = True
        return endpoint

    return decorate


def answers_json(request) -> bool:
    """Whether the request's address answers JSON (the API, or a json_endpoint view), so an
    answer given outside its view (a middleware's 400, the outage's 503, the 500) is JSON
    there too. Before the view is chosen (in a middleware) the address is resolved here."""
    if request.path_info.startswith("/api/"):
        return True
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return False
    return getattr(match.func, "answers_json", False)
