"""load_documents leaves the tables it filled with planner statistics (PostgreSQL)."""

import pytest
from django.core.management import call_command
from django.db import connection

from performance.models import Indicator, Outcome, Result

from .test_generate_demo import _planned_rows

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL statistics"),
]


def test_the_tables_it_filled_have_statistics_at_once():
    call_command("load_documents", "fixtures/nia")
    for model in (Indicator, Result, Outcome):
        assert _planned_rows(model) == model.objects.count(), model
