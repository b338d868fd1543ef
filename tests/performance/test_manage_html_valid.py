"""The management screens (管理者) are valid HTML, with and without refusals on their forms:
checked with the Nu HTML checker as test_html_valid.py checks the entry pages."""

import pytest
from django.urls import reverse

from performance.services import (
    entry_exception_grant,
    result_final_approve,
    result_first_approve,
    result_save_draft,
    result_submit,
)

from .test_html_valid import _check, _missing

pytestmark = [pytest.mark.django_db, pytest.mark.vnu]


@pytest.mark.skipif(bool(_missing()), reason=_missing() or "ready")
def test_the_management_screens_are_valid_html(client, alice, workflow, tmp_path):
    client.force_login(alice)
    result = result_save_draft(
        indicator=workflow.count,
        quarter=workflow.quarter,
        figures={"value": "120"},
        narrative={},
        expected_version=None,
        user=alice,
    )
    for step in (result_submit, result_first_approve, result_final_approve):
        result = step(result=result, expected_version=result.version, user=alice)
    exception = entry_exception_grant(
        agency=workflow.agency,
        unit=workflow.unit,
        year=workflow.year,
        quarter=workflow.quarter,
        until=workflow.period().closes_on,
        user=alice,
        reason="補登",
    )
    args = [workflow.agency.code, workflow.year, workflow.quarter]
    pages = {
        "index": client.get(reverse("manage")),
        "agency": client.get(reverse("manage-agency", args=args[:1]), {"year": workflow.year}),
        "agency-bad-year": client.get(reverse("manage-agency", args=args[:1]), {"year": "x"}),
        "quarter": client.get(reverse("manage-quarter", args=args)),
        "quarter-refused": client.post(reverse("manage-quarter", args=args), {"opens_on": "x"}),
        "exceptions": client.get(reverse("manage-exceptions", args=args)),
        "exceptions-refused": client.post(reverse("manage-exceptions", args=args), {}),
        "withdraw": client.get(reverse("manage-exception-withdraw", args=[*args, exception.pk])),
        "lock": client.get(reverse("manage-lock", args=args)),
        "lock-refused": client.post(reverse("manage-lock", args=args), {}),
        "results": client.get(reverse("manage-results", args=args)),
        "reopen": client.get(reverse("manage-reopen", args=[*args, result.pk])),
        "reopen-refused": client.post(reverse("manage-reopen", args=[*args, result.pk]), {}),
    }
    for name, response in pages.items():
        assert response.status_code in (200, 400), f"{name}: {response.status_code}"
    problems = _check({n: r.content.decode() for n, r in pages.items()}, tmp_path)
    assert not problems, "\n".join(problems)
