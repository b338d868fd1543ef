"""The 季管考 report's PDF and Excel as jobs (issue 16), as the budget's and the performance
report's (test_report_jobs.py): the address starts a job and shows its page, the download is
the workbook the report renders, the same data is served from storage with one render, a
printed change (a milestone too) makes a new file, a failed job says why, and a ministry's file
is shown only to those who may read every agency it covers. The report itself:
tests/reports/test_quarterly.py (from the workflow agency of tests/performance/conftest.py)."""

from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from budget.models import Agency, Membership
from budget.services import agency_create, membership_create
from kpitrack.jobs.models import Job
from kpitrack.reports.exports import export_key
from kpitrack.reports.quarterly import quarterly_report
from kpitrack.reports.xlsx import quarterly_workbook
from performance.models import Result
from performance.services import milestone_set
from tests.performance.conftest import _workflow_rows, workflow  # noqa: F401 (fixtures)
from tests.reports.test_quarterly import _enter

from .running import run_queued_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def drafted(workflow, alice):  # noqa: F811
    _enter(workflow, alice)
    return workflow


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def _url(flow, fmt="xlsx", agency="wf"):
    return f"/reports/{agency}/quarterly/{flow.year}/q1/{fmt}/"


def _job(response) -> Job:
    assert response.status_code == 302, response.content.decode()[:500]
    return Job.objects.get(pk=response["Location"].split("/")[2])


def _values(data: bytes):
    return {ws.title: list(ws.values) for ws in load_workbook(BytesIO(data)).worksheets}


def _download(client, job) -> bytes:
    response = client.get(f"/jobs/{job.pk}/download/")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_the_excel_address_starts_a_job_whose_download_is_the_workbook(as_alice, alice, drafted):
    job = _job(as_alice.get(_url(drafted)))
    assert (job.kind, job.user, job.agency.code, job.state) == ("report", alice, "wf", "queued")
    assert job.params["kind"] == "quarterly" and job.params["agencies"] == [drafted.agency.pk]
    assert "第1季管考報告" in job.title
    assert '<progress id="job-progress"' in as_alice.get(f"/jobs/{job.pk}/").content.decode()
    # A second click while it waits joins the same job.
    assert as_alice.get(_url(drafted))["Location"] == f"/jobs/{job.pk}/"
    assert Job.objects.count() == 1
    run_queued_jobs()
    status = as_alice.get(f"/jobs/{job.pk}/status/").json()
    assert status["state"] == "done", status["error"]
    assert (status["done"], status["total"], status["percent"]) == (3, 3, 100)
    job.refresh_from_db()
    assert job.filename == "流程測試署_" + job.filename.split("_", 1)[1]
    assert job.filename.endswith("第1季管考報告.xlsx")
    expected = quarterly_workbook(quarterly_report(drafted.agency, drafted.year, 1))
    assert _values(_download(as_alice, job)) == _values(expected)


