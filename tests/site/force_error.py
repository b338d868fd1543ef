"""Run in a fresh interpreter by tests/site/test_logging.py, so the logging, ADMINS and Sentry
settings are the ones the environment gives, as in a deployed site: one GET of a failing
address (tests/site/failing_urls.py). The logs go to standard error as configured; the answer is
printed as the last line of standard output, as JSON."""

import json
import sys

import django


def main(path: str) -> None:
    django.setup()
    from django.conf import settings
    from django.test import Client, override_settings

    with override_settings(ROOT_URLCONF="tests.site.failing_urls"):
        response = Client(raise_request_exception=False).get(path)
    if settings.SENTRY_ENABLED:
        import sentry_sdk

        sentry_sdk.flush(timeout=30)
    answer = {
        "status": response.status_code,
        "request_id": response.get("X-Request-ID"),
        "body": response.content.decode(),
    }
    print(json.dumps(answer))


if __name__ == "__main__":
    main(sys.argv[1])
