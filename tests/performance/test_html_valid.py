"""The pages the issue-18 review ran through the W3C validator stay valid HTML: the entry form
(htmx's attributes as data-hx-*), the workbook preview (no skipped heading level) and the
performance report (no section without a heading). Checked with the Nu HTML checker, the
validator behind validator.w3.org/nu, which `make test` installs from npm (vnu-jar)."""

import atexit
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from .workbook_helpers import download, fill

pytestmark = [pytest.mark.django_db, pytest.mark.vnu]

VNU_JAR = Path(settings.BASE_DIR) / ".tools/vnu/node_modules/vnu-jar/build/dist/vnu.jar"
COUNT = "辦理件數（件）"


def _missing() -> str:
    if not shutil.which("java"):
        return "Java is not installed (the Nu HTML checker runs on it): run `make test`"
    if not VNU_JAR.exists():
        return f"the Nu HTML checker is not installed at {VNU_JAR}: run `make vnu`"
    return ""


# One checker for the whole run, as a local HTTP service started by the first _check: a JVM
# started per check cost ~3 s of CPU each (seven checks in the suite), a warm one answers a page
# in a fraction of that. Its messages are the command line's (the same checker, the same
# options); stopped when pytest exits. Its start (schemas built, classes loaded) is most of its
# CPU, and the few pages checked never repay the optimising compiler's work: the client compiler
# alone (TieredStopAtLevel=1) and the serial collector halve it (8.1 -> 4.2 s in a run of the
# suite's ten pages), and a JIT or a collector does not change what the checker reports.
_checker: dict[str, object] = {}


def _checker_url() -> str:
    if "url" not in _checker:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        process = subprocess.Popen(
            [
                "java",
                "-Xss8m",
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-Dnu.validator.servlet.bind-address=127.0.0.1",
                "-cp",
                str(VNU_JAR),
                "nu.validator.servlet.Main",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        atexit.register(_stop_checker, process)
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 300
        while True:
            assert process.poll() is None, f"the Nu HTML checker exited ({process.returncode})"
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the Nu HTML checker did not start in 300 s"
                time.sleep(0.2)
        _checker["url"] = url
    return _checker["url"]


def _stop_checker(process):
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _check(pages: dict[str, str], folder: Path) -> list[str]:
    """Every message of the checker (errors and warnings) as 'page: line: message'. Each page is
    also kept in `folder` as <name>.html, to look at when a check fails."""
    found = []
    for name, html in pages.items():
        (folder / f"{name}.html").write_text(html, encoding="utf-8")
        request = urllib.request.Request(
            _checker_url() + "?out=json",
            data=html.encode("utf-8"),
            headers={"Content-Type": "text/html; charset=utf-8"},
        )
        with urllib.request.urlopen(request, timeout=300) as answer:
            messages = json.loads(answer.read())["messages"]
        found += [
            f"{name}: {m.get('lastLine', '?')}: {m['type']}: {m['message']}"
            for m in messages
            if m["type"] in ("error", "non-document-error") or m.get("subType") == "warning"
        ]
    return found


@pytest.mark.skipif(bool(_missing()), reason=_missing() or "ready")
def test_the_entry_form_workbook_preview_and_report_are_valid_html(
    client, alice, workflow, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(alice)
    pages = {}
    pages["entry"] = client.get(reverse("result-entry", args=[workflow.ratio.pk, 1]))
    scope = {
        "agency": workflow.agency.code,
        "unit": workflow.unit.code,
        "year": workflow.year,
        "quarter": workflow.quarter,
    }
    pages["workbook"] = client.get(reverse("workbook"), scope)
    # A preview listing problems: the list's heading follows the page's h1.
    data = fill(download(alice, workflow), {(workflow.count, COUNT): "=1/0"})
    pages["workbook-preview"] = client.post(
        reverse("workbook-upload"), {**scope, "file": SimpleUploadedFile("a.xlsx", data)}
    )
    good = fill(download(alice, workflow), {(workflow.count, COUNT): 120})
    pages["workbook-preview-ok"] = client.post(
        reverse("workbook-upload"), {**scope, "file": SimpleUploadedFile("a.xlsx", good)}
    )
    # Issue 17: the milestones page, its form with an error, and 我的工作 with a judgement.
    pages["milestones"] = client.post(
        reverse("indicator-milestones", args=[workflow.count.pk]), {"m_value_q1": "x"}
    )
    pages["my-work"] = client.get(reverse("my-work"), {"year": workflow.year, "quarter": 1})
    # nia prints no lights: its indicator table is the report's only section.
    pages["report"] = client.get(reverse("report", args=["nia", "performance", 2010]))
    for name, response in pages.items():
        assert response.status_code in (200, 400), f"{name}: {response.status_code}"
    problems = _check({n: r.content.decode() for n, r in pages.items()}, tmp_path)
    assert problems == [], "\n".join(problems)


@pytest.mark.skipif(bool(_missing()), reason=_missing() or "ready")
def test_a_workbook_import_jobs_page_and_list_are_valid_html(
    client, alice, workflow, tmp_path, settings
):
    """A large workbook's confirm runs as a job (performance.workbook_jobs): its page while
    queued, and once done (the confirm's summary in place of a download), and the job list."""
    from kpitrack.jobs.models import Job
    from tests.jobs.running import run_queued_jobs

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_BROKER_URL = ""
    settings.WORKBOOK_JOB_ROWS = 0
    client.force_login(alice)
    scope = {
        "agency": workflow.agency.code,
        "unit": workflow.unit.code,
        "year": workflow.year,
        "quarter": workflow.quarter,
    }
    good = fill(download(alice, workflow), {(workflow.count, COUNT): 120})
    preview = client.post(
        reverse("workbook-upload"), {**scope, "file": SimpleUploadedFile("a.xlsx", good)}
    )
    client.post(reverse("workbook-confirm"), {"token": preview.context["token"]})
    job = Job.objects.get()
    pages = {"job-queued": client.get(reverse("job", args=[job.pk]))}
    run_queued_jobs()
    pages["job-done"] = client.get(reverse("job", args=[job.pk]))
    pages["jobs"] = client.get(reverse("jobs"))
    assert "已由「a.xlsx」寫入 1 列的變更" in pages["job-done"].content.decode()
    for name, response in pages.items():
        assert response.status_code == 200, f"{name}: {response.status_code}"
    problems = _check({n: r.content.decode() for n, r in pages.items()}, tmp_path)
    assert problems == [], "\n".join(problems)
