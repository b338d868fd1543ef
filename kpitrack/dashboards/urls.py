"""The dashboards' pages (their JSON twins are routed by kpitrack.api.urls)."""

from django.urls import path

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
]
