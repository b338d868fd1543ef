"""quarter_results: a quarter's stored results as plain rows, read by goal and kept by id for
the workbook, read by id and locked for the drafts service."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from performance.selectors import quarter_results
from performance.services import DraftEntry, results_save_drafts

pytestmark = pytest.mark.django_db


@pytest.fixture
def entered(workflow, alice):
    """The quarter's count and ratio results of the workflow's one goal."""
    results_save_drafts(
        quarter=workflow.quarter,
        entries=[
            DraftEntry(workflow.count.pk, {"value": "120"}, {"progress": "依計畫"}, None),
            DraftEntry(workflow.ratio.pk, {"num": "9", "den": "10"}, {"progress": "依計畫"}, None),
        ],
        user=alice,
        reason="測試",
    )
    return workflow


def test_it_keeps_only_the_asked_indicators_of_their_goals(entered, django_assert_num_queries):
    goal = entered.count.goal_id
    with django_assert_num_queries(2):
        rows, figures = quarter_results(
            quarter=entered.quarter,
            indicator_ids=[entered.count.pk],
            goal_ids={goal},
            columns=("version", "progress"),
        )
    assert list(rows) == [entered.count.pk]
    row = rows[entered.count.pk]
    assert set(row) == {"id", "indicator_id", "version", "progress"}
    assert (row["version"], row["progress"]) == (1, "依計畫")
    assert list(figures) == [entered.count.pk]
    (pk, value, published) = figures[entered.count.pk]["value"]
    assert (value, published) == (Decimal("120"), "")


def test_without_figures_it_is_one_query(entered, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows, figures = quarter_results(
            quarter=entered.quarter,
            indicator_ids=[entered.ratio.pk],
            goal_ids={entered.ratio.goal_id},
            figures=False,
        )
    assert list(rows) == [entered.ratio.pk] and figures == {}
    assert rows[entered.ratio.pk]["state"] == "draft"  # every column by default


def test_a_locked_read_takes_only_the_asked_results(entered):
    """Read by goal, the lock would also hold the ratio's result against anybody saving it
    meanwhile."""
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        rows, figures = quarter_results(
            quarter=entered.quarter,
            indicator_ids=[entered.count.pk],
            goal_ids={entered.count.goal_id},
            for_update=True,
        )
    assert list(rows) == [entered.count.pk] and list(figures) == [entered.count.pk]
    locked = queries.captured_queries[0]["sql"].upper()
    where = locked.split(" WHERE ", 1)[1]
    assert '"PERFORMANCE_RESULT"."INDICATOR_ID" IN' in where and "GOAL_ID" not in where
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in locked
