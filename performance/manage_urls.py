"""The management screens (管理者), under /manage/: performance/manage_views.py."""

from django.urls import path

from . import manage_views as views

QUARTER = "<slug:agency>/<int:year>/q<int:quarter>/"

urlpatterns = [
    path("", views.index, name="manage"),
    path("<slug:agency>/", views.agency, name="manage-agency"),
    path(QUARTER, views.quarter, name="manage-quarter"),
    path(f"{QUARTER}exceptions/", views.exceptions, name="manage-exceptions"),
    path(
        f"{QUARTER}exceptions/<int:pk>/withdraw/",
        views.exception_withdraw,
        name="manage-exception-withdraw",
    ),
    path(f"{QUARTER}lock/", views.lock, name="manage-lock"),
    path(f"{QUARTER}unlock/", views.unlock, name="manage-unlock"),
    path(f"{QUARTER}results/", views.results, name="manage-results"),
    path(f"{QUARTER}results/<int:pk>/reopen/", views.reopen, name="manage-reopen"),
]
