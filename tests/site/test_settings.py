"""Settings come from the environment, then a .env file, and fail loudly on bad values (each
case runs a fresh interpreter)."""

import os

import pytest

from tests import interpreters
from tests.conftest import ROOT


def _environment(env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")
    }
    # A developer's own .env must not change these cases.
    clean["KPITRACK_ENV_FILE"] = ""
    clean.update(env)
    return clean


def _manage(*args, **env):
    return interpreters.run(["manage.py", *args], cwd=ROOT, env=_environment(env))


def _check(**env):
    return _manage("check", **env)


def _setting(name, **env):
    """settings.<name> printed by a fresh interpreter that imports the settings module and nothing
    else. `manage.py shell` would also run django.setup() (every app's models, the admin's
    autodiscover, django-ninja's API), which no setting's value depends on: ~0.45 s of CPU a
    child against ~0.02 s. Start-up itself is what `_check` runs."""
    code = f"from django.conf import settings; print(settings.{name})"
    env = _environment({"DJANGO_SETTINGS_MODULE": "kpitrack.settings", **env})
    return interpreters.run(["-c", code], cwd=ROOT, env=env)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SECRET_KEY must be set"),
        ({"DEBUG": "maybe"}, "is not a boolean"),
        ({"SECRET_KEY": "short", "ALLOWED_HOSTS": "kpi.example.org"}, "at least 32"),
        ({"SECRET_KEY": "x" * 40}, "ALLOWED_HOSTS must be set"),
        ({"DEBUG": "1", "ALLOWED_HOSTS": " , "}, "names no host"),
        ({"DEBUG": "1", "DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL"),
        ({"DEBUG": "1", "DATABASE_URL": "nonsense"}, "DATABASE_URL"),
    ],
)
def test_bad_settings_stop_start_up(env, message):
    result = _check(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_settings_start():
    result = _check(SECRET_KEY="p" * 50, ALLOWED_HOSTS="kpi.example.org")
    assert result.returncode == 0, result.stderr


def test_production_hashes_passwords_slowly():
    """The tests hash with MD5 for speed (tests/conftest.py); the site itself must not."""
    result = _setting("PASSWORD_HASHERS[0]", SECRET_KEY="p" * 50, ALLOWED_HOSTS="kpi.example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.contrib.auth.hashers.PBKDF2PasswordHasher"


def _env_file(tmp_path, text):
    path = tmp_path / "kpitrack.env"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_an_env_file_alone_starts_production_settings(tmp_path):
    env_file = _env_file(
        tmp_path,
        "# written by make run\n\nDEBUG=0\nSECRET_KEY='" + "s" * 50 + "'\n"
        "ALLOWED_HOSTS = kpi.example.org\n",
    )
    result = _setting("ALLOWED_HOSTS", KPITRACK_ENV_FILE=env_file)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['kpi.example.org']"


def test_the_real_environment_wins_over_the_env_file(tmp_path):
    env_file = _env_file(tmp_path, "DEBUG=1\nALLOWED_HOSTS=file.example.org\n")
    result = _setting("ALLOWED_HOSTS", KPITRACK_ENV_FILE=env_file, ALLOWED_HOSTS="env.example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['env.example.org']"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("DEBUG=1\n# fine\nSECRET_KEY: abc\n", "line 3: expected KEY=VALUE, got 'SECRET_KEY: abc'"),
        ("DEBUG=1\n1DEBUG=1\n", "line 2: expected KEY=VALUE"),
        ("DEBUG=1\nDEBUG=0\n", "line 2: DEBUG is set twice"),
    ],
)
def test_a_malformed_env_file_line_stops_start_up_naming_the_line(tmp_path, text, message):
    env_file = _env_file(tmp_path, text)
    result = _check(KPITRACK_ENV_FILE=env_file)
    assert result.returncode != 0
    assert f"{env_file}, {message}" in result.stderr


def test_a_missing_env_file_named_explicitly_stops_start_up(tmp_path):
    result = _check(KPITRACK_ENV_FILE=str(tmp_path / "nowhere.env"), DEBUG="1")
    assert result.returncode != 0
    assert "is not a file" in result.stderr


# --- notifications (issue 17) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "1", "SITE_URL": "kpi.example.org"}, "SITE_URL='kpi.example.org' must be"),
        ({"DEBUG": "1", "SITE_URL": "ftp://kpi.example.org"}, "SITE_URL"),
        ({"DEBUG": "1", "REMIND_DAYS_BEFORE": "-1"}, "REMIND_DAYS_BEFORE"),
        ({"DEBUG": "1", "REMIND_DAYS_BEFORE": "soon"}, "REMIND_DAYS_BEFORE"),
    ],
)
def test_bad_notification_settings_stop_start_up(env, message):
    result = _check(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_the_notification_settings_are_read():
    site = _setting("SITE_URL", DEBUG="1", SITE_URL="https://kpi.example.org/kpi")
    assert site.stdout.strip() == "https://kpi.example.org/kpi"
    days = _setting("REMIND_DAYS_BEFORE", DEBUG="1", REMIND_DAYS_BEFORE="5")
    assert days.stdout.strip() == "5"
