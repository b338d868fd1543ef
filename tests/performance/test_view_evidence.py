"""Evidence on the entry page: upload (refused by content, next to the field), listed, and
downloaded only through the permission-checked view."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from performance.models import Evidence
from performance.services import result_save_draft

from .cast import Role, member

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def result(workflow, alice):
    return result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("120")},
        narrative={},
        expected_version=None,
        user=alice,
    )


def _upload(client, result, name, content):
    url = reverse("evidence-upload", args=[result.indicator_id, result.quarter])
    return client.post(url, {"file": SimpleUploadedFile(name, content)})


def test_staff_uploads_and_a_colleague_downloads_it(
    client, django_user_model, workflow, result, media
):
    staff = member(django_user_model, workflow, Role.STAFF)
    planner = member(django_user_model, workflow, Role.PLANNER)
    client.force_login(staff)
    assert _upload(client, result, "會議紀錄.pdf", PDF).status_code == 302
    evidence = Evidence.objects.get(result=result)
    page = client.get(reverse("result-entry", args=[workflow.count.pk, 1])).content.decode()
    assert "會議紀錄.pdf" in page
    assert reverse("evidence-download", args=[evidence.pk]) in page
    client.force_login(planner)
    response = client.get(reverse("evidence-download", args=[evidence.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert "attachment" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_file_named_pdf_that_is_not_one_is_refused_next_to_the_field(
    client, alice, workflow, result, media
):
    client.force_login(alice)
    response = _upload(client, result, "報告.pdf", b"MZ\x90\x00 not a pdf at all")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_file_error"' in page
    assert not Evidence.objects.exists()


def test_someone_outside_the_agency_may_not_download(
    client, django_user_model, workflow, result, media, alice
):
    client.force_login(alice)
    _upload(client, result, "a.pdf", PDF)
    evidence = Evidence.objects.get()
    stranger = django_user_model.objects.create_user("stranger", "s@example.org", "pw")
    client.force_login(stranger)
    assert client.get(reverse("evidence-download", args=[evidence.pk])).status_code == 403
    client.logout()
    response = client.get(reverse("evidence-download", args=[evidence.pk]))
    assert response.status_code == 302


def test_staff_of_another_unit_may_not_upload(client, django_user_model, workflow, result, media):
    outsider = member(django_user_model, workflow, Role.STAFF, unit=workflow.other_unit)
    client.force_login(outsider)
    assert _upload(client, result, "a.pdf", PDF).status_code == 403
    assert not Evidence.objects.exists()
