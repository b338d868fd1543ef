# ruff: noqa: F811  (pytest passes the imported `browser_page` fixture by name)
"""The API's docs page in Debian's chromium: Swagger UI from the vendored files, every endpoint
shown, and not one request leaving the site."""

import pytest

from tests.browser.conftest import chromium, chromium_browser  # noqa: F401
from tests.browser.test_pages import browser_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_page_shows_every_endpoint_without_leaving_the_site(live_server, browser_page):
    page = browser_page
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert "/api/v1/results/" in paths and len(page.locator(".opblock").all()) == 7
    outside = [url for url in requested if not url.startswith((live_server.url, "data:", "blob:"))]
    assert not outside, outside
