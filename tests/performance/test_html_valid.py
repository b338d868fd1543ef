"""The pages the issue-18 review ran through the W3C validator stay valid HTML: the entry form
(htmx's attributes as data-hx-*), the workbook preview (no skipped heading level) and the
performance report (no section without a heading). Checked with the Nu HTML checker, the
validator behind validator.w3.org/nu, which `make test` installs from npm (vnu-jar)."""

import json
import shutil
import subprocess
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


def _check(pages: dict[str, str], folder: Path) -> list[str]:
    """Every message of the checker (errors and warnings) as 'page: line: message'."""
    paths = []
    for name, html in pages.items():
        path = folder / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        paths.append(str(path))
    run = subprocess.run(
        ["java", "-Xss8m", "-jar", str(VNU_JAR), "--format", "json", "--exit-zero-always", *paths],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(run.stderr or run.stdout)["messages"]
    return [
        f"{Path(m.get('url', '')).stem}: {m.get('lastLine', '?')}: {m['type']}: {m['message']}"
        for m in messages
        if m["type"] in ("error", "non-document-error") or m.get("subType") == "warning"
    ]


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
