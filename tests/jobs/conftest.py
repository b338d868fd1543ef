import pytest


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Each test's stored exports and job files in a folder of its own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_BROKER_URL = ""
    return settings.MEDIA_ROOT


@pytest.fixture
def as_bob(client, bob):
    client.force_login(bob)
    return client
