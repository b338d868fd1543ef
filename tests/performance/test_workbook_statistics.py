"""A large workbook import leaves the tables it filled with planner statistics (PostgreSQL),
as generate_demo and load_documents do (issue 16). The threshold is lowered here so the test's
two-row workbook counts as large."""

import pytest
from django.db import connection

from kpitrack.core import bulk
from performance.models import Result, ResultFigure
from performance.workbook_import import import_workbook

from ..commands.test_generate_demo import _planned_rows
from .test_workbook_import import _good

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL statistics"),
]


def test_a_large_import_is_analysed_once_committed(
    alice, workflow, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(bulk, "ANALYZE_AFTER_ROWS", 2)
    data = _good(alice, workflow)
    with django_capture_on_commit_callbacks(execute=True):
        report = import_workbook(data, name="a.xlsx", user=alice, commit=True)
    assert report.written
    for model in (Result, ResultFigure):
        assert _planned_rows(model) == model.objects.count(), model
