from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PerformanceConfig(AppConfig):
    name = "performance"
    verbose_name = _("績效指標")

    def ready(self):
        from .outcomes import connect_policy_signals

        connect_policy_signals()
