from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in


class KpitrackConfig(AppConfig):
    name = "kpitrack"
    verbose_name = "kpitrack"

    def ready(self):
        from kpitrack.sessions import stamp_on_login

        user_logged_in.connect(stamp_on_login, dispatch_uid="kpitrack.sessions.stamp_on_login")
