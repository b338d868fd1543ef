"""The app's PostgreSQL connections run with JIT off (kpitrack/settings.py, docs/deploying.md):
compiling the dashboards' short queries cost more than running them."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_connections_run_with_jit_off():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
