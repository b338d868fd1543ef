"""The URL configuration of the tests of what a server error leaves behind: the site, its own
500 handler, and two addresses that fail. Only tests route here (tests/site/test_logging.py)."""

from django.urls import include, path

from kpitrack.urls import handler500  # noqa: F401  (Django reads the root URLconf's handler)


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("boom/", boom),
    # Under /api/ but outside django-ninja: an error here must still answer the API's JSON.
    path("api/boom/", boom),
    path("", include("kpitrack.urls")),
]
