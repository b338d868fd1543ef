from importlib import import_module

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "kpitrack.jobs"
    label = "jobs"
    verbose_name = _("背景工作")

    def ready(self):
        # The modules that register job kinds (kpitrack.jobs.kinds.register), imported in every
        # process, web or worker, so a worker knows every kind a page may start. Named in a
        # setting, as INSTALLED_APPS are: the reports layer registers itself, this package
        # never imports it.
        for name in settings.JOB_KIND_MODULES:
            import_module(name)
        # Connected before any request: a job the first request of a process commits waits
        # for its response as every later one does.
        from django.core import signals

        from . import runners

        signals.request_started.connect(runners.request_started, dispatch_uid="kpitrack.jobs")
        signals.request_finished.connect(runners.request_finished, dispatch_uid="kpitrack.jobs")
