"""Per-user API tokens: the one place that makes, replaces and checks them.

A key stops working when it expires, when its user's password changes (the key keeps a
fingerprint of the password hash it was made under) and while its user is inactive. A hash
that Django merely upgrades at sign-in (a new hasher or more iterations, the same password) is
no change: the keys are re-fingerprinted (`keep_keys_through_rehash`).
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .models import ApiToken

PREFIX = "kpt_"
# Long enough for any real use, short of the dates the database cannot hold.
MAX_DAYS = 3650


class TokenRefused(Exception):
    """A key that opens nothing; `reason` is one of unknown, expired, revoked, inactive."""

    def __init__(self, reason: str, message: str, token: ApiToken | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.token = token


def _digest(key: str) -> str:
    # The key is 256 random bits, so a plain SHA-256 is enough; no salt or slow hash is needed.
    return hashlib.sha256(key.encode()).hexdigest()


def fingerprint(user, password_hash: str | None = None) -> str:
    """Changes whenever the user's password hash does (the hash itself stays out of the token
    table)."""
    return hashlib.sha256((password_hash or user.password).encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user, days: int | None = None) -> str:
    """A new key for `user`, replacing the ones they held, valid for `days` days (None: until
    revoked); returns the key (shown once)."""
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    key = PREFIX + secrets.token_urlsafe(32)
    for old in ApiToken.objects.filter(user=user):
        old.delete()
    ApiToken.objects.create(
        user=user,
        key_hash=_digest(key),
        prefix=key[: len(PREFIX) + 4],
        expires_at=timezone.now() + timedelta(days=days) if days is not None else None,
        # The hash as stored, not as a caller's copy of the user may still hold it.
        password_fingerprint=fingerprint(
            user, type(user).objects.values_list("password", flat=True).get(pk=user.pk)
        ),
    )
    return key


def token_for_key(key: str) -> ApiToken:
    """The token of `key`, with its user, if it may be used now; TokenRefused says why not."""
    token = ApiToken.objects.select_related("user").filter(key_hash=_digest(key)).first()
    if token is None:
        raise TokenRefused("unknown", _("API 金鑰無效。"))
    user = token.user
    if not user.is_active:
        raise TokenRefused("inactive", _("API 金鑰已失效：使用者帳號已停用。"), token)
    if token.password_fingerprint != fingerprint(user):
        message = _("API 金鑰已失效：建立金鑰後使用者的密碼已變更，請重新建立金鑰。")
        raise TokenRefused("revoked", message, token)
    if token.expires_at is not None and token.expires_at <= timezone.now():
        when = date_format(timezone.localtime(token.expires_at), "DATETIME_FORMAT")
        message = _("API 金鑰已於 %(when)s 到期，請重新建立金鑰。") % {"when": when}
        raise TokenRefused("expired", message, token)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def user_for_token(key: str):
    """The user whose key `key` may be used now; TokenRefused says why not."""
    return token_for_key(key).user


def keep_keys_through_rehash(sender, instance, update_fields=None, **kwargs):
    """post_save of the user model: Django saves only the password, with no new password set,
    when it upgrades the hash of a password just checked (its own words: "Password hash upgrades
    shouldn't be considered password changes"); the keys follow the new hash. Should Django stop
    marking upgrades this way, keys are revoked at an upgrade: safe, never the other way."""
    upgrade = update_fields is not None and set(update_fields) == {"password"}
    if upgrade and getattr(instance, "_password", "") is None:
        ApiToken.objects.filter(user=instance).update(password_fingerprint=fingerprint(instance))
