"""Faults: a full disk while a job writes its file, the broker down, and what prune_exports
removes. (A worker killed mid-job: test_celery.py; a web process that died: test_lifecycle.py.)"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from kpitrack.jobs import files
from kpitrack.jobs.health import broker_check
from kpitrack.jobs.models import Job

from .running import run_queued_jobs
from .test_bundle import second_agency  # noqa: F401 - a ministry of two agencies

pytestmark = pytest.mark.django_db

XLSX = "/reports/nia/budget/2013/xlsx/?q=2"
# A port of this helper's range where nothing listens: a broker that is down.
DOWN = "redis://127.0.0.1:8279/9"


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def tiny_disk(tmp_path, settings):
    """MEDIA_ROOT on a real 16 KiB tmpfs: the workbook (~40 KB) cannot fit."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    root = tmp_path / "tiny"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(root)], capture_output=True
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    settings.MEDIA_ROOT = root
    try:
        yield root
    finally:
        subprocess.run(["umount", str(root)], check=True)


def test_a_full_disk_fails_the_job_with_a_clear_message_and_no_file(as_bob, tiny_disk):
    as_bob.get(XLSX)
    (job,) = run_queued_jobs()
    assert job.state == "failed"
    assert job.error == "儲存空間已滿，無法寫入檔案；請通知系統管理者清出空間後再試一次。"
    assert job.result == ""
    assert _files(tiny_disk) == []  # no partial file, no temporary file
    assert as_bob.get(XLSX).status_code == 302  # nothing stored: asked again, a new job


def test_the_full_disk_message_is_in_the_users_language(client, bob, tiny_disk):
    client.force_login(bob)
    client.get(XLSX, headers={"accept-language": "en"})
    (job,) = run_queued_jobs()
    assert job.error.startswith("The storage is full")


def test_with_the_broker_down_exports_say_the_queue_is_unavailable(as_bob, settings):
    settings.CELERY_BROKER_URL = DOWN
    response = as_bob.get(XLSX)
    assert response.status_code == 503
    assert "排程佇列目前無法使用" in response.content.decode()
    job = Job.objects.get()
    assert job.state == "failed" and "排程佇列目前無法使用" in job.error
    # Pages still work.
    assert as_bob.get("/reports/nia/budget/2013/?q=2").status_code == 200
    assert as_bob.get("/jobs/").status_code == 200
    ok, reason = broker_check()
    assert not ok and reason.startswith("broker unavailable")


def test_with_the_broker_down_and_the_fallback_on_jobs_run_in_process(as_bob, settings):
    settings.CELERY_BROKER_URL = DOWN
    settings.JOBS_FALLBACK_IN_PROCESS = True
    assert as_bob.get(XLSX).status_code == 302
    (job,) = run_queued_jobs()
    assert job.state == "done"


def test_broker_check_says_which_mode(settings):
    settings.CELERY_BROKER_URL = ""
    assert broker_check() == (True, "no broker configured: jobs run in the web processes")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/9"
    try:
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1).ping()
    except Exception:
        pytest.skip("no Redis on 127.0.0.1:6379")
    assert broker_check() == (True, "broker reachable")


def test_prune_exports_removes_old_files_and_leftover_temporaries(as_bob, media, settings):
    as_bob.get(XLSX)
    (job,) = run_queued_jobs()
    kept = files.save_atomically("exports/ab/recent.pdf", b"%PDF-1.7")
    old = files.save_atomically("exports/cd/old.pdf", b"%PDF-1.7")
    leftover = media / "exports" / "cd" / ".x.pdf.abc.tmp"
    leftover.write_bytes(b"partial")
    settings.EXPORT_RETENTION_DAYS = 30
    long_ago = time.time() - (settings.EXPORT_RETENTION_DAYS + 1) * 86400
    for path in (media / old, leftover):
        os.utime(path, (long_ago, long_ago))
    # Two days old: a kept file stays for the retention period, a temporary goes after a day.
    young = files.save_atomically("exports/ef/young.pdf", b"%PDF-1.7")
    young_leftover = media / "exports" / "ef" / ".y.pdf.def.tmp"
    young_leftover.write_bytes(b"partial")
    two_days_ago = time.time() - 2 * 86400
    for path in (media / young, young_leftover):
        os.utime(path, (two_days_ago, two_days_ago))
    Job.objects.filter(pk=job.pk).update(
        finished_at=job.finished_at - __import__("datetime").timedelta(days=365)
    )
    call_command("prune_exports", stdout=open(os.devnull, "w"))
    assert sorted(p.name for p in _files(media)) == sorted(
        [Path(kept).name, Path(young).name, Path(job.result).name]
    )
    assert not Job.objects.filter(pk=job.pk).exists()


def test_with_the_broker_down_a_bundle_and_all_its_parts_fail(
    as_bob,
    bob,
    settings,
    second_agency,  # noqa: F811 - the fixture imported above
):
    """The first part refused used to leave the bundle and the other parts queued for ever."""
    from budget.models import Agency, Membership
    from budget.services import membership_create

    membership_create(
        member=bob,
        agency=Agency.objects.get(code="moi"),
        role=Membership.Role.VIEWER,
        user=None,
        reason="測試",
    )
    settings.CELERY_BROKER_URL = DOWN
    response = as_bob.get("/reports/moi/performance/2012/all/")
    assert response.status_code == 503
    assert "排程佇列目前無法使用" in response.content.decode()
    jobs = Job.objects.all()
    assert len(jobs) == 3  # the bundle and a part per agency
    for job in jobs:
        assert job.state == "failed" and "排程佇列目前無法使用" in job.error, job
        assert job.finished_at is not None
