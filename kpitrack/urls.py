from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView

from kpitrack import views
from kpitrack.reports import views as reports

# Logs (issue 15): the 500 page shows the request id its logged traceback carries.
handler500 = "kpitrack.logs.server_error"

admin.site.site_header = "kpitrack"
admin.site.site_title = "kpitrack"

urlpatterns = [
    path("", views.home, name="home"),
    path("achievements/", views.achievements, name="achievements"),
    path("", include("performance.urls")),
    path("", include("kpitrack.api.urls")),
    path("", include("kpitrack.dashboards.urls")),
    path("reports/", reports.index, name="reports"),
    path("reports/pick/", reports.pick, name="report-pick"),
    path(
        "reports/<slug:agency>/<slug:kind>/<int:year>/", reports.ReportView.as_view(), name="report"
    ),
    path(
        "reports/<slug:agency>/<slug:kind>/<int:year>/pdf/",
        reports.ReportPDFView.as_view(),
        name="report-pdf",
    ),
    path(
        "reports/<slug:agency>/<slug:kind>/<int:year>/xlsx/",
        reports.ReportXLSXView.as_view(),
        name="report-xlsx",
    ),
    # Background jobs (issue 16): the whole ministry's reports as one job, and the job pages.
    path("reports/<slug:agency>/<slug:kind>/<int:year>/all/", reports.bundle, name="report-bundle"),
    path("", include("kpitrack.jobs.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="logged-out"), name="logout"),
    path(
        "accounts/logged-out/",
        TemplateView.as_view(template_name="registration/logged_out.html"),
        name="logged-out",
    ),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("workbook/", include("performance.workbook_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
