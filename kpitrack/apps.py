from django.apps import AppConfig


class KpitrackConfig(AppConfig):
    name = "kpitrack"
    verbose_name = "kpitrack"
