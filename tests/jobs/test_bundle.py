"""A ministry's reports for a year as one job: a part per agency (each a job any free worker
takes), then one zip with a PDF per agency and manifest.json; `render_report --all-agencies
--jobs N` makes the same zip from the command line with N processes."""

import hashlib
import json
import subprocess
import zipfile
from io import BytesIO

import pytest
from django.core.management import call_command

from budget.models import Agency
from budget.services import agency_create
from kpitrack.jobs.models import Job
from performance.services import indicator_create, strategic_goal_create
from tests.conftest import seeded

from .running import run_queued_jobs

pytestmark = [pytest.mark.django_db, pytest.mark.pdf]

YEAR = 2012


@pytest.fixture
def second_agency():
    """A second agency under 內政部 with a goal for the year: the ministry has two reports."""
    moi = Agency.objects.get(code="moi")
    branch = agency_create(code="nia-two", name="第二署", parent=moi, user=None)
    goal = strategic_goal_create(
        agency=branch, year=YEAR, code="g1", order=1, title="第二署目標", user=None
    )
    indicator_create(goal=goal, code="k1", name="第二署指標", method="count", user=None)
    return branch


def _pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def _check_zip(data: bytes, codes: set[str]) -> dict:
    archive = zipfile.ZipFile(BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert {entry["agency"] for entry in manifest["files"]} == codes
    for entry in manifest["files"]:
        pdf = archive.read(entry["file"])
        assert pdf.startswith(b"%PDF-")
        assert hashlib.sha256(pdf).hexdigest() == entry["sha256"]
        assert entry["agency_name"] in _pdf_text(pdf)
    assert manifest["year"] == YEAR and manifest["kind"] == "performance"
    return manifest


def test_the_ministrys_reports_are_one_job_with_a_part_per_agency(client, bob, second_agency):
    viewer = bob
    from budget.models import Membership
    from budget.services import membership_create

    membership_create(
        member=viewer,
        agency=Agency.objects.get(code="moi"),
        role=Membership.Role.VIEWER,
        user=None,
        reason="測試",
    )
    client.force_login(viewer)
    response = client.get(f"/reports/moi/performance/{YEAR}/all/")
    bundle = Job.objects.get(parent__isnull=True)
    assert response["Location"] == f"/jobs/{bundle.pk}/"
    parts = list(bundle.parts.order_by("agency__code"))
    assert [p.agency.code for p in parts] == ["nia", "nia-two"]
    assert (bundle.done, bundle.total) == (0, 2)
    page = client.get(f"/jobs/{bundle.pk}/").content.decode()
    assert "第二署" in page  # the parts are listed by agency
    run_queued_jobs()
    bundle.refresh_from_db()
    assert (bundle.state, bundle.done, bundle.total) == ("done", 2, 2)
    download = client.get(f"/jobs/{bundle.pk}/download/")
    assert download["Content-Type"] == "application/zip"
    _check_zip(b"".join(download.streaming_content), {"nia", "nia-two"})


def test_a_part_that_fails_fails_the_bundle_naming_the_agency(client, alice, second_agency):
    client.force_login(alice)
    client.get(f"/reports/moi/performance/{YEAR}/all/")
    bundle = Job.objects.get(parent__isnull=True)
    part = bundle.parts.get(agency=second_agency)
    Job.objects.filter(pk=part.pk).update(params={**part.params, "year": 1999})  # no data then
    run_queued_jobs()
    bundle.refresh_from_db()
    assert bundle.state == "failed"
    assert "第二署" in bundle.error and bundle.result == ""


# Committed, as a command's data is: its forked children open connections of their own, which on
# PostgreSQL neither open inside the test's transaction nor see what it has not committed.
@pytest.mark.django_db(transaction=True)
def test_the_command_makes_the_same_zip_with_several_processes(tmp_path, request):
    seeded()  # a transactional test may start from a flushed database
    request.getfixturevalue("second_agency")
    output = tmp_path / "moi.zip"
    call_command(
        "render_report",
        "performance",
        year=str(YEAR),
        format="pdf",
        output=str(output),
        agency="moi",
        all_agencies=True,
        jobs=2,
        stdout=open(tmp_path / "out.txt", "w"),
    )
    _check_zip(output.read_bytes(), {"nia", "nia-two"})
