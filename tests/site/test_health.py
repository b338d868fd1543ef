"""/healthz/ answers while the process runs, touching nothing; /readyz/ answers 200 only when
every check of kpitrack/health.py passes, else 503 naming each failed check (and no secret)."""

import json

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.files.storage import InMemoryStorage
from django.test import Client, override_settings

from tests import interpreters
from tests.conftest import ROOT
from tests.site.servers import site_env

# A Redis port nobody listens on, with a password that must never be shown.
UNREACHABLE_REDIS = "redis://:s3cret-password@127.0.0.1:1/1"


def _redis(url):
    return {
        "REDIS_URL": url,
        "CACHES": {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
            }
        },
    }


def test_healthz_answers_without_a_database_session_or_sign_in():
    # No django_db mark: any query would fail this test.
    response = Client(enforce_csrf_checks=True).get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies  # neither a session nor a CSRF cookie


@pytest.mark.parametrize("address", ["/healthz/", "/readyz/"])
def test_health_addresses_take_no_language_prefix_and_answer_get_only(address, db):
    response = Client(headers={"accept-language": "en"}).get(address)
    assert response.status_code == 200
    # Another method: the error shape of every JSON answer (kpitrack.core.answers), not
    # Django's empty 405, nor its HTML 403 for a POST without a CSRF token.
    refused = Client(enforce_csrf_checks=True).post(address)
    assert refused.status_code == 405
    assert refused["Allow"] == "GET, HEAD"
    assert refused.json() == {
        "error": "這個網址不接受此請求方法。",
        "request_id": refused["X-Request-ID"],
    }


@pytest.mark.django_db
def test_readyz_answers_200_when_everything_is_ready():
    response = Client().get("/readyz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert not response.cookies


@pytest.mark.django_db
def test_readyz_checks_the_shared_cache_when_one_is_configured():
    # The real Redis on this machine (db 1): written, read back and removed.
    with override_settings(**_redis("redis://127.0.0.1:6379/1")):
        response = Client().get("/readyz/")
    caches.close_all()
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_readyz_names_an_unreachable_cache_without_its_url():
    with override_settings(**_redis(UNREACHABLE_REDIS)):
        response = Client().get("/readyz/")
    caches.close_all()
    assert response.status_code == 503
    # The probe's `status` and `failed`, in the error shape of every JSON answer.
    assert response.json() == {
        "error": "目前無法提供服務：部分檢查未通過。",
        "request_id": response["X-Request-ID"],
        "status": "unavailable",
        "failed": {"cache": "cannot be reached"},
    }
    assert b"s3cret" not in response.content
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_names_an_unreachable_job_broker_when_a_setting_names_one():
    with override_settings(CELERY_BROKER_URL=UNREACHABLE_REDIS):
        response = Client().get("/readyz/")
    assert response.status_code == 503
    assert response.json()["failed"] == {"broker": "cannot be reached"}
    assert b"s3cret" not in response.content


@pytest.mark.django_db
def test_readyz_names_a_media_root_it_cannot_write(tmp_path):
    # A folder under a file cannot be created, even by root (which ignores permission bits).
    (tmp_path / "a-file").write_text("")
    with override_settings(MEDIA_ROOT=tmp_path / "a-file" / "media"):
        response = Client().get("/readyz/")
    assert response.status_code == 503
    assert response.json()["failed"] == {"media": "is not writable"}
    assert str(tmp_path) not in response.content.decode()


class UnreachableStore(InMemoryStorage):
    """An object store that does not answer (what boto3 raises for a store that is down)."""

    def exists(self, name):
        raise ConnectionError("Could not connect to the endpoint URL")


def _object_storage(backend):
    return {"default": {"BACKEND": backend}, "staticfiles": settings.STORAGES["staticfiles"]}


@pytest.mark.django_db
def test_readyz_with_object_storage_asks_the_store_not_media_root(tmp_path):
    (tmp_path / "a-file").write_text("")
    with override_settings(
        MEDIA_ROOT=tmp_path / "a-file" / "media",  # unwritable, and not used
        STORAGES=_object_storage("django.core.files.storage.InMemoryStorage"),
    ):
        assert Client().get("/readyz/").status_code == 200
    with override_settings(STORAGES=_object_storage("tests.site.test_health.UnreachableStore")):
        response = Client().get("/readyz/")
    assert response.status_code == 503
    assert response.json()["failed"] == {"media": "cannot be reached"}


def _readyz_in_a_fresh_process(database_url, tmp_path):
    """/readyz/ asked of a kpitrack started with this DATABASE_URL (tests/site/outage_probe.py)."""
    result = interpreters.run(
        ["tests/site/outage_probe.py", json.dumps([{"path": "/readyz/"}])],
        cwd=ROOT,
        env=site_env(DATABASE_URL=database_url, MEDIA_ROOT=str(tmp_path / "media")),
    )
    assert result.returncode == 0, result.stderr
    [answer] = json.loads(result.stdout)
    return answer


def test_readyz_names_a_database_it_cannot_reach(tmp_path):
    answer = _readyz_in_a_fresh_process(f"sqlite:///{tmp_path}/no-such-folder/db.sqlite3", tmp_path)
    assert answer["status"] == 503
    # Without a database the migrations cannot be read: only the database is named.
    body = json.loads(answer["body"])
    assert body.pop("request_id")
    assert body == {
        "error": "目前無法提供服務：部分檢查未通過。",
        "status": "unavailable",
        "failed": {"database": "cannot be reached"},
    }
    assert str(tmp_path) not in answer["body"]


def test_readyz_names_migrations_not_applied(tmp_path):
    answer = _readyz_in_a_fresh_process(f"sqlite:///{tmp_path}/empty.sqlite3", tmp_path)
    assert answer["status"] == 503
    failed = json.loads(answer["body"])["failed"]
    assert list(failed) == ["migrations"]
    assert failed["migrations"].endswith("not applied (run manage.py migrate)")


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True)
@pytest.mark.parametrize("address", ["/healthz/", "/readyz/"])
def test_health_addresses_answer_plain_http_probes_when_the_site_redirects_to_https(address):
    assert Client().get(address).status_code == 200
    assert Client().get("/accounts/login/").status_code == 301  # the rest still goes to HTTPS
