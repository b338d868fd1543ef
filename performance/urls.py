from django.urls import path

from . import views

urlpatterns = [
    path("work/", views.my_work, name="my-work"),
    path("work/<int:indicator>/q<int:quarter>/", views.entry, name="result-entry"),
    path("work/<int:indicator>/q<int:quarter>/preview/", views.preview, name="result-preview"),
    path("work/<int:indicator>/q<int:quarter>/review/", views.review, name="result-review"),
    path(
        "work/<int:indicator>/q<int:quarter>/evidence/",
        views.evidence_upload,
        name="evidence-upload",
    ),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence-download"),
    path("indicators/<int:indicator>/history/", views.history, name="indicator-history"),
    # Issue 17: 分季目標 (milestones), set by the planning office.
    path("indicators/<int:indicator>/milestones/", views.milestones, name="indicator-milestones"),
]
