"""The production security settings (docs/security-settings.md): `check --deploy` is clean under
the documented variables, each missing or bad one stops start-up naming it or leaves the warning
it should, secrets may come from files, and the settings have their effect on a request. Each
case runs a fresh interpreter, as tests/site/test_settings.py does."""

import os
import re

import pytest

from tests import interpreters
from tests.conftest import ROOT

# Every variable these cases set: none may leak in from the shell that runs the tests.
VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "EMAIL_HOST",
    "EMAIL_HOST_PASSWORD",
    "HTTPS",
    "SECURE_SSL_REDIRECT",
    "BEHIND_PROXY",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "CSRF_TRUSTED_ORIGINS",
    "SESSION_IDLE_HOURS",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE",
)
SECRETS = ("SECRET_KEY", "DATABASE_URL", "EMAIL_HOST_PASSWORD")
# What check --deploy wants of a key: 50 characters or more, some variety.
KEY = "kpitrack-test-key-7Hq2-Zx9!w4Lm8Rt3Vb6Np1Sd5Gf0Jk2Yc"


def documented() -> dict[str, str]:
    """The variables of docs/security-settings.md's "Production settings" block."""
    text = (ROOT / "docs" / "security-settings.md").read_text(encoding="utf-8")
    block = re.search(r"## Production settings\n.*?```sh\n(.*?)```", text, re.S)[1]
    return dict(line.split("=", 1) for line in block.splitlines() if line.strip())


def _environment(env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in VARIABLES and k.removesuffix("_FILE") not in SECRETS
    }
    clean["KPITRACK_ENV_FILE"] = ""  # a developer's .env must not change these cases
    clean.update(env)
    return clean


def _manage(*args, **env):
    return interpreters.run(["manage.py", *args], cwd=ROOT, env=_environment(env))


@pytest.fixture
def production(tmp_path):
    """The documented production variables, the key in a file of its own."""
    key = tmp_path / "secret-key"
    key.write_text(KEY + "\n", encoding="utf-8")
    env = documented()
    env["SECRET_KEY_FILE"] = str(key)
    return env


def _shell(code, **env):
    """`code` run by `manage.py shell`, after django.setup()."""
    return _manage("shell", "--no-imports", "-c", code, **env)


def _python(code, **env):
    """`code` run by a fresh interpreter that imports the settings module and nothing else:
    enough to read settings, a twentieth of the CPU of `_shell` (tests/site/test_settings.py's
    `_setting` says why)."""
    env = _environment({"DJANGO_SETTINGS_MODULE": "kpitrack.settings", **env})
    return interpreters.run(["-c", code], cwd=ROOT, env=env)


