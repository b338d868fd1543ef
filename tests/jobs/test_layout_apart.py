"""Without a broker, the PDF of a job the web process's pool runs is laid out in a helper
process (kpitrack.reports.layout), below the requests' priority; a helper that dies fails its
job with a message and the next PDF starts a new one."""

import os
import signal
import threading
import time

import pytest

from kpitrack.jobs.kinds import JobFailed
from kpitrack.jobs.models import Job
from kpitrack.jobs.runners import drain_in_process_pool
from kpitrack.reports import layout
from tests.reports.test_pdf import poppler

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.pdf]

PDF = "/reports/nia/performance/2012/pdf/"


@pytest.fixture(autouse=True)
def no_helper(settings):
    from django.db import connection

    if connection.vendor == "sqlite":
        settings.JOBS_IN_PROCESS_WORKERS = 1  # tests/jobs/test_in_process_pool.py says why
    layout.stop()
    yield
    while drain_in_process_pool():
        pass
    layout.stop()


@pytest.fixture
def signed_in(client, django_user_model):
    from tests.conftest import seeded

    seeded()  # transactional tests may start empty
    client.force_login(django_user_model.objects.create_superuser("lay", "lay@example.org", "x"))
    return client


def _job_of(response) -> Job:
    assert response.status_code == 302
    while drain_in_process_pool():
        pass
    return Job.objects.get(pk=int(response["Location"].split("/")[2]))


def test_the_pools_pdf_is_laid_out_in_a_helper_below_the_requests_priority(
    signed_in, settings, tmp_path
):
    settings.JOBS_NICE = 7
    job = _job_of(signed_in.get(PDF))
    assert (job.state, job.error) == ("done", "")
    helper = layout.helper_pid()
    assert helper is not None and helper != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, helper) == min(19, os.getpriority(0, 0) + 7)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"".join(signed_in.get(f"/jobs/{job.pk}/download/").streaming_content))
    fonts = poppler("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts and all(" yes " in line for line in fonts), fonts  # every face embedded


def test_with_the_setting_off_the_pools_thread_lays_it_out(signed_in, settings):
    settings.JOBS_PDF_APART = False
    assert _job_of(signed_in.get(PDF)).state == "done"
    assert layout.helper_pid() is None


def test_a_pdf_laid_out_outside_the_pool_starts_no_helper():
    """The command line, a Celery worker and the tests' own runs: no request waits there."""
    from kpitrack.reports.exports import render_export
    from tests.conftest import seeded

    seeded()
    from budget.models import Agency

    name, data = render_export(Agency.objects.get(code="nia"), "performance", 2012, 0, "pdf")
    assert data.startswith(b"%PDF")
    assert layout.helper_pid() is None


def test_a_helper_killed_mid_layout_fails_with_a_message_and_the_next_starts_afresh():
    html = "<html><body>" + "<p>第一段文字 paragraph</p>" * 20_000 + "</body></html>"
    raised = []

    def lay_out():
        try:
            layout.html_to_pdf_apart(html)
        except JobFailed as exc:
            raised.append(str(exc))

    thread = threading.Thread(target=lay_out)
    thread.start()
    deadline = time.monotonic() + 30
    while layout.helper_pid() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first = layout.helper_pid()
    time.sleep(1.5)  # WeasyPrint loaded and the layout under way
    os.kill(first, signal.SIGKILL)
    thread.join(30)
    assert raised == [
        "排版 PDF 的程序在完成前結束了，檔案未產生；請再試一次，仍失敗請通知系統管理者。"
    ]
    assert layout.html_to_pdf_apart("<p>again</p>").startswith(b"%PDF")
    assert layout.helper_pid() not in (None, first)


def test_the_helper_runs_at_the_jobs_priority_whichever_thread_started_it(settings):
    """Started from a thread at the requests' priority, it lowers itself (a pool thread's
    lowered priority would be inherited; this one's is not)."""
    settings.JOBS_NICE = 5
    assert layout.html_to_pdf_apart("<p>nice</p>").startswith(b"%PDF")
    assert os.getpriority(os.PRIO_PROCESS, layout.helper_pid()) == min(19, os.getpriority(0, 0) + 5)
