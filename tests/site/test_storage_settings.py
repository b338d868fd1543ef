"""STORAGE_BACKEND and the S3 variables (issue 16): the default stays the file system under
MEDIA_ROOT; `s3` builds django-storages' S3 storage from the environment and a missing or bad
variable stops start-up naming it. Each case runs a fresh interpreter.

There is no S3 or MinIO server here: these cases check the settings and the storage object they
build (no request leaves the machine); the code paths of an object store without local paths are
tested on Django's InMemoryStorage (tests/jobs/test_object_storage.py)."""

import json
import os

import pytest

from tests import interpreters
from tests.conftest import ROOT

S3 = {"STORAGE_BACKEND": "s3", "AWS_STORAGE_BUCKET_NAME": "kpitrack-files"}
KEYS = {"AWS_ACCESS_KEY_ID": "kpitrack", "AWS_SECRET_ACCESS_KEY": "s" * 40}


def _environment(env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "STORAGE_", "EVIDENCE_")) and k not in ("DEBUG",)
    }
    clean["KPITRACK_ENV_FILE"] = ""  # a developer's .env must not change these cases
    clean["DEBUG"] = "1"
    clean.update(env)
    return clean


def _shell(code, **env):
    """`code` run by `manage.py shell`, as kpitrack starts."""
    return interpreters.run(
        ["manage.py", "shell", "--no-imports", "-c", code], cwd=ROOT, env=_environment(env)
    )


def _run(code, **env):
    """`code` run by a fresh interpreter that imports the settings module and nothing else: the
    settings and the storage object they name need no app (tests/site/test_settings.py's
    `_setting` says what that saves)."""
    env = _environment({"DJANGO_SETTINGS_MODULE": "kpitrack.settings", **env})
    return interpreters.run(["-c", code], cwd=ROOT, env=env)


def _default_storage(**env) -> dict:
    result = _run(
        "import json; from django.conf import settings; "
        "from django.core.files.storage import storages; "
        "s = storages['default']; "
        "print(json.dumps({'config': settings.STORAGES['default'], "
        "'class': type(s).__module__ + '.' + type(s).__name__, "
        "'location': str(getattr(s, 'location', ''))}))",
        **env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_default_is_the_file_system_under_media_root(tmp_path):
    found = _default_storage(MEDIA_ROOT=str(tmp_path))
    assert found["class"] == "django.core.files.storage.filesystem.FileSystemStorage"
    assert found["location"] == str(tmp_path)


def test_s3_builds_a_private_s3_storage_from_the_variables():
    found = _default_storage(
        **S3,
        **KEYS,
        AWS_S3_ENDPOINT_URL="https://minio.agency.internal:9000",
        AWS_S3_REGION_NAME="tw-1",
        AWS_LOCATION="/kpitrack/",
        AWS_S3_ADDRESSING_STYLE="path",
    )
    assert found["class"] == "storages.backends.s3.S3Storage"
    options = found["config"]["OPTIONS"]
    assert options["bucket_name"] == "kpitrack-files"
    assert options["endpoint_url"] == "https://minio.agency.internal:9000"
    assert options["region_name"] == "tw-1"
    assert options["access_key"] == "kpitrack"
    assert options["secret_key"] == "s" * 40
    assert options["location"] == "kpitrack"
    assert options["addressing_style"] == "path"
    assert options["default_acl"] is None  # never public-read
    assert options["file_overwrite"] is False


def test_the_s3_storage_object_takes_the_options():
    """The options are ones S3Storage knows (it refuses an unknown one) and land on it."""
    result = _run(
        "from django.core.files.storage import storages; s = storages['default']; "
        "print(s.bucket_name, s.endpoint_url, s.location, s.default_acl, s.file_overwrite, "
        "s.querystring_auth)",
        **S3,
        **KEYS,
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        AWS_LOCATION="exports",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "kpitrack-files",
        "http://127.0.0.1:9000",
        "exports",
        "None",
        "False",
        "True",
    ]


def test_s3_credentials_may_come_from_files(tmp_path):
    key_id = tmp_path / "key-id"
    key_id.write_text("from-file\n", encoding="utf-8")
    secret = tmp_path / "secret"
    secret.write_text("t" * 40 + "\n", encoding="utf-8")
    found = _default_storage(
        **S3, AWS_ACCESS_KEY_ID_FILE=str(key_id), AWS_SECRET_ACCESS_KEY_FILE=str(secret)
    )
    assert found["config"]["OPTIONS"]["access_key"] == "from-file"
    assert found["config"]["OPTIONS"]["secret_key"] == "t" * 40


def test_without_keys_boto3_finds_its_own():
    found = _default_storage(**S3)
    assert found["config"]["OPTIONS"]["access_key"] is None
    assert found["config"]["OPTIONS"]["secret_key"] is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STORAGE_BACKEND": "s3"}, "STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME"),
        ({**S3, "AWS_STORAGE_BUCKET_NAME": " "}, "needs AWS_STORAGE_BUCKET_NAME"),
        ({"STORAGE_BACKEND": "gcs"}, "STORAGE_BACKEND='gcs' must be filesystem"),
        ({**S3, "AWS_S3_ENDPOINT_URL": "minio:9000"}, "AWS_S3_ENDPOINT_URL='minio:9000'"),
        ({**S3, "AWS_ACCESS_KEY_ID": "only-the-id"}, "must be set together"),
        ({**S3, "AWS_SECRET_ACCESS_KEY": "only-the-secret"}, "must be set together"),
        ({**S3, "AWS_S3_ADDRESSING_STYLE": "dns"}, "AWS_S3_ADDRESSING_STYLE='dns'"),
        (
            {**S3, **KEYS, "AWS_SECRET_ACCESS_KEY_FILE": "/nonexistent"},
            "AWS_SECRET_ACCESS_KEY and AWS_SECRET_ACCESS_KEY_FILE are both set",
        ),
        (
            {**S3, "AWS_ACCESS_KEY_ID_FILE": "/nonexistent/key"},
            "AWS_ACCESS_KEY_ID_FILE='/nonexistent/key' cannot be read",
        ),
        (
            {**S3, "EVIDENCE_ACCEL_REDIRECT": "/protected-evidence/"},
            "EVIDENCE_ACCEL_REDIRECT needs STORAGE_BACKEND=filesystem",
        ),
    ],
)
def test_a_bad_storage_variable_stops_start_up_naming_it(env, message):
    result = _shell("from django.conf import settings; settings.DEBUG", **env)
    assert result.returncode != 0
    assert message in result.stderr
