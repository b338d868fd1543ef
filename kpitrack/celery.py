"""The Celery application of `celery -A kpitrack worker` (`make worker`); settings come from
Django's (CELERY_BROKER_URL and the CELERY_* names)."""

import os

from celery import Celery
from celery.signals import worker_init
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpitrack.settings")

# Only a site with a broker has workers: without one, jobs run in the web processes, and a worker
# would wait on a default broker that is not there.
if not settings.CELERY_BROKER_URL:
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL is not set: without a broker jobs run in the web processes, and a "
        "worker has no queue to read (README, Background jobs)"
    )

app = Celery("kpitrack")


@worker_init.connect
def _lower_priority(**kwargs):
    """The worker's processes (its pool's, started after this) run jobs only: below the web
    requests' priority (JOBS_NICE), as the in-process pool's threads are."""
    from kpitrack.jobs.priority import lower_priority

    lower_priority(whole_process=True)


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["kpitrack.jobs"])