def _setting(name, **env):
    result = _python(f"from django.conf import settings; print(repr(settings.{name}))", **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_documented_block_is_the_one_tested():
    env = documented()
    assert env["DEBUG"] == "0"
    for name in ("HTTPS", "BEHIND_PROXY", "SECURE_HSTS_SECONDS", "CSRF_TRUSTED_ORIGINS"):
        assert name in env


def test_check_deploy_is_clean_under_the_documented_production_variables(production):
    result = _manage("check", "--deploy", **production)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stderr


def test_without_https_production_starts_and_check_deploy_says_what_is_missing():
    """An intranet over plain HTTP may run with DEBUG off; check --deploy warns, as it should."""
    env = {"DEBUG": "0", "SECRET_KEY": KEY, "ALLOWED_HOSTS": "kpi.example.org"}
    assert _manage("check", **env).returncode == 0
    result = _manage("check", "--deploy", **env)
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


@pytest.mark.parametrize(
    ("left_out", "effect"),
    [
        ("HTTPS", "SECURE_HSTS_SECONDS needs HTTPS=1"),
        ("SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS=1 needs SECURE_HSTS_SECONDS"),
        ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "security.W005"),
        ("SECURE_HSTS_PRELOAD", "security.W021"),
    ],
)
def test_each_documented_variable_left_out_stops_start_up_or_is_warned_about(
    production, left_out, effect
):
    del production[left_out]
    result = _manage("check", "--deploy", **production)
    assert effect in result.stderr, result.stderr
    if not effect.startswith("security."):
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HTTPS": "sure"}, "HTTPS='sure' is not a boolean"),
        ({"BEHIND_PROXY": "2"}, "BEHIND_PROXY='2' is not a boolean"),
        ({"SECURE_SSL_REDIRECT": "1"}, "SECURE_SSL_REDIRECT=1 needs HTTPS=1"),
        ({"HTTPS": "1", "SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS='a year' is not"),
        ({"HTTPS": "1", "SECURE_HSTS_SECONDS": "-1"}, "SECURE_HSTS_SECONDS='-1' must be at"),
        ({"SECURE_HSTS_SECONDS": "3600"}, "SECURE_HSTS_SECONDS needs HTTPS=1"),
        ({"HTTPS": "1", "SECURE_HSTS_PRELOAD": "1"}, "SECURE_HSTS_PRELOAD=1 needs"),
        (
            {"HTTPS": "1", "SECURE_HSTS_SECONDS": "86400", "SECURE_HSTS_PRELOAD": "1"},
            "SECURE_HSTS_SECONDS of 31536000",
        ),
        ({"CSRF_TRUSTED_ORIGINS": "kpi.example.org"}, "CSRF_TRUSTED_ORIGINS: 'kpi.example.org'"),
        ({"CSRF_TRUSTED_ORIGINS": "ftp://kpi.example.org"}, "'ftp://kpi.example.org' is not"),
        ({"CSRF_TRUSTED_ORIGINS": "https://kpi.example.org/app"}, "(no path)"),
        ({"CSRF_TRUSTED_ORIGINS": "https://kpi.example.org:port"}, "'https://kpi.example.org:port"),
        ({"CSRF_TRUSTED_ORIGINS": "https://"}, "CSRF_TRUSTED_ORIGINS: 'https://' is not"),
        ({"CSRF_TRUSTED_ORIGINS": " , "}, "CSRF_TRUSTED_ORIGINS is set but names no"),
        ({"SESSION_IDLE_HOURS": "0"}, "SESSION_IDLE_HOURS='0' must be at least 1"),
        ({"SESSION_IDLE_HOURS": "8h"}, "SESSION_IDLE_HOURS='8h' is not a whole number"),
        ({"SESSION_EXPIRE_AT_BROWSER_CLOSE": "maybe"}, "SESSION_EXPIRE_AT_BROWSER_CLOSE="),
    ],
)
def test_a_bad_security_variable_stops_start_up_naming_it(env, message):
    result = _manage("check", DEBUG="0", SECRET_KEY=KEY, ALLOWED_HOSTS="kpi.example.org", **env)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def _settings(*names, **env) -> dict[str, str]:
    """Several settings' reprs from one start-up."""
    code = "from django.conf import settings\n" + "".join(
        f"print(repr(settings.{name}))\n" for name in names
    )
    result = _python(code, **env)
    assert result.returncode == 0, result.stderr
    return dict(zip(names, result.stdout.strip().splitlines(), strict=True))


