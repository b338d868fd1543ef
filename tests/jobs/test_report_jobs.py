"""Report files as jobs, in the default (in-process) mode: the report's PDF/Excel address starts
a job and shows its page; the job's JSON says how far it is; the file comes from the download,
and a second request for the same data is served from storage without rendering again."""

from io import BytesIO

import pytest
from openpyxl import load_workbook

from budget.models import Agency, Membership
from budget.services import agency_create, membership_create
from kpitrack.jobs.models import Job
from kpitrack.jobs.selectors import active_job_for
from kpitrack.reports.assembly import report_for
from kpitrack.reports.exports import export_key
from kpitrack.reports.render import xlsx_bytes
from performance.models import Indicator
from performance.services import indicator_update

from .running import run_queued_jobs

pytestmark = pytest.mark.django_db

XLSX = "/reports/nia/budget/2013/xlsx/?q=2"


def _values(data: bytes):
    return {ws.title: list(ws.values) for ws in load_workbook(BytesIO(data)).worksheets}


def _download(client, job) -> bytes:
    response = client.get(f"/jobs/{job.pk}/download/")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_the_excel_address_starts_a_job_and_its_page_shows_the_progress_bar(as_bob, bob):
    response = as_bob.get(XLSX)
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job.pk}/"
    assert (job.kind, job.user, job.agency.code, job.state) == ("report", bob, "nia", "queued")
    page = as_bob.get(f"/jobs/{job.pk}/").content.decode()
    assert '<progress id="job-progress"' in page
    assert f'data-status-url="/jobs/{job.pk}/status/"' in page
    assert "js/jobs.js" in page and "<script>" not in page  # no inline script (CSP)
    status = as_bob.get(f"/jobs/{job.pk}/status/").json()
    assert status["state"] == "queued" and status["finished"] is False
    assert status["download_url"] is None
    # A second click while it waits joins the same job.
    assert as_bob.get(XLSX)["Location"] == f"/jobs/{job.pk}/"
    assert Job.objects.count() == 1


def test_the_job_renders_the_workbook_and_the_download_is_it(as_bob):
    job = Job.objects.get(pk=as_bob.get(XLSX)["Location"].split("/")[2])
    run_queued_jobs()
    status = as_bob.get(f"/jobs/{job.pk}/status/").json()
    assert status["state"] == "done" and status["finished"] is True
    assert (status["done"], status["total"], status["percent"]) == (3, 3, 100)
    assert status["download_url"] == f"/jobs/{job.pk}/download/"
    page = as_bob.get(f"/jobs/{job.pk}/").content.decode()
    assert f'href="/jobs/{job.pk}/download/"' in page
    data = _download(as_bob, job)
    expected = xlsx_bytes(report_for(Agency.objects.get(code="nia"), "budget", 2013, 2))
    assert _values(data) == _values(expected)


def test_the_same_data_is_served_from_storage_with_one_render(as_bob):
    as_bob.get(XLSX)
    (job,) = run_queued_jobs()
    assert job.reused is False
    first = _download(as_bob, job)
    again = as_bob.get(XLSX)
    assert again.status_code == 200  # at once, no job
    assert Job.objects.count() == 1
    assert b"".join(again.streaming_content) == first
    assert again["Content-Disposition"].startswith('attachment; filename="nia-budget-2013.xlsx"')


def test_a_printed_change_makes_a_new_key_and_a_new_file(as_bob, alice):
    as_bob.get(XLSX)
    (job,) = run_queued_jobs()
    first = _download(as_bob, job)
    nia = Agency.objects.get(code="nia")
    key = export_key(nia, "budget", 2013, 2, "xlsx")
    indicator = Indicator.objects.filter(goal__agency=nia, goal__year=2013).first()
    indicator_update(
        indicator=indicator,
        expected_version=indicator.version,
        user=alice,
        reason="測試：改名",
        name="改過名稱的指標",
    )
    assert export_key(nia, "budget", 2013, 2, "xlsx") != key
    response = as_bob.get(XLSX)
    assert response.status_code == 302  # not the stored file: a new job
    second_job = Job.objects.exclude(pk=job.pk).get()
    run_queued_jobs()
    second_job.refresh_from_db()
    assert second_job.result != job.result
    second = _download(as_bob, second_job)
    assert second != first
    assert any("改過名稱的指標" in str(row) for rows in _values(second).values() for row in rows)


