"""The logging variables (LOG_FORMAT, LOG_LEVEL, ADMINS, SENTRY_DSN) fail loudly on bad values,
naming the variable; each case runs a fresh interpreter, as tests/site/test_settings.py does."""

import pytest

from tests.site.test_settings import _check, _setting

PRODUCTION = {"SECRET_KEY": "p" * 50, "ALLOWED_HOSTS": "kpi.example.org"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT='xml' must be json or text"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD' must be one of DEBUG, INFO, WARNING"),
        ({"ADMINS": "ops"}, "ADMINS='ops' is not a comma-separated list of e-mail addresses"),
        (
            {"ADMINS": "Ops <ops@example.org>, nobody@"},
            "ADMINS='Ops <ops@example.org>, nobody@' is not a comma-separated list",
        ),
        ({"SENTRY_DSN": "not a dsn"}, "SENTRY_DSN is not a Sentry DSN"),
        ({"SENTRY_DSN": "https://sentry.example.org/1"}, "SENTRY_DSN is not a Sentry DSN"),
    ],
)
def test_bad_logging_settings_stop_start_up_naming_the_variable(env, message):
    result = _check(**PRODUCTION, **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_bad_sentry_dsn_is_named_not_printed():
    result = _check(**PRODUCTION, SENTRY_DSN="https://secretkey@")
    assert result.returncode != 0
    assert "SENTRY_DSN is not a Sentry DSN" in result.stderr
    assert "secretkey" not in result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "json"), ({"DEBUG": "1"}, "text"), ({"LOG_FORMAT": " Text "}, "text")],
)
def test_the_log_format_is_json_in_production_and_text_with_debug(env, expected):
    result = _setting("LOG_FORMAT", **PRODUCTION, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_admins_take_names_and_plain_addresses():
    result = _setting(
        "ADMINS", **PRODUCTION, ADMINS='"Lin, Mei" <lin@example.org>, ops@example.org'
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "[('Lin, Mei', 'lin@example.org'), ('ops@example.org', 'ops@example.org')]"
    )
