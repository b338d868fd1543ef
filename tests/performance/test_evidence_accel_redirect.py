"""Evidence sent by the front proxy (EVIDENCE_ACCEL_REDIRECT, docs/deploying.md): after the same
permission check, an empty answer naming the stored file in `X-Accel-Redirect`, with the headers
the streamed answer has; refused users get no header at all."""

import os
import subprocess
import sys

import pytest
from django.urls import reverse

from performance.models import Evidence
from tests.conftest import ROOT

from .cast import Role, member
from .test_view_evidence import PDF, _upload, media, result  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

PREFIX = "/protected-evidence/"


@pytest.fixture
def evidence(client, alice, result, media):  # noqa: F811
    client.force_login(alice)
    assert _upload(client, result, "會議紀錄 第1季.pdf", PDF).status_code == 302
    client.logout()
    return Evidence.objects.get(result=result)


def _download(client, evidence):
    return client.get(reverse("evidence-download", args=[evidence.pk]))


def test_a_permitted_user_gets_the_file_named_for_the_proxy(
    client, django_user_model, workflow, evidence, settings
):
    client.force_login(member(django_user_model, workflow, Role.PLANNER))
    streamed = _download(client, evidence)
    settings.EVIDENCE_ACCEL_REDIRECT = PREFIX
    response = _download(client, evidence)
    assert response.status_code == 200
    assert response.content == b""
    assert response["X-Accel-Redirect"] == PREFIX + evidence.file.name
    assert evidence.file.name.startswith(f"evidence/{evidence.result_id}/")
    for header in ("Content-Type", "Content-Disposition", "X-Content-Type-Options"):
        assert response[header] == streamed[header]
    # The CJK name the user gave travels in Content-Disposition (RFC 5987), never in the path.
    assert "filename*=utf-8''%E6%9C%83%E8%AD%B0" in response["Content-Disposition"]


def test_off_by_default_the_view_streams_the_file(client, alice, evidence):
    client.force_login(alice)
    response = _download(client, evidence)
    assert "X-Accel-Redirect" not in response
    assert b"".join(response.streaming_content) == PDF


def test_refused_users_get_no_header(client, django_user_model, workflow, evidence, settings):
    settings.EVIDENCE_ACCEL_REDIRECT = PREFIX
    stranger = django_user_model.objects.create_user("stranger", "s@example.org", "pw")
    client.force_login(stranger)
    refused = _download(client, evidence)
    assert refused.status_code == 403
    assert "X-Accel-Redirect" not in refused
    missing = client.get(reverse("evidence-download", args=[evidence.pk + 1000]))
    assert missing.status_code == 404
    assert "X-Accel-Redirect" not in missing
    client.logout()
    anonymous = _download(client, evidence)
    assert anonymous.status_code == 302
    assert "X-Accel-Redirect" not in anonymous


def test_a_stored_name_with_cjk_and_url_characters_is_percent_encoded(
    client, alice, evidence, settings
):
    # Uploads are stored under a random ASCII name today; a file restored or moved by hand may
    # carry any name, and nginx must receive one URI it decodes to exactly that file.
    Evidence.objects.filter(pk=evidence.pk).update(file="evidence/7/報告 ?a=1#b%.pdf")
    settings.EVIDENCE_ACCEL_REDIRECT = PREFIX
    client.force_login(alice)
    header = _download(client, evidence)["X-Accel-Redirect"]
    assert header == PREFIX + "evidence/7/%E5%A0%B1%E5%91%8A%20%3Fa%3D1%23b%25.pdf"
    header.encode("ascii")


def _setting(value):
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    env.update(KPITRACK_ENV_FILE="", DEBUG="1", EVIDENCE_ACCEL_REDIRECT=value)
    code = "from django.conf import settings; print(settings.EVIDENCE_ACCEL_REDIRECT)"
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "value", ["protected/", "/protected", "/a b/", "/x/?y/", "/../media/", "/%2e%2e/"]
)
def test_a_bad_prefix_stops_start_up_naming_the_variable(value):
    answer = _setting(value)
    assert answer.returncode != 0
    assert "EVIDENCE_ACCEL_REDIRECT" in answer.stderr
    assert "ImproperlyConfigured" in answer.stderr


def test_a_good_prefix_is_read():
    answer = _setting("/internal/evidence-files/")
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == "/internal/evidence-files/"
