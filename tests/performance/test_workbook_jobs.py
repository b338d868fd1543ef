"""A large workbook's confirm runs as a background job (performance.workbook_jobs): the same
import as the page's confirm, all or nothing, with its history, progress, cancel and who may see
it; a small one is still written on the request, and the command never starts a job.

Real workbooks: downloaded through kpitrack and filled with openpyxl. The threshold
(settings.WORKBOOK_JOB_ROWS) is lowered to 1, so the workflow's two rows make a "large" one.
Jobs run in the test's thread and transaction (tests/jobs/running.py)."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from budget.models import Membership
from kpitrack.jobs.models import Job
from kpitrack.jobs.services import job_cancel
from performance import services
from performance import workbook_import as wi
from performance.models import Result
from performance.services import result_save_draft
from tests.jobs.running import run_queued_jobs

from .workbook_helpers import download, fill

pytestmark = pytest.mark.django_db

COUNT = "辦理件數（件）"
NUM, DEN = "分子：查獲件數", "分母：受理件數"
REASON = "Excel 匯入：填報.xlsx"


@pytest.fixture(autouse=True)
def small_threshold(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.CELERY_BROKER_URL = ""
    settings.WORKBOOK_JOB_ROWS = 1


@pytest.fixture
def uploads(tmp_path):
    return tmp_path / "workbook-uploads"


def _both_rows(user, flow) -> bytes:
    return fill(
        download(user, flow),
        {(flow.count, COUNT): 150, (flow.ratio, NUM): 45, (flow.ratio, DEN): 50},
    )


def _preview(client, flow, data: bytes, **headers) -> str:
    response = client.post(
        reverse("workbook-upload"),
        {
            "agency": flow.agency.code,
            "unit": "ops",
            "year": flow.year,
            "quarter": flow.quarter,
            "file": SimpleUploadedFile("填報.xlsx", data),
        },
        **headers,
    )
    assert response.status_code == 200, response.content.decode()
    return response.context["token"]


def _confirm_as_job(client, flow, user, **headers) -> Job:
    client.force_login(user)
    token = _preview(client, flow, _both_rows(user, flow), **headers)
    response = client.post(reverse("workbook-confirm"), {"token": token}, **headers)
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("job", args=[job.pk])
    return job


def _written(flow) -> bool:
    return Result.objects.filter(indicator__in=[flow.count, flow.ratio]).exists()


def test_a_large_workbook_is_confirmed_by_a_job_with_the_rows_and_their_history(
    client, alice, workflow, uploads
):
    job = _confirm_as_job(client, workflow, alice)

    # Nothing is written on the request; the job waits for a worker.
    assert (job.kind, job.state, job.user, job.agency) == (
        "workbook_import",
        "queued",
        alice,
        workflow.agency,
    )
    assert not _written(workflow)

    run_queued_jobs()

    job.refresh_from_db()
    assert (job.state, job.done, job.total, job.error) == ("done", 2, 2, "")
    count = Result.objects.get(indicator=workflow.count, quarter=workflow.quarter)
    assert count.figures.get().value == Decimal("150")
    ratio = Result.objects.get(indicator=workflow.ratio, quarter=workflow.quarter)
    assert {f.key: f.value for f in ratio.figures.all()} == {"num": 45, "den": 50}
    # Attributed as the page's confirm writes it: who, when, why, old → new.
    for result in (count, ratio):
        record = result.history.get()
        assert (record.history_user, record.history_change_reason) == (alice, REASON)
        assert record.history_type == "+"
    figure = count.figures.get().history.get()
    assert (figure.history_user, figure.history_change_reason) == (alice, REASON)
    assert list(uploads.iterdir()) == []  # the upload is done with

    # Its page says what the page's confirm says, row by row; no download.
    page = client.get(reverse("job", args=[job.pk])).content.decode()
    assert "已由「填報.xlsx」寫入 2 列的變更，狀態為草稿。" in page
    assert f"<li>{workflow.count.name}</li>" in page and f"<li>{workflow.ratio.name}</li>" in page
    assert reverse("job-download", args=[job.pk]) not in page
    status = client.get(reverse("job-status", args=[job.pk])).json()
    assert (status["state"], status["done"], status["total"]) == ("done", 2, 2)
    assert status["download_url"] is None
    assert client.get(reverse("job-download", args=[job.pk])).status_code == 404
    listed = client.get(reverse("jobs")).content.decode()
    assert "匯入活頁簿「填報.xlsx」（流程測試署 業務組" in listed and "檢視結果" in listed


def test_the_job_reports_its_steps_in_rows(client, alice, workflow, monkeypatch):
    job = _confirm_as_job(client, workflow, alice)
    seen = []
    write = services.results_save_drafts

    def watched(**kwargs):
        seen.append(Job.objects.values_list("state", "done", "total", "step").get(pk=job.pk))
        return write(**kwargs)

    monkeypatch.setattr(services, "results_save_drafts", watched)
    run_queued_jobs()
    assert seen == [("running", 0, 2, "檢查權限與資料版本，寫入 2 列")]


def test_a_small_workbook_is_still_written_on_the_request(client, alice, workflow, uploads):
    client.force_login(alice)
    data = fill(download(alice, workflow), {(workflow.count, COUNT): 150})  # 1 row: not > 1
    response = client.post(reverse("workbook-confirm"), {"token": _preview(client, workflow, data)})
    assert response.status_code == 200
    assert "已由「填報.xlsx」寫入 1 列的變更" in response.content.decode()
    assert not Job.objects.exists()
    result = Result.objects.get(indicator=workflow.count)
    assert result.history.get().history_change_reason == REASON
    assert list(uploads.iterdir()) == []


def test_a_figure_changed_meanwhile_fails_the_job_saying_why_and_writes_nothing(
    client, alice, workflow, uploads
):
    job = _confirm_as_job(client, workflow, alice)
    result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": Decimal("130")},
        narrative={},
        expected_version=None,
        user=alice,
        reason="表單",
    )

    run_queued_jobs()

    job.refresh_from_db()
    assert job.state == "failed"
    assert job.error.startswith("匯入被拒絕，沒有寫入任何資料：預覽之後，有列的成果已被其他人修改")
    assert Result.objects.get(indicator=workflow.count).figures.get().value == Decimal("130")
    assert not Result.objects.filter(indicator=workflow.ratio).exists()
    page = client.get(reverse("job", args=[job.pk])).content.decode()
    assert 'role="alert">匯入被拒絕，沒有寫入任何資料：預覽之後' in page
    assert list(uploads.iterdir()) == []


def test_the_failure_is_in_the_language_of_who_confirmed(client, alice, workflow):
    job = _confirm_as_job(client, workflow, alice, HTTP_ACCEPT_LANGUAGE="en")
    Result.objects.create(indicator=workflow.count, quarter=workflow.quarter)  # meanwhile

    run_queued_jobs()

    job.refresh_from_db()
    assert job.state == "failed"
    assert job.error.startswith("The import was refused; nothing was written: Since your preview")
    assert not Result.objects.filter(indicator=workflow.ratio).exists()


def test_a_user_who_lost_the_right_to_enter_meanwhile_gets_a_failed_job(client, workflow, people):
    staff = people["staff"]
    job = _confirm_as_job(client, workflow, staff)
    Membership.objects.filter(user=staff).delete()

    run_queued_jobs()

    job.refresh_from_db()
    assert job.state == "failed"
    assert "的填報權限，不能上傳這份活頁簿" in job.error
    assert not _written(workflow)


def test_cancelled_before_it_runs_nothing_is_written(client, alice, workflow):
    job = _confirm_as_job(client, workflow, alice)
    response = client.post(reverse("job-cancel", args=[job.pk]))
    assert response.status_code == 302

    run_queued_jobs()

    job.refresh_from_db()
    assert job.state == "cancelled"
    assert not _written(workflow)


def test_cancelled_while_it_writes_the_import_rolls_back(client, alice, workflow, monkeypatch):
    """The user's click lands (and commits, from another request) once the job has begun its
    import: the rows are written in the import's transaction, then its last write finds the job
    cancelled and the whole import rolls back. (One test transaction here: the click is made
    just before the import's own transaction opens, so that rolling it back keeps the click.)"""
    job = _confirm_as_job(client, workflow, alice)
    imported, write = wi.import_parsed, services.results_save_drafts
    written_meanwhile = []

    def clicked_meanwhile(*args, **kwargs):
        job_cancel(job=Job.objects.get(pk=job.pk))
        return imported(*args, **kwargs)

    def watched(**kwargs):
        write(**kwargs)
        written_meanwhile.append(_written(workflow))

    monkeypatch.setattr(wi, "import_parsed", clicked_meanwhile)
    monkeypatch.setattr(services, "results_save_drafts", watched)
    run_queued_jobs()

    job.refresh_from_db()
    assert written_meanwhile == [True]
    assert (job.state, job.outcome) == ("cancelled", {})
    assert not _written(workflow)
    assert not Result.history.filter(
        indicator_id__in=[workflow.count.pk, workflow.ratio.pk]
    ).exists()


def test_a_job_that_ended_cannot_be_cancelled_over_its_rows(client, alice, workflow):
    job = _confirm_as_job(client, workflow, alice)
    run_queued_jobs()
    client.post(reverse("job-cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == "done"
    assert _written(workflow)


def test_only_who_confirmed_and_the_agencys_readers_see_the_job(client, workflow, people, bob):
    job = _confirm_as_job(client, workflow, people["staff"])
    run_queued_jobs()

    client.force_login(bob)  # reads another agency only
    assert client.get(reverse("job", args=[job.pk])).status_code == 403
    assert client.get(reverse("job-status", args=[job.pk])).status_code == 403
    assert client.post(reverse("job-cancel", args=[job.pk])).status_code == 403
    assert "匯入活頁簿" not in client.get(reverse("jobs")).content.decode()

    # A reader of the agency sees it, as any job of that agency (kpitrack.jobs.selectors), and
    # cannot cancel it.
    client.force_login(people["director"])
    assert client.get(reverse("job", args=[job.pk])).status_code == 200
    assert client.post(reverse("job-cancel", args=[job.pk])).status_code == 403


def test_the_command_still_writes_a_large_workbook_itself(alice, workflow, tmp_path, capsys):
    path = tmp_path / "填報.xlsx"
    path.write_bytes(_both_rows(alice, workflow))

    call_command("import_results", str(path), user="alice")

    assert "已寫入 2 列的變更" in capsys.readouterr().out
    assert not Job.objects.exists()
    count = Result.objects.get(indicator=workflow.count)
    assert count.history.get().history_change_reason == REASON


def test_with_the_queue_down_the_confirm_says_so_and_writes_nothing(
    client, alice, workflow, settings, uploads
):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/11"  # nothing listens on port 1
    client.force_login(alice)
    token = _preview(client, workflow, _both_rows(alice, workflow))
    response = client.post(reverse("workbook-confirm"), {"token": token})
    assert response.status_code == 503
    assert "排程佇列目前無法使用" in response.content.decode()
    assert Job.objects.get().state == "failed"
    assert not _written(workflow)
    assert (uploads / f"{token}.xlsx").exists()  # kept: the confirm may be tried again
