from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from kpitrack import api, views

admin.site.site_header = "kpitrack"
admin.site.site_title = "kpitrack"

urlpatterns = [
    path("", views.home, name="home"),
    path("achievements/", views.achievements, name="achievements"),
    path("api/v1/achievements/", api.achievements, name="api-achievements"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