def test_the_settings_follow_the_variables(production):
    names = (
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "CSRF_TRUSTED_ORIGINS",
        "SESSION_COOKIE_AGE",
        "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    )
    assert _settings(*names, **production) == {
        "SESSION_COOKIE_SECURE": "True",
        "CSRF_COOKIE_SECURE": "True",
        "SECURE_SSL_REDIRECT": "True",
        "SECURE_PROXY_SSL_HEADER": "('HTTP_X_FORWARDED_PROTO', 'https')",
        "CSRF_TRUSTED_ORIGINS": "['https://kpi.example.gov.tw']",
        "SESSION_COOKIE_AGE": str(8 * 3600),
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": "False",
    }
    plain = {"DEBUG": "0", "SECRET_KEY": KEY, "ALLOWED_HOSTS": "kpi.example.org"}
    names = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT")
    assert set(_settings(*names, **plain).values()) == {"False"}
    short = {**plain, "SESSION_IDLE_HOURS": "2", "SESSION_EXPIRE_AT_BROWSER_CLOSE": "1"}
    assert _settings("SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE", **short) == {
        "SESSION_COOKIE_AGE": "7200",
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": "True",
    }
    # A proxy that redirects plain HTTP itself.
    redirecting_proxy = {**production, "SECURE_SSL_REDIRECT": "0"}
    assert _settings("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", **redirecting_proxy) == {
        "SECURE_SSL_REDIRECT": "False",
        "SESSION_COOKIE_SECURE": "True",
    }


# A request through the whole middleware stack of a production start-up (no database needed:
# the sign-in page of a visitor reads none).
REQUEST = """
from django.test import Client
client = Client()
for proto in ("http", "https"):
    answer = client.get("/accounts/login/", HTTP_HOST="kpi.example.gov.tw",
                        HTTP_X_FORWARDED_PROTO=proto)
    cookie = answer.cookies.get("csrftoken")
    print(proto, answer.status_code, answer.get("Location"),
          answer.get("Strict-Transport-Security"), cookie and bool(cookie["secure"]))
"""


def test_behind_the_proxy_plain_http_is_redirected_and_https_gets_hsts_and_secure_cookies(
    production,
):
    result = _shell(REQUEST, **production)
    assert result.returncode == 0, result.stderr
    plain, secure = result.stdout.strip().splitlines()
    assert plain == "http 301 https://kpi.example.gov.tw/accounts/login/ None None"
    assert secure == "https 200 None max-age=31536000; includeSubDomains; preload True"


# --- secrets from files ---------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["", "\n", "\r\n"])
def test_a_secret_key_file_is_read_less_one_trailing_newline(tmp_path, ending):
    path = tmp_path / "key"
    path.write_bytes((KEY + ending).encode())
    env = {"DEBUG": "0", "ALLOWED_HOSTS": "kpi.example.org", "SECRET_KEY_FILE": str(path)}
    assert _setting("SECRET_KEY", **env) == repr(KEY)


def test_the_database_url_and_the_mail_password_may_come_from_files(tmp_path):
    database = tmp_path / "database-url"
    database.write_text(f"sqlite:///{tmp_path / 'db.sqlite3'}\n", encoding="utf-8")
    password = tmp_path / "mail-password"
    password.write_text("p@ss word\n", encoding="utf-8")
    env = {
        "DEBUG": "1",
        "DATABASE_URL_FILE": str(database),
        "EMAIL_HOST": "smtp.example.org",
        "EMAIL_HOST_PASSWORD_FILE": str(password),
    }
    assert _settings("DATABASES['default']['NAME']", "EMAIL_HOST_PASSWORD", **env) == {
        "DATABASES['default']['NAME']": repr(str(tmp_path / "db.sqlite3")),
        "EMAIL_HOST_PASSWORD": "'p@ss word'",
    }


def test_a_secret_file_named_in_the_env_file_is_read(tmp_path):
    key = tmp_path / "key"
    key.write_text(KEY, encoding="utf-8")
    env_file = tmp_path / "kpitrack.env"
    env_file.write_text(
        f"DEBUG=0\nALLOWED_HOSTS=kpi.example.org\nSECRET_KEY_FILE={key}\n", encoding="utf-8"
    )
    result = _python(
        "from django.conf import settings; print(repr(settings.SECRET_KEY))",
        KPITRACK_ENV_FILE=str(env_file),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(KEY)


@pytest.mark.parametrize("name", SECRETS)
def test_a_secret_and_its_file_both_set_stop_start_up(tmp_path, name):
    path = tmp_path / "secret"
    path.write_text("sqlite:///x" if name == "DATABASE_URL" else KEY, encoding="utf-8")
    result = _manage("check", DEBUG="1", **{name: "x" * 40, f"{name}_FILE": str(path)})
    assert result.returncode != 0
    assert f"{name} and {name}_FILE are both set" in result.stderr


@pytest.mark.parametrize("name", SECRETS)
def test_an_unreadable_secret_file_stops_start_up_naming_it(tmp_path, name):
    missing = tmp_path / "nowhere"
    result = _manage("check", DEBUG="1", **{f"{name}_FILE": str(missing)})
    assert result.returncode != 0
    assert f"{name}_FILE='{missing}' cannot be read: No such file or directory" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n", "is empty"),
        (b"\xff\xfe key", "cannot be read"),
    ],
)
def test_an_empty_or_undecodable_secret_file_stops_start_up(tmp_path, content, message):
    path = tmp_path / "key"
    path.write_bytes(content)
    result = _manage("check", DEBUG="1", SECRET_KEY_FILE=str(path))
    assert result.returncode != 0
    assert f"SECRET_KEY_FILE='{path}' {message}" in result.stderr


def test_a_secret_file_variable_naming_nothing_stops_start_up():
    result = _manage("check", DEBUG="1", SECRET_KEY_FILE=" ")
    assert result.returncode != 0
    assert "SECRET_KEY_FILE is set but names no file" in result.stderr
