"""Run by tests/site/test_outage.py and test_health.py in a fresh interpreter (one forked by
tests/interpreters.py) whose DATABASE_URL cannot be opened: asks the site what a test names
through Django's test client (the whole middleware stack) and prints one JSON object per
request. Not a test module (no test_ prefix)."""

import json
import os
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpitrack.settings")

import django  # noqa: E402

django.setup()

from django.http import HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402

import kpitrack.urls  # noqa: E402


def _remember(request):
    # Writes the session of a visitor without one: nothing is read, so the view itself succeeds
    # and the database is first needed when SessionMiddleware saves, after the view.
    request.session["seen"] = True
    return HttpResponse("remembered")


# The site, its error handlers, and the view above.
urls = types.ModuleType("outage_probe_urls")
urls.urlpatterns = [path("remember/", _remember), path("", include("kpitrack.urls"))]
urls.handler500 = kpitrack.urls.handler500
sys.modules[urls.__name__] = urls

answers = []
with override_settings(ROOT_URLCONF=urls.__name__):
    for request in json.loads(sys.argv[1]):
        client = Client(raise_request_exception=False, headers=request.get("headers"))
        if "cookie" in request:
            client.cookies["sessionid"] = request["cookie"]
        method = getattr(client, request.get("method", "get"))
        response = method(request["path"], request.get("data", {}))
        answers.append(
            {
                "status": response.status_code,
                "type": response.get("Content-Type", ""),
                "retry_after": response.get("Retry-After"),
                "body": response.content.decode(),
            }
        )
print(json.dumps(answers, ensure_ascii=False))
