"""Every route of the JSON API v1, in one place (one include in kpitrack.urls)."""

from django.urls import path

from . import achievements, dashboards, results

urlpatterns = [
    path("api/v1/achievements/", achievements.achievements, name="api-achievements"),
    path("api/v1/results/", results.results, name="api-results"),
    path("api/v1/dashboards/<slug:agency>/", dashboards.overview, name="api-dashboard-overview"),
    path(
        "api/v1/dashboards/<slug:agency>/indicators/",
        dashboards.indicators,
        name="api-dashboard-indicators",
    ),
    path(
        "api/v1/dashboards/<slug:agency>/units/<slug:unit>/",
        dashboards.unit,
        name="api-dashboard-unit",
    ),
    path(
        "api/v1/dashboards/<slug:agency>/indicators/<slug:code>/",
        dashboards.indicator,
        name="api-dashboard-indicator",
    ),
]
