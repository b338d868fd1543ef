"""Every route of the JSON API v1, in one place (one include in kpitrack.urls): the NinjaAPI's
endpoints, its OpenAPI document and docs page under api/v1/, and a JSON 404 for any other
address under api/. django-ninja answers a method an endpoint lacks (and its own root) in plain
text or HTML; the routes here are wrapped so those answers are JSON too."""

from functools import wraps

from django.http import Http404, HttpResponseNotAllowed
from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from .errors import error, refusal_answer
from .main import api


def _json_edges(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return not_found(request)
        if isinstance(response, HttpResponseNotAllowed):
            refused = error(_("這個網址不接受此請求方法。"), 405)
            refused["Allow"] = response["Allow"]
            return refused
        return response

    return wrapped


@csrf_exempt
def not_found(request, rest=""):
    return refusal_answer(Http404())


def _routes():
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = _json_edges(pattern.callback)
    patterns.append(re_path(r"^(?P<rest>(?:.*/)?)$", not_found, name="not-found"))
    return patterns, app_name, namespace


urlpatterns = [
    path("api/v1/", _routes()),
    # Other versions or addresses under api/ (ending in a slash, so CommonMiddleware still adds
    # a missing one to a real endpoint's address).
    re_path(r"^api/(?:.*/)?$", not_found, name="api-not-found"),
]
