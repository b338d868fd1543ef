from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerformanceConfig(AppConfig):
    name = "performance"
    verbose_name = _("績效指標")

    def ready(self):
        # Says what each write touches and refreshes the stored outcomes on commit; budget's
        # writes (policies, 複核) reach them through kpitrack.core.writes, never by import.
        from .services import outcomes  # noqa: F401
