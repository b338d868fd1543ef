"""`render_report --all-agencies --jobs N` on PostgreSQL: the forked processes must not share the
parent's pooled connections (psycopg's pool keeps them open past `close_all`, and a child that
inherits one talks over the same socket as its siblings: answers cross and queries fail)."""

import json
import zipfile
from io import BytesIO, StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from budget.models import Agency
from kpitrack.management.commands import render_report


@pytest.fixture
def postgresql():
    """Asked for before the database, so SQLite skips without setting it up."""
    if connection.vendor != "postgresql":
        pytest.skip("Django's psycopg connection pool: PostgreSQL only")


@pytest.mark.django_db(transaction=True)  # the children read on their own connections
def test_several_processes_each_read_on_their_own_connection(postgresql, monkeypatch, tmp_path):
    # Every query of the reports runs; only WeasyPrint is left out, to keep the test cheap.
    monkeypatch.setattr(
        render_report, "pdf_bytes", lambda report: b"%PDF-" + report.agency.code.encode()
    )
    call_command(
        "generate_demo", agencies=6, indicators=9, years=1, prefix="pool", stdout=StringIO()
    )
    with connection.cursor() as cursor:  # the parent holds a pooled connection when it forks
        cursor.execute("SELECT 1")
    root = Agency.objects.get(code="pool")
    data = render_report._bundle("performance", 2025, None, root, 3)
    archive = zipfile.ZipFile(BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    codes = {entry["agency"] for entry in manifest["files"]}
    assert codes == {f"pool-{n:02d}" for n in range(1, 7)}
    for entry in manifest["files"]:
        assert archive.read(entry["file"]) == b"%PDF-" + entry["agency"].encode()
    assert Agency.objects.filter(parent=root).count() == 6  # the parent's connection still works
