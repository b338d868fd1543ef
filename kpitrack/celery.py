"""The Celery application of `celery -A kpitrack worker` (`make worker`); settings come from
Django's (CELERY_BROKER_URL and the CELERY_* names)."""

import os

from celery import Celery
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
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["kpitrack.jobs"])
