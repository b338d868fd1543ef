"""The overview's attention list and the indicator table read each result's state once: one join
on the quarter's result, not a subquery repeated wherever the state is used (five times in the
attention list, each with the joins of Result's default ordering), which PostgreSQL's JIT took
seconds to compile at 200 agencies (issue 16)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ..factories import LARGE, build
from .test_query_counts import store

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/dashboards/{m}/", "/dashboards/{m}/indicators/?state=none&sort=state"]
)
def test_the_quarters_result_is_joined_once(client, alice, path):
    built = build(LARGE, prefix="aq")
    store(built)
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path.format(m=built.ministry.code))
    assert response.status_code == 200
    reading = [
        q["sql"]
        for q in queries
        if '"performance_outcome"' in q["sql"] and '"performance_result"' in q["sql"]
    ]
    assert reading
    for sql in reading:
        assert 'FROM "performance_result"' not in sql, sql  # no subquery
        assert sql.count('JOIN "performance_result"') == 1, sql
