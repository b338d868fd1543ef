import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def chromium_browser():
    """Debian's chromium, launched once per test module (a launch costs ~0.7 s of CPU); each test
    opens its pages in contexts of its own, closed after it, so no cookie, storage or cache
    passes from one test to the next."""
    if not shutil.which(CHROMIUM):
        pytest.fail("chromium is not installed: run `make test`, which installs it")
    # Playwright's sync API runs an event loop in this thread; the live server's DB work
    # happens in its own thread, and the test's own ORM calls are plain synchronous ones.
    # The environment is restored afterwards, so later modules keep Django's guard.
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            yield browser
            browser.close()


@pytest.fixture
def chromium(chromium_browser):
    """The module's chromium, for a test that opens its own pages: they are closed after it."""
    yield chromium_browser
    for context in chromium_browser.contexts:
        context.close()
