"""The Celery application of `celery -A kpitrack worker` (`make worker`); settings come from
Django's (CELERY_BROKER_URL and the CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpitrack.settings")

app = Celery("kpitrack")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["kpitrack.jobs"])
