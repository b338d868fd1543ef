"""gunicorn's settings (`gunicorn -c kpitrack/gunicorn.conf.py`; `make serve` runs it through
kpitrack/serve.py): read from the environment, then .env, like every other setting
(kpitrack/settings.py), and checked the same way."""

import os

from django.core.exceptions import ImproperlyConfigured

# The settings module reads .env and checks every value: a missing SECRET_KEY stops the master
# here, before any worker starts.
from kpitrack.settings import env_int

wsgi_app = "kpitrack.wsgi:application"

# 127.0.0.1 unless told otherwise: a reverse proxy on this machine forwards to it. BIND_HOST=0.0.0.0
# listens on every interface (a container).
_port = env_int("PORT", 8000, minimum=1)
if _port > 65535:
    raise ImproperlyConfigured(f"PORT={_port} is not a TCP port (1-65535)")
bind = [f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{_port}"]

# Sync workers, each serving one request at a time with one database connection; twice the cores
# plus one keeps the CPU busy while some wait on the database.
workers = env_int("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1, minimum=1)

# A worker silent for longer is killed and its request answers 502. The slowest requests are the
# budget explanations as PDF, 8-15 s on a loaded 2-core machine (README, "Running as a
# service"); 90 s leaves them six times that and stays below nginx's proxy_read_timeout (120 s,
# deploy/nginx/kpitrack.conf), so gunicorn's limit is the one that acts.
timeout = env_int("GUNICORN_TIMEOUT", 90, minimum=1)
graceful_timeout = 30

# One line per request on stdout, errors on stderr: the service manager keeps both.
accesslog = "-"
errorlog = "-"

# No control socket: its default path is one per user, which two servers on one machine (or the
# tests) would fight over.
control_socket_disable = True


def post_worker_init(worker):
    """Each worker builds as it starts what its first request of each kind would otherwise
    have built (kpitrack.warmup: the views, the URL reverse dictionary per language, the
    templates, the report key's tables on its database connection): a new worker's first
    request took 40-120 ms against 2-12 ms for the next (docs/benchmarks.md, "A worker's first
    requests")."""
    import gc

    from kpitrack.warmup import warm_worker

    warm_worker()
    # What is loaded by now lives as long as the worker: out of the collector's sight
    # (gc.freeze), so that its full collections, one every few hundred requests, stop walking
    # every module, class and template of the process: 63 ms for one, in process with the
    # load bench's mix; none in as many requests after the freeze (docs/benchmarks.md, "A
    # worker's collector").
    gc.collect()
    gc.freeze()
