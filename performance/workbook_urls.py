from django.urls import path

from . import workbook_views as views

urlpatterns = [
    path("", views.workbook_page, name="workbook"),
    path("download/", views.workbook_download, name="workbook-download"),
    path("upload/", views.workbook_upload, name="workbook-upload"),
    path("confirm/", views.workbook_confirm, name="workbook-confirm"),
]
