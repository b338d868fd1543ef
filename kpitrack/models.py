from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A per-user key for `Authorization: Token <key>`. Only the key's SHA-256 is kept: the key
    is shown once when created (`create_api_token`), so a copy of the database opens nothing."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("使用者"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    key_hash = models.CharField(_("金鑰雜湊值"), max_length=64, unique=True)
    # The first characters, so an administrator can tell which key a user holds.
    prefix = models.CharField(_("金鑰開頭"), max_length=12)
    created_at = models.DateTimeField(_("建立時間"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最後使用時間"), null=True, blank=True)
    expires_at = models.DateTimeField(
        _("到期時間"), null=True, blank=True, help_text=_("空白表示不會到期。")
    )
    # What the user's password hash was when the key was made (kpitrack.tokens.fingerprint):
    # once the password changes the two differ and the key opens nothing.
    password_fingerprint = models.CharField(_("密碼指紋"), max_length=64, default="")

    class Meta:
        verbose_name = _("API 金鑰")
        verbose_name_plural = _("API 金鑰")

    def __str__(self):
        return f"{self.user} {self.prefix}…"