def test_the_key_names_the_format_the_quarter_and_the_language():
    nia = Agency.objects.get(code="nia")
    keys = {
        export_key(nia, "budget", 2013, 2, "xlsx"),
        export_key(nia, "budget", 2013, 2, "pdf"),
        export_key(nia, "budget", 2013, 3, "xlsx"),
        export_key(nia, "budget", 2012, 2, "xlsx"),
        export_key(nia, "performance", 2013, 2, "xlsx"),
    }
    from django.utils import translation

    with translation.override("en"):
        keys.add(export_key(nia, "budget", 2013, 2, "xlsx"))
    assert len(keys) == 6
    # The performance report covers its whole year: the quarter is not part of its key.
    assert export_key(nia, "performance", 2013, 1, "xlsx") == export_key(
        nia, "performance", 2013, 4, "xlsx"
    )


@pytest.mark.parametrize(
    "source",
    [
        "static/css/report.css",  # inlined into every PDF by print.html
        "kpitrack/templatetags/kpi.py",
        "kpitrack/core/formatting.py",
        "kpitrack/core/engine/achievement.py",  # the rate and light each row prints
    ],
)
def test_a_change_to_what_prints_the_report_makes_a_new_key(tmp_path, monkeypatch, source):
    """A stored file is touched when it is served: under an old key it would never age out."""
    from kpitrack.reports import exports

    root = tmp_path / "root"
    copy = root / source
    copy.parent.mkdir(parents=True)
    copy.write_text("/* as deployed */")
    monkeypatch.setattr(exports, "_ROOT", root)
    exports.template_version.cache_clear()
    before = exports.template_version()
    copy.write_text("/* changed */")
    exports.template_version.cache_clear()
    try:
        assert exports.template_version() != before
    finally:
        monkeypatch.undo()
        exports.template_version.cache_clear()


def test_the_job_list_shows_the_users_recent_jobs(as_bob, client, alice):
    as_bob.get(XLSX)
    run_queued_jobs()
    as_bob.get("/reports/nia/performance/2012/xlsx/")
    page = as_bob.get("/jobs/").content.decode()
    assert page.count('href="/jobs/') >= 2
    assert "完成" in page and "排隊中" in page
    client.force_login(alice)  # another user's list holds them under the agency's jobs only
    assert "您還沒有背景工作" in client.get("/jobs/").content.decode()


def _reader(django_user_model, name, agency):
    user = django_user_model.objects.create_user(name, f"{name}@example.org", f"{name}-password")
    membership_create(
        member=user, agency=agency, role=Membership.Role.VIEWER, user=None, reason="測試：檢視"
    )
    return user


def test_a_second_reader_asking_for_the_same_file_joins_the_job_under_way(
    as_bob, bob, client, django_user_model
):
    """One render for two users: the second is shown the first's job, and downloads its file."""
    carol = _reader(django_user_model, "carol", Agency.objects.get(code="nia"))
    first = as_bob.get(XLSX)["Location"]
    client.force_login(carol)
    assert client.get(XLSX)["Location"] == first
    (job,) = Job.objects.all()
    assert job.user == bob
    assert job.state == "queued" and active_job_for(carol, job.key) == job
    run_queued_jobs()
    assert client.get(f"/jobs/{job.pk}/status/").json()["state"] == "done"
    assert _download(client, job) == _download(as_bob, job)


def test_only_who_may_see_the_job_joins_it(as_bob, alice, django_user_model):
    as_bob.get(XLSX)
    (job,) = Job.objects.all()
    elsewhere = agency_create(user=alice, code="elsewhere", name="他機關")
    dave = _reader(django_user_model, "dave", elsewhere)
    assert active_job_for(dave, job.key) is None
    assert active_job_for(alice, job.key) == job  # an administrator sees every job
    # An import joins only the user's own job: it writes as whoever confirmed it.
    assert active_job_for(alice, job.key, own=True) is None
    assert active_job_for(dave, "") is None
