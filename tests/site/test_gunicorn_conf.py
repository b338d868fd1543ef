"""kpitrack/gunicorn.conf.py's hooks, in an interpreter that has imported nothing of kpitrack."""

import json
import os

from tests import interpreters
from tests.site.servers import ROOT

CHECK = """
import gc, json, runpy, sys
import django
conf = runpy.run_path("kpitrack/gunicorn.conf.py")
django.setup()
before = "performance.views" in sys.modules
conf["post_worker_init"](None)
from kpitrack.core.bulk import historical_model
from kpitrack.reports import exports
tables = {*exports.PRINTED_MODELS, *exports.QUARTERLY_MODELS}
read = [exports.template_version.cache_info().currsize, historical_model.cache_info().currsize]
print(json.dumps([before, "performance.views" in sys.modules, "kpitrack.urls" in sys.modules]))
print(json.dumps(read == [1, len(tables)]))
print(json.dumps(gc.get_freeze_count() > 10_000))
print(json.dumps(["kpitrack.celery" in sys.modules, "kombu.transport.redis" in sys.modules]))
from pathlib import Path
from django.template import engines
from django.urls import get_resolver
from django.utils.translation import trans_real
compiled = engines["django"].engine.template_loaders[0].get_template_cache
templates = {p.relative_to("templates").as_posix() for p in Path("templates").rglob("*.html")}
print(json.dumps([
    sorted(get_resolver()._reverse_dict),
    sorted(templates - set(compiled)),
    sorted(trans_real._translations),
]))
"""


def _run(**settings):
    """post_worker_init in a fresh interpreter, with these settings: the finished process."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY", "REDIS"))},
        "KPITRACK_ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "kpitrack.settings",
        "DEBUG": "1",
        **settings,
    }
    done = interpreters.run(["-c", CHECK], cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def _start(**settings) -> list[str]:
    """What post_worker_init leaves in a fresh interpreter (CHECK's lines)."""
    return _run(**settings).stdout.splitlines()[-5:]


def test_a_worker_imports_every_view_reads_the_report_keys_parts_and_freezes_them_at_its_start():
    imports, keys, frozen, broker, _built = _start()
    assert json.loads(imports) == [False, True, True]
    assert json.loads(keys) is True, "what every report's key reads once was not read"
    assert json.loads(frozen) is True, "what the worker loaded is left to the collector"
    assert json.loads(broker) == [False, False], "a worker without a broker loaded Celery"


def test_a_worker_loads_what_sending_a_job_to_the_broker_needs_at_its_start():
    """The broker is down here (nothing listens on port 1): the worker starts all the same,
    its first check saying so (kpitrack.jobs.broker)."""
    *_, broker, _built = _start(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    assert json.loads(broker) == [True, True]


def test_a_worker_builds_the_url_reversal_per_language_every_template_and_each_catalog():
    """What a worker's first request of each kind built (kpitrack.warmup): 40-120 ms."""
    *_, built = _start()
    languages, not_compiled, catalogs = json.loads(built)
    assert languages == ["en", "zh-hant"]
    assert not_compiled == []
    assert {"en", "zh-hant"} <= set(catalogs)


def test_a_worker_starts_while_the_database_cannot_be_reached():
    """The first request answers 503 as it would have (kpitrack.outage); the worker must not
    fail to start, or gunicorn would start it again and again."""
    done = _run(DATABASE_URL="postgres://postgres@127.0.0.1:1/never_opened", DB_POOL_TIMEOUT="1")
    assert "database not reached as the worker started" in done.stdout + done.stderr
