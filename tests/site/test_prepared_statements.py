"""On PostgreSQL with the connection pool (the default), the server binds the parameters and a
query asked again on a connection is prepared once: parsed and planned once, not per request
(kpitrack/settings.py, DB_PREPARED_STATEMENTS; docs/benchmarks.md, "Prepared statements")."""

import os
import runpy

import pytest
from django.db import connection

from budget.models import Agency
from tests.conftest import ROOT
from tests.site.servers import site_env

POSTGRES = "postgres://postgres@127.0.0.1:5432/prepared_never_opened"


@pytest.mark.django_db
def test_a_query_asked_again_on_a_connection_is_prepared_once():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    for code in ("a", "b", "c", "d", "e", "f"):  # the fifth run prepares it (psycopg's threshold)
        list(Agency.objects.filter(code=code))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [statement for (statement,) in cursor.fetchall()]
    assert any('FROM "budget_agency"' in s and '"code" = $1' in s for s in statements)


def _options(monkeypatch, **settings) -> dict:
    """The database OPTIONS the settings module derives from a production environment with
    these settings (the module run afresh; the tests' own settings are left as they are)."""
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in site_env(DATABASE_URL=POSTGRES, **settings).items():
        monkeypatch.setenv(name, value)
    options = runpy.run_path(str(ROOT / "kpitrack" / "settings.py"))["DATABASES"]["default"]
    return {k: options["OPTIONS"].get(k) for k in ("server_side_binding", "prepare_threshold")}


@pytest.mark.parametrize(
    ("settings", "prepared"),
    [
        ({}, True),
        ({"DB_PREPARED_STATEMENTS": "0"}, False),  # a pooler in transaction mode
        ({"DB_POOL_MAX_SIZE": "0"}, False),  # a connection per request: nothing to keep
    ],
)
def test_prepared_statements_follow_the_pool_and_the_setting(monkeypatch, settings, prepared):
    expected = {"server_side_binding": True, "prepare_threshold": 5}
    none = {"server_side_binding": None, "prepare_threshold": None}
    assert _options(monkeypatch, **settings) == (expected if prepared else none)
