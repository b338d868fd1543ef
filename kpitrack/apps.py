from django.apps import AppConfig


class KpitrackConfig(AppConfig):
    name = "kpitrack"
    verbose_name = "kpitrack"

    def ready(self):
        from kpitrack import logs

        logs.connect()  # sign-in, sign-out and failed sign-in records (docs/logging.md)
