"""`manage.py create_api_token USER [--days N]`: a key shown once, only its hash at rest; it
stops working when its user's password changes, while its user is inactive, and when it
expires, each refusal saying which."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import CommandError, call_command
from django.utils import timezone

from kpitrack.models import ApiToken
from kpitrack.tokens import MAX_DAYS, TokenRefused, user_for_token

pytestmark = pytest.mark.django_db


def _create(username: str, *args) -> str:
    out = StringIO()
    call_command("create_api_token", username, *args, stdout=out)
    return out.getvalue().strip()


def _refusal(key: str) -> TokenRefused:
    with pytest.raises(TokenRefused) as excinfo:
        user_for_token(key)
    return excinfo.value


def test_it_prints_a_key_that_identifies_the_user_and_stores_only_its_hash(bob):
    key = _create("bob")
    token = ApiToken.objects.get(user=bob)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {token.key_hash, token.prefix}
    assert token.expires_at is None
    assert user_for_token(key) == bob
    assert _refusal(key + "x").reason == "unknown"


def test_a_new_key_replaces_the_old_one(bob):
    old = _create("bob")
    new = _create("bob")
    assert _refusal(old).reason == "unknown"
    assert user_for_token(new) == bob


def test_it_refuses_an_unknown_or_inactive_user(bob):
    with pytest.raises(CommandError):
        _create("nobody")
    bob.is_active = False
    bob.save()
    with pytest.raises(CommandError):
        _create("bob")


def test_an_inactive_users_key_opens_nothing(bob):
    key = _create("bob")
    bob.is_active = False
    bob.save()
    refused = _refusal(key)
    assert refused.reason == "inactive" and "停用" in refused.message


def test_a_password_change_revokes_the_key(bob):
    key = _create("bob")
    bob.set_password("a-new-password-2026")
    bob.save()
    refused = _refusal(key)
    assert refused.reason == "revoked" and "密碼已變更" in refused.message
    # Setting the same password again is still a change of hash (a new salt): the key stays dead.
    bob.set_password("bob-password")
    bob.save()
    assert _refusal(key).reason == "revoked"


def test_a_key_made_after_the_change_works(bob):
    _create("bob")
    bob.set_password("a-new-password-2026")
    bob.save()
    assert user_for_token(_create("bob")) == bob


def test_a_hash_upgraded_at_sign_in_is_no_password_change(bob):
    """Django re-hashes a checked password whose hash is weaker than it now makes (here: a salt
    too short); the password is the same, so the key keeps working."""
    bob.password = make_password("bob-password", salt="short")
    bob.save()
    key = _create("bob")
    assert bob.check_password("bob-password")
    bob.refresh_from_db()
    assert "$short$" not in bob.password  # upgraded
    assert user_for_token(key) == bob


def test_days_sets_an_expiry_and_an_expired_key_says_so(bob):
    key = _create("bob", "--days", "30")
    token = ApiToken.objects.get(user=bob)
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert user_for_token(key) == bob
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused = _refusal(key)
    assert refused.reason == "expired" and "到期" in refused.message


@pytest.mark.parametrize("days", ["0", "-3", "abc", "1.5", "", str(MAX_DAYS + 1)])
def test_a_bad_number_of_days_is_refused_and_no_key_is_made(bob, days):
    with pytest.raises(CommandError) as excinfo:
        _create("bob", "--days", days)
    assert "--days" in str(excinfo.value) and f"1 to {MAX_DAYS}" in str(excinfo.value)
    assert not ApiToken.objects.filter(user=bob).exists()
