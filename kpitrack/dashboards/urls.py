"""The dashboards' pages and their JSON twins under /api/v1/ (one include in kpitrack.urls)."""

from django.urls import path

from kpitrack.api import dashboards as api

from . import views

app_name = "dashboards"

urlpatterns = [
    path("dashboards/", views.index, name="index"),
    path("dashboards/<slug:agency>/", views.overview_view, name="overview"),
    path("dashboards/<slug:agency>/indicators/", views.indicators_view, name="indicators"),
    path("dashboards/<slug:agency>/units/<slug:unit>/", views.unit_view, name="unit"),
    path(
        "dashboards/<slug:agency>/indicators/<slug:code>/",
        views.indicator_view,
        name="indicator",
    ),
    path("api/v1/dashboards/<slug:agency>/", api.overview, name="api-overview"),
    path("api/v1/dashboards/<slug:agency>/indicators/", api.indicators, name="api-indicators"),
    path("api/v1/dashboards/<slug:agency>/units/<slug:unit>/", api.unit, name="api-unit"),
    path(
        "api/v1/dashboards/<slug:agency>/indicators/<slug:code>/",
        api.indicator,
        name="api-indicator",
    ),
]
