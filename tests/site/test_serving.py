"""With DEBUG off the site still looks like itself: its own 404 and 500 pages, static files."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import include, path

from kpitrack.urls import handler500  # noqa: F401  (the site's own, read from the root URLconf)


def _boom(request):
    raise RuntimeError("a bug")


# This module is also the URL configuration of the 500 test: the site plus one failing view.
urlpatterns = [path("boom/", _boom), path("", include("kpitrack.urls"))]


@pytest.mark.django_db
@override_settings(DEBUG=False)
@pytest.mark.parametrize(
    ("language", "heading"), [("zh-hant", "找不到這個頁面"), ("en", "Page not found")]
)
def test_an_unknown_address_answers_the_sites_404_page_in_the_users_language(language, heading):
    response = Client(headers={"accept-language": language}).get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert f"<h1>{heading}</h1>" in page
    assert '<header class="site">' in page
    assert "/static/css/site.css" in page


@pytest.mark.urls(__name__)
@override_settings(DEBUG=False)
@pytest.mark.parametrize(
    ("language", "heading"), [("zh-hant", "系統發生錯誤"), ("en", "Server error")]
)
def test_a_failing_page_answers_the_sites_500_page_without_touching_the_database(language, heading):
    # No django_db mark: any query while rendering the error page would fail this test.
    client = Client(headers={"accept-language": language}, raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    page = response.content.decode()
    assert f"<h1>{heading}</h1>" in page
    assert '<header class="site">' in page
    assert "a bug" not in page


def test_static_files_are_served_with_debug_off(tmp_path):
    # As `make run` does: collect, then WhiteNoise serves the collected folder. The admin's and
    # django-ninja's files are left out: compressing ninja's 6 MB of API-docs bundles twice (gzip,
    # brotli) cost ~20 s of CPU here, and .ci/run's `make serve` collects everything anyway.
    with override_settings(STATIC_ROOT=tmp_path):
        call_command(
            "collectstatic", interactive=False, verbosity=0, ignore_patterns=["admin", "ninja"]
        )
        with override_settings(DEBUG=False):
            response = Client().get("/static/css/site.css")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"--accent" in b"".join(response.streaming_content)


def test_collectstatic_leaves_out_what_no_page_loads(tmp_path):
    """Source maps and django-ninja's ReDoc (the API page is its Swagger UI, whose files stay)."""
    out = StringIO()
    with override_settings(STATIC_ROOT=tmp_path):
        call_command("collectstatic", interactive=False, verbosity=2, dry_run=True, stdout=out)
    listed = out.getvalue()
    assert "ninja/swagger-ui-bundle.js'" in listed and "css/site.css" in listed
    assert ".map'" not in listed and "redoc" not in listed
