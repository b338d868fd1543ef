"""The milestones page (分季目標) of an indicator: read by every role of its agency, set by the
planning office (初核) or the agency's 管理者 with a reason; bad input answered beside its field
with nothing written."""

from decimal import Decimal

import pytest
from django.urls import reverse

from performance.models import Milestone

from .cast import Role, member

pytestmark = pytest.mark.django_db


def _url(indicator):
    return reverse("indicator-milestones", args=[indicator.pk])


def _post(client, indicator, data):
    return client.post(_url(indicator), {"reason": "依年度計畫", **data})


def test_a_planner_sees_the_defaults_and_sets_milestones_with_a_reason(
    client, django_user_model, workflow
):
    planner = member(django_user_model, workflow, Role.PLANNER)
    client.force_login(planner)
    page = client.get(_url(workflow.count)).content.decode()
    # The count's target is 100: defaults 25, 50, 75, shown and not stored.
    assert 'placeholder="預設 25"' in page and 'placeholder="預設 75"' in page
    assert "尚未設定分季目標。" in page
    response = _post(client, workflow.count, {"m_value_q1": "20", "m_value_q2": "1,000"})
    assert response.status_code == 302
    stored = dict(Milestone.objects.values_list("quarter", "value"))
    assert stored == {1: Decimal("20"), 2: Decimal("1000")}
    page = client.get(_url(workflow.count)).content.decode()
    assert "分季目標已儲存。" in page
    assert "「件數」第1季" in page and "依年度計畫" in page
    assert 'value="20"' in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"m_value_q1": "abc"}, "不是數字"),
        ({"m_value_q1": "-5"}, "0"),
        ({"m_value_q1": "5", "reason": ""}, "這個欄位是必須的"),
    ],
)
def test_bad_input_is_answered_beside_its_field_and_nothing_written(
    client, alice, workflow, data, message
):
    client.force_login(alice)
    response = _post(client, workflow.count, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Milestone.objects.exists()


def test_a_unit_reads_them_but_may_not_set_them(client, django_user_model, workflow):
    staff = member(django_user_model, workflow, Role.STAFF)
    client.force_login(staff)
    page = client.get(_url(workflow.count)).content.decode()
    assert "25 <small>（預設）</small>" in page
    assert "儲存分季目標" not in page
    assert _post(client, workflow.count, {"m_value_q1": "20"}).status_code == 403
    assert not Milestone.objects.exists()
