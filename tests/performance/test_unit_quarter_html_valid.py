"""The unit quarter page is valid HTML: as loaded, with a refused row, with warnings to
confirm, with evidence listed; and the row preview and evidence list fragments in a page."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from performance.services import evidence_add, result_save_draft

from .test_html_valid import _check, _missing

pytestmark = [pytest.mark.django_db, pytest.mark.vnu]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.skipif(bool(_missing()), reason=_missing() or "ready")
def test_the_unit_quarter_page_is_valid_html(client, alice, workflow, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(alice)
    result = result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": "10"},
        narrative={},
        expected_version=None,
        user=alice,
    )
    evidence_add(result=result, upload=SimpleUploadedFile("a.pdf", PDF), user=alice)
    args = [workflow.agency.code, workflow.unit.code, workflow.year, 1]
    url = reverse("unit-quarter", args=args)
    c, r = f"i{workflow.count.pk}-", f"i{workflow.ratio.pk}-"
    typed = {f"{c}version": str(result.version), f"{c}f_value": "400", f"{r}version": ""}
    pages = {
        "page": client.get(url),
        "refused": client.post(url, {**typed, f"{c}f_value": "x", f"{r}f_num": "-1"}),
        "warnings": client.post(url, typed),
    }
    for name, response in pages.items():
        assert response.status_code in (200, 400), f"{name}: {response.status_code}"
    problems = _check({n: r.content.decode() for n, r in pages.items()}, tmp_path)
    assert not problems, "\n".join(problems)
