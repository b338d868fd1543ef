"""Per-user API tokens: the one place that makes, replaces and checks them."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from .models import ApiToken

PREFIX = "kpt_"


def _digest(key: str) -> str:
    # The key is 256 random bits, so a plain SHA-256 is enough; no salt or slow hash is needed.
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user) -> str:
    """A new key for `user`, replacing the ones they held; returns the key (shown once)."""
    key = PREFIX + secrets.token_urlsafe(32)
    for old in ApiToken.objects.filter(user=user):
        old.delete()
    ApiToken.objects.create(user=user, key_hash=_digest(key), prefix=key[: len(PREFIX) + 4])
    return key


def user_for_token(key: str):
    """The active user holding `key`, or None."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_digest(key), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user