def test_the_same_data_is_served_from_storage_with_one_render(as_alice, drafted):
    _job(as_alice.get(_url(drafted)))
    (job,) = run_queued_jobs()
    assert job.reused is False
    first = _download(as_alice, job)
    again = as_alice.get(_url(drafted))
    assert again.status_code == 200  # at once, no job
    assert Job.objects.count() == 1
    assert b"".join(again.streaming_content) == first
    disposition = again["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="wf-quarterly-{drafted.year}-q1.xlsx"')


def test_a_milestone_changed_makes_a_new_key_and_a_new_file(as_alice, alice, drafted):
    _job(as_alice.get(_url(drafted)))
    (job,) = run_queued_jobs()
    first = _download(as_alice, job)
    wf = drafted.agency
    key = export_key(wf, "quarterly", drafted.year, 1, "xlsx", [wf.pk])
    budget_key = export_key(wf, "budget", drafted.year, 1, "xlsx")
    milestone_set(
        indicator=drafted.count, quarter=1, value=Decimal("30"), user=alice, reason="改分配"
    )
    assert export_key(wf, "quarterly", drafted.year, 1, "xlsx", [wf.pk]) != key
    # The budget report prints no milestone: its stored file still holds.
    assert export_key(wf, "budget", drafted.year, 1, "xlsx") == budget_key
    second_job = _job(as_alice.get(_url(drafted)))
    assert second_job.pk != job.pk
    run_queued_jobs()
    second_job.refresh_from_db()
    assert second_job.state == "done" and second_job.result != job.result
    second = _download(as_alice, second_job)
    assert _values(second) != _values(first)
    assert any("30" in str(row) for rows in _values(second).values() for row in rows)


def test_the_key_names_the_quarter_the_format_and_the_agencies_covered(drafted):
    wf, year = drafted.agency, drafted.year
    keys = {
        export_key(wf, "quarterly", year, 1, "xlsx", [wf.pk]),
        export_key(wf, "quarterly", year, 2, "xlsx", [wf.pk]),
        export_key(wf, "quarterly", year, 1, "pdf", [wf.pk]),
        export_key(wf, "quarterly", year, 1, "xlsx", [wf.pk, wf.pk + 1000]),
        export_key(wf, "performance", year, 1, "xlsx"),
    }
    assert len(keys) == 5


def test_a_failed_job_says_why(as_alice, drafted):
    job = _job(as_alice.get(_url(drafted)))
    # Between the request and the job the year's figures were marked as transcribed from the
    # published documents: no quarters are left to report.
    Result.objects.filter(indicator__goal__agency=drafted.agency).update(source="年度施政績效報告")
    run_queued_jobs()
    job.refresh_from_db()
    assert job.state == "failed" and "轉錄自已發布的年度文件" in job.error
    assert "轉錄自已發布的年度文件" in as_alice.get(f"/jobs/{job.pk}/").content.decode()
    assert as_alice.get(f"/jobs/{job.pk}/download/").status_code == 409


def test_a_transcribed_year_starts_no_job(as_alice):
    # nia's 2010 figures were transcribed from the published documents: no quarters to report.
    response = as_alice.get("/reports/nia/quarterly/2010/q1/xlsx/")
    assert response.status_code == 404
    assert "轉錄自已發布的年度文件" in response.content.decode()
    assert not Job.objects.exists()


def test_a_year_without_indicators_starts_no_job(as_alice):
    response = as_alice.get("/reports/nia/quarterly/2099/q1/xlsx/")
    assert response.status_code == 404 and "沒有民國188年度" in response.content.decode()
    assert not Job.objects.exists()


def test_the_user_cancels_the_job(as_alice, drafted):
    job = _job(as_alice.get(_url(drafted)))
    assert as_alice.post(f"/jobs/{job.pk}/cancel/").status_code == 302
    assert run_queued_jobs() == []
    job.refresh_from_db()
    assert job.state == "cancelled" and job.result == ""


def test_another_agencys_reader_neither_starts_nor_sees_nor_downloads(
    as_alice, client, bob, drafted
):
    job = _job(as_alice.get(_url(drafted)))
    run_queued_jobs()
    client.force_login(bob)  # reads nia only
    assert client.get(_url(drafted)).status_code == 403
    for suffix in ("", "status/", "download/"):
        assert client.get(f"/jobs/{job.pk}/{suffix}").status_code == 403
    assert f"/jobs/{job.pk}/" not in client.get("/jobs/").content.decode()


def test_a_ministrys_file_is_for_those_who_read_every_agency_it_covers(
    as_alice, client, alice, drafted, django_user_model
):
    ministry = agency_create(user=alice, code="ministry", name="測試部")
    Agency.objects.filter(pk=drafted.agency.pk).update(parent=ministry)
    job = _job(as_alice.get(_url(drafted, agency="ministry")))
    assert job.params["agencies"] == sorted([ministry.pk, drafted.agency.pk])
    run_queued_jobs()
    job.refresh_from_db()
    assert job.state == "done", job.error
    # The ministry's own staff member sees the ministry, not the agency under it.
    carol = django_user_model.objects.create_user("carol", "carol@example.org")
    membership_create(
        member=carol, agency=ministry, role=Membership.Role.ADMIN, user=alice, reason="測試"
    )
    client.force_login(carol)
    for suffix in ("", "status/", "download/"):
        assert client.get(f"/jobs/{job.pk}/{suffix}").status_code == 403
    assert f"/jobs/{job.pk}/" not in client.get("/jobs/").content.decode()
    # Theirs covers what they see: the ministry alone, which has no indicators of its own.
    assert client.get(_url(drafted, agency="ministry")).status_code == 404
    # A 檢視 of the ministry reads the agency under it too: the same file, from storage.
    dave = django_user_model.objects.create_user("dave", "dave@example.org")
    membership_create(
        member=dave, agency=ministry, role=Membership.Role.VIEWER, user=alice, reason="測試"
    )
    client.force_login(dave)
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 200
    again = client.get(_url(drafted, agency="ministry"))
    assert again.status_code == 200 and Job.objects.count() == 1


@pytest.mark.pdf
def test_the_pdf_is_rendered_by_a_job(as_alice, drafted):
    job = _job(as_alice.get(_url(drafted, "pdf")))
    run_queued_jobs()
    job.refresh_from_db()
    assert job.state == "done" and job.content_type == "application/pdf"
    assert _download(as_alice, job).startswith(b"%PDF")
    again = as_alice.get(_url(drafted, "pdf"))
    assert again.status_code == 200 and again["Content-Disposition"].startswith("inline;")
