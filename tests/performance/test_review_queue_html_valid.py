"""The review queue is valid HTML, listed, refused (a stale row, a return without a comment)
and empty: checked with the Nu HTML checker as test_html_valid.py checks the entry pages."""

import pytest
from django.urls import reverse

from performance.services import result_first_approve

from .cast import Role, member
from .test_html_valid import _check, _missing
from .test_review_queue import _extra, _submitted

pytestmark = [pytest.mark.django_db, pytest.mark.vnu]


@pytest.mark.skipif(bool(_missing()), reason=_missing() or "ready")
def test_the_review_queue_is_valid_html(client, alice, workflow, django_user_model, tmp_path):
    head = member(django_user_model, workflow, Role.HEAD)
    planner = member(django_user_model, workflow, Role.PLANNER)
    behind = _submitted(
        workflow.count,
        head,
        value="10",
        evidence="a.pdf",
        shortfall_reason="颱風",
        improvement="趕辦",
    )
    other = _submitted(_extra(workflow, alice, 2, both_units=True)[1], alice)
    first = _submitted(_extra(workflow, alice, 1, start=5)[0], head)
    result_first_approve(result=first, expected_version=first.version, user=alice)
    period = {"year": workflow.year, "quarter": 1, "stage": "first"}
    url = reverse("review-queue-agency", args=[workflow.agency.code])
    stale = {**period, "result": [behind.pk, other.pk], f"version-{behind.pk}": 0}
    stale[f"version-{other.pk}"] = other.version
    client.force_login(planner)
    pages = {
        "queue": client.get(url, period),
        "bad-year": client.get(url, {"year": "x"}),
        "empty": client.get(url, {**period, "quarter": 2}),
        "stale": client.post(reverse("review-queue-approve", args=[workflow.agency.code]), stale),
        "none-ticked": client.post(
            reverse("review-queue-approve", args=[workflow.agency.code]), period
        ),
        "no-comment": client.post(
            reverse("review-queue-return", args=[workflow.agency.code]),
            {**period, "result": behind.pk, "version": behind.version, "comment": ""},
        ),
    }
    client.force_login(alice)  # both stages, several agencies; a 複核 override
    pages["final"] = client.get(url, {**period, "stage": "final"})
    pages["index"] = client.get(reverse("review-queue"))
    for name, response in pages.items():
        assert response.status_code in (200, 400, 409), f"{name}: {response.status_code}"
    problems = _check({n: r.content.decode() for n, r in pages.items()}, tmp_path)
    assert not problems, "\n".join(problems)
