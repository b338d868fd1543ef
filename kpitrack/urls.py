from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView

from kpitrack import views
from kpitrack.reports import views as reports

admin.site.site_header = "kpitrack"
admin.site.site_title = "kpitrack"

# A database outage met outside a view answers 503 (kpitrack.outage); any other server error the
# 500 page with the request id its logged traceback carries (kpitrack.logs).
handler500 = "kpitrack.logs.server_error"

# A report's files: the PDF shown in the browser, the workbook saved.
PDF = {"fmt": "pdf", "disposition": "inline"}
XLSX = {"fmt": "xlsx", "disposition": "attachment"}

urlpatterns = [
    # Health (issue 15): for load balancers and orchestrators, outside every language prefix.
    path("healthz/", views.healthz, name="healthz"),
    path("readyz/", views.readyz, name="readyz"),
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
        reports.ExportView.as_view(**PDF),
        name="report-pdf",
    ),
    path(
        "reports/<slug:agency>/<slug:kind>/<int:year>/xlsx/",
        reports.ExportView.as_view(**XLSX),
        name="report-xlsx",
    ),
    # The 季管考 report (issue 17)
    path(
        "reports/<slug:agency>/quarterly/<int:year>/q<int:quarter>/",
        reports.QuarterlyReportView.as_view(),
        name="report-quarterly",
    ),
    path(
        "reports/<slug:agency>/quarterly/<int:year>/q<int:quarter>/pdf/",
        reports.QuarterlyExportView.as_view(**PDF),
        name="report-quarterly-pdf",
    ),
    path(
        "reports/<slug:agency>/quarterly/<int:year>/q<int:quarter>/xlsx/",
        reports.QuarterlyExportView.as_view(**XLSX),
        name="report-quarterly-xlsx",
    ),
    # Background jobs (issue 16): the whole ministry's reports as one job, and the job pages.
    path("reports/<slug:agency>/<slug:kind>/<int:year>/all/", reports.bundle, name="report-bundle"),
    path("", include("kpitrack.jobs.urls")),
    path(
        "accounts/login/",
        views.LoginView.as_view(),  # each role's landing page (issue 17): performance/landing.py
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
    # Management screens (管理者): windows, exceptions, locks, reopening (issue 17)
    path("manage/", include("performance.manage_urls")),
    # Review queue (初核, 複核): the results waiting for the user, approved at once (issue 17)
    path("review/", include("performance.queue_urls")),
    # Issue 17: a unit's quarter on one page (performance/unit_urls.py)
    path("", include("performance.unit_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
