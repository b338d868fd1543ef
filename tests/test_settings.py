"""Settings fail loudly on bad environment values (each case runs a fresh interpreter)."""

import os
import subprocess
import sys

import pytest

from .conftest import ROOT


def _check(**env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=clean, capture_output=True, text=True
    )


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
