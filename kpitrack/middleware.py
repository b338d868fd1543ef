"""Refuse requests carrying characters no page can use, before any view or database sees them.

PostgreSQL refuses NUL in text (a 500 deep inside a query), XML-based exports (xlsx) refuse C0
controls, and lone surrogates cannot be encoded at all; none of them belongs in a KPI figure,
name or address, so they are answered with 400 and a message at the door.
"""

from django.core.exceptions import (
    BadRequest,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

# Only the API's error shape (a module of plain Django): an API caller reads JSON, not a page.
from kpitrack.api.errors import error as api_error
from kpitrack.api.errors import refusal_answer
from kpitrack.core.answers import answers_json
from kpitrack.core.text import has_unusable
from kpitrack.core.text import shown as _shown
from kpitrack.outage import is_database_outage, outage_answer


def unusable_part(request) -> str | None:
    """The message naming the first part of the request with an unusable character, or None."""
    if has_unusable(request.path):
        return _("網址含有無法使用的控制字元，請移除後再試一次。")
    # Only form posts are read: other bodies (uploads, JSON) are their parsers' business.
    fields = [request.GET]
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        fields.append(request.POST)
    for query in fields:
        for name, values in query.lists():
            if has_unusable(name) or any(map(has_unusable, values)):
                return _("欄位「%(name)s」含有無法使用的控制字元，請移除後再試一次。") % {
                    "name": _shown(name)
                }
    return None


class RejectUnusableCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path_info.startswith("/api/")
        try:
            message = unusable_part(request)
        except (SuspiciousOperation, BadRequest, MultiPartParserError) as exc:
            # Too big, too many fields, a broken multipart: Django's 400 page, unless the API's.
            if not api:
                raise
            if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
                return api_error(_("請求的欄位或參數太多。"), 400)
            return refusal_answer(exc) or api_error(_("請以 JSON 格式傳送資料。"), 400)
        if message is None:
            if api and (wanted := _slash_missing(request)):
                return api_error(
                    _("API 網址須以「/」結尾，請改用 %(path)s。") % {"path": wanted}, 404
                )
            return self.get_response(request)
        if answers_json(request):  # the API, or a JSON address outside it (a job's status)
            return api_error(message, 400)
        return render(request, "400.html", {"message": message}, status=400)


def _slash_missing(request) -> str | None:
    """The address an unsafe API request meant when it left off the final slash: Django would
    answer it with a redirect that turns a POST into a GET (or, with DEBUG, an HTML error)."""
    path = request.path_info
    if request.method in ("GET", "HEAD", "OPTIONS") or path.endswith("/"):
        return None
    try:
        resolve(path)
        return None
    except Resolver404:
        pass
    try:
        resolve(path + "/")
    except Resolver404:
        return None
    return request.path + "/"


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY ({feature: [allowed origins]}; an empty list allows no
    one) as the Permissions-Policy header, unless the view set its own."""

    def __init__(self, get_response):
        from django.conf import settings

        self.header = ", ".join(
            f"{feature}=({' '.join(allowed)})"
            for feature, allowed in getattr(settings, "PERMISSIONS_POLICY", {}).items()
        )
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if self.header and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.header
        return response


class DatabaseOutageMiddleware:
    """A view, or the session and user it reads, that cannot reach the database answers 503
    (kpitrack.outage), with DEBUG on too. What fails outside a view (a session saved after it)
    reaches the same answer through kpitrack.logs.server_error, the site's handler500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_outage(exception):
            return outage_answer(request, exception)
        return None
