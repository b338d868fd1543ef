"""An indicator's history page: who changed what, when, old → new, why; evidence listed."""

from decimal import Decimal

import pytest
from django.urls import reverse

from performance.services import result_return, result_save_draft, result_submit

from .cast import Role, member

pytestmark = pytest.mark.django_db


def test_it_shows_figure_changes_and_the_return_comment(client, django_user_model, workflow, alice):
    planner = member(django_user_model, workflow, Role.PLANNER)
    result = result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("120")},
        narrative={},
        expected_version=None,
        user=alice,
    )
    result = result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("130")},
        narrative={},
        expected_version=result.version,
        user=alice,
        reason="更正筆誤",
    )
    result = result_submit(result=result, expected_version=result.version, user=alice)
    result_return(
        result=result, expected_version=result.version, user=planner, comment="請附會議紀錄"
    )
    client.force_login(planner)
    response = client.get(reverse("indicator-history", args=[workflow.count.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "「辦理件數」數值" in page
    assert "120" in page and "130" in page and "更正筆誤" in page
    assert "請附會議紀錄" in page
    assert "planner" in page and "alice" in page


def test_a_user_of_another_agency_gets_403(client, django_user_model, workflow):
    stranger = django_user_model.objects.create_user("stranger", "s@example.org", "pw")
    client.force_login(stranger)
    response = client.get(reverse("indicator-history", args=[workflow.count.pk]))
    assert response.status_code == 403
