"""`make serve` (python -m kpitrack.serve) refuses to start, in one line naming the setting, when
a production setting is missing or bad; it runs with DEBUG off whatever .env or the shell says.
Starting it for real is .ci/run's step (a clean clone, /readyz/ 200, stopped)."""

import pytest

from tests import interpreters
from tests.conftest import ROOT
from tests.site.servers import site_env

GOOD = {"SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "kpi.example.org"}
POSTGRES = "postgres://postgres@127.0.0.1:5432/serve_never_opened"


def _serve(tmp_path, **settings):
    settings.setdefault("DATABASE_URL", f"sqlite:///{tmp_path}/db.sqlite3")
    env = site_env(MEDIA_ROOT=str(tmp_path / "media"), **settings)
    for name in ("SECRET_KEY", "ALLOWED_HOSTS"):
        if settings.get(name) is None:
            env.pop(name)
    return interpreters.run(["-m", "kpitrack.serve"], cwd=ROOT, env=env, timeout=120)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        # DEBUG=1 (as make run's .env says) does not turn the production checks off.
        ({"DEBUG": "1"}, "SECRET_KEY must be set when DEBUG is off"),
        ({"SECRET_KEY": "s" * 50}, "ALLOWED_HOSTS must be set when DEBUG is off"),
        ({**GOOD, "PORT": "99999"}, "PORT=99999 is not a TCP port (1-65535)"),
        ({**GOOD, "PORT": "http"}, "PORT='http' is not a whole number"),
        ({**GOOD, "WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY='0' must be at least 1"),
        ({**GOOD, "GUNICORN_TIMEOUT": "soon"}, "GUNICORN_TIMEOUT='soon' is not a whole number"),
        (
            {**GOOD, "DATABASE_URL": POSTGRES, "DB_POOL_MIN_SIZE": "5", "DB_POOL_MAX_SIZE": "2"},
            "DB_POOL_MIN_SIZE=5 is larger than DB_POOL_MAX_SIZE=2",
        ),
        (
            {**GOOD, "DATABASE_URL": POSTGRES, "DB_POOL_TIMEOUT": "0"},
            "DB_POOL_TIMEOUT='0' must be at least 1",
        ),
        ({**GOOD, "REDIS_URL": "localhost:6379"}, "REDIS_URL must be a redis://"),
        ({**GOOD, "JOBS_NICE": "20"}, "JOBS_NICE=20: a nice step is 0-19"),
        ({**GOOD, "JOBS_NICE": "-1"}, "JOBS_NICE='-1' must be at least 0"),
    ],
)
def test_serve_refuses_a_missing_or_bad_setting_in_one_line(tmp_path, settings, message):
    result = _serve(tmp_path, **{"SECRET_KEY": None, "ALLOWED_HOSTS": None, **settings})
    assert result.returncode == 2
    assert f"make serve: cannot start: {message}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()  # stopped before migrating
