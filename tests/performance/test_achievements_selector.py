"""achievements_for_year reads approved results unless asked, in a fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from performance.models import Result
from performance.selectors import achievements_for_year
from performance.services import result_state_set

pytestmark = pytest.mark.django_db


def _rows(**kwargs):
    return {row.indicator.code: row for row in achievements_for_year(**kwargs)}


def _draft(alice):
    result = Result.objects.get(indicator__code="pass-card", indicator__goal__year=2012)
    return result_state_set(
        result=result, state="draft", expected_version=result.version, user=alice, reason="重填"
    )


def test_a_draft_result_is_absent_by_default(alice):
    before = _rows(year=2012, through_quarter=2)["pass-card"]
    assert before.result is not None and before.outcome.rate is not None
    _draft(alice)
    row = _rows(year=2012, through_quarter=2)["pass-card"]
    assert row.result is None
    assert row.state is None
    assert row.outcome.rate is None


def test_unapproved_results_come_with_their_state_when_asked(alice):
    _draft(alice)
    rows = _rows(year=2012, through_quarter=2, include_unapproved=True)
    assert rows["pass-card"].state == "draft"
    assert rows["pass-card"].outcome.rate is not None
    assert {row.state for code, row in rows.items() if code != "pass-card"} <= {
        "approved",
        None,
    }


def test_the_number_of_queries_does_not_depend_on_the_year_or_the_filter():
    counts = set()
    for kwargs in (
        {"year": 2011},
        {"year": 2012},
        {"year": 2013},
        {"year": 2012, "include_unapproved": True},
    ):
        with CaptureQueriesContext(connection) as queries:
            achievements_for_year(**kwargs)
        counts.add(len(queries))
    assert counts == {6}
