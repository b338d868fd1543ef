"""`manage.py create_api_token USER`: a key shown once, only its hash at rest."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from kpitrack.models import ApiToken
from kpitrack.tokens import user_for_token

pytestmark = pytest.mark.django_db


def _create(username: str) -> str:
    out = StringIO()
    call_command("create_api_token", username, stdout=out)
    return out.getvalue().strip()


def test_it_prints_a_key_that_identifies_the_user_and_stores_only_its_hash(bob):
    key = _create("bob")
    token = ApiToken.objects.get(user=bob)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {token.key_hash, token.prefix}
    assert user_for_token(key) == bob
    assert user_for_token(key + "x") is None


def test_a_new_key_replaces_the_old_one(bob):
    old = _create("bob")
    new = _create("bob")
    assert user_for_token(old) is None
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
    assert user_for_token(key) is None
