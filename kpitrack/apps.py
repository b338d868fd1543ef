from django.apps import AppConfig


class KpitrackConfig(AppConfig):
    name = "kpitrack"
    verbose_name = "kpitrack"

    def ready(self):
        # Imported here, not at the top: they import models, which are not ready before this.
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_save

        from kpitrack import logs
        from kpitrack.sessions import stamp_on_login
        from kpitrack.tokens import keep_keys_through_rehash

        logs.connect()  # sign-in, sign-out and failed sign-in records (docs/logging.md)
        # A re-hash of the same password at sign-in must not revoke the user's API keys.
        post_save.connect(
            keep_keys_through_rehash,
            sender=get_user_model(),
            dispatch_uid="kpitrack.tokens.keep_keys_through_rehash",
        )
        # Idle expiry counts from the sign-in (kpitrack/sessions.py).
        user_logged_in.connect(stamp_on_login, dispatch_uid="kpitrack.sessions.stamp_on_login")
