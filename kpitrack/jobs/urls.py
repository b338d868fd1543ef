from django.urls import path

from . import views

urlpatterns = [
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/<int:pk>/", views.job_page, name="job"),
    path("jobs/<int:pk>/status/", views.job_status, name="job-status"),
    path("jobs/<int:pk>/download/", views.job_download, name="job-download"),
    path("jobs/<int:pk>/cancel/", views.job_cancel_view, name="job-cancel"),
]
