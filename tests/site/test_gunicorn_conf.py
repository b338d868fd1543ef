"""kpitrack/gunicorn.conf.py's hooks, in an interpreter that has imported nothing of kpitrack."""

import json
import os

from tests import interpreters
from tests.site.servers import ROOT

CHECK = """
import json, runpy, sys
import django
conf = runpy.run_path("kpitrack/gunicorn.conf.py")
django.setup()
before = "performance.views" in sys.modules
conf["post_worker_init"](None)
print(json.dumps([before, "performance.views" in sys.modules, "kpitrack.urls" in sys.modules]))
"""


def test_a_worker_imports_every_view_before_its_first_request():
    env = {
        **os.environ,
        "KPITRACK_ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "kpitrack.settings",
        "DEBUG": "1",
    }
    done = interpreters.run(["-c", CHECK], cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [False, True, True]
