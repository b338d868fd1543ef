"""The data migration that removes control characters the JSON API stored before it refused
them (issue 18), on SQLite and PostgreSQL alike."""

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from performance.models import Indicator, Result
from performance.services import result_save_draft

pytestmark = pytest.mark.django_db
migration = import_module("performance.migrations.0008_clean_control_characters")


def test_it_removes_control_characters_from_stored_text_and_keeps_the_rest(alice, workflow):
    saved = result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={},
        narrative={"progress": "x"},
        expected_version=None,
        user=alice,
    )
    Result.objects.filter(pk=saved.pk).update(
        progress="第一行\r\n\t辦理\x01完成\x1b", improvement="改善\x0b措施"
    )
    Indicator.objects.filter(pk=workflow.count.pk).update(name="件\x1f數")
    untouched = Result.objects.get(pk=saved.pk).version

    # What the migration reads of its schema editor (a real one cannot open inside a test's
    # transaction on SQLite).
    migration.clean_stored_text(apps, SimpleNamespace(connection=connection))

    result = Result.objects.get(pk=saved.pk)
    assert result.progress == "第一行\r\n\t辦理完成"
    assert result.improvement == "改善措施"
    assert result.version == untouched
    assert Indicator.objects.get(pk=workflow.count.pk).name == "件數"
    assert Indicator.objects.get(pk=workflow.ratio.pk).name == workflow.ratio.name
