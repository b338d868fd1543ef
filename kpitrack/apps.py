from django.apps import AppConfig


class KpitrackConfig(AppConfig):
    name = "kpitrack"
    verbose_name = "kpitrack"

    def ready(self):
        from kpitrack import logs

        logs.connect()  # sign-in, sign-out and failed sign-in records (docs/logging.md)
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        from .tokens import keep_keys_through_rehash

        post_save.connect(
            keep_keys_through_rehash,
            sender=get_user_model(),
            dispatch_uid="kpitrack.tokens.keep_keys_through_rehash",
        )
