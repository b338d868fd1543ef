"""kpitrack/gunicorn.conf.py's hooks, in an interpreter that has imported nothing of kpitrack."""

import json
import os

import pytest

from tests import interpreters
from tests.site.servers import ROOT

CHECK = """
import json, runpy, sys
import django
conf = runpy.run_path("kpitrack/gunicorn.conf.py")
django.setup()
before = ["performance.views" in sys.modules, "weasyprint" in sys.modules]
conf["post_worker_init"](None)
after = ["performance.views" in sys.modules, "kpitrack.urls" in sys.modules]
print(json.dumps([before, after, "weasyprint" in sys.modules]))
"""


def _post_worker_init(**env) -> list:
    env = {
        **os.environ,
        "KPITRACK_ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "kpitrack.settings",
        "DEBUG": "1",
        "CELERY_BROKER_URL": "",
        **env,
    }
    done = interpreters.run(["-c", CHECK], cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_a_worker_imports_every_view_before_its_first_request():
    before, after, _weasyprint = _post_worker_init()
    assert before == [False, False] and after == [True, True]


@pytest.mark.parametrize(("broker", "imported"), [("", True), ("redis://127.0.0.1:6379/0", False)])
def test_a_worker_whose_pool_renders_the_pdfs_imports_weasyprint_before_its_first_job(
    broker, imported
):
    """Without a broker the worker's own pool renders; with one, only Celery workers do."""
    _before, _after, weasyprint = _post_worker_init(CELERY_BROKER_URL=broker)
    assert weasyprint is imported
