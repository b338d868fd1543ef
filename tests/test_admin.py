"""The admin: every model browsable in Traditional Chinese, and corrections attributable."""

import pytest
from django.urls import reverse

from performance.models import Change, Indicator, Result

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "budget_agency",
    "budget_unit",
    "budget_annualpolicy",
    "budget_policygoal",
    "budget_headcountbudget",
    "performance_strategicgoal",
    "performance_indicator",
    "performance_result",
    "performance_change",
]


@pytest.mark.parametrize("name", CHANGELISTS)
def test_changelists_render_in_chinese(client, alice, name):
    client.force_login(alice)
    response = client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200
    assert (
        'lang="zh-hant"' in response.content.decode()
        or "zh-hant" in response.content.decode().lower()
    )


def test_search_and_filters(client, alice):
    client.force_login(alice)
    response = client.get(reverse("admin:performance_indicator_changelist"), {"q": "人蛇"})
    assert response.status_code == 200
    assert "人蛇查緝績效" in response.content.decode()
    response = client.get(
        reverse("admin:performance_result_changelist"), {"indicator__goal__year": 2012}
    )
    assert response.status_code == 200


def test_change_pages_render(client, alice):
    client.force_login(alice)
    result = Result.objects.get(indicator__code="auto-gate")
    assert (
        client.get(reverse("admin:performance_result_change", args=[result.pk])).status_code == 200
    )
    indicator = Indicator.objects.get(code="inspection-service")
    assert (
        client.get(reverse("admin:performance_indicator_change", args=[indicator.pk])).status_code
        == 200
    )


def test_colleague_without_admin_rights_is_kept_out(client, bob):
    client.force_login(bob)
    response = client.get(reverse("admin:performance_result_changelist"))
    assert response.status_code == 302


def _result_post(result, **overrides):
    figure = result.figures.get(key="value")
    data = {
        "indicator": result.indicator_id,
        "quarter": result.quarter,
        "state": result.state,
        "owner_unit": "",
        "progress": result.progress,
        "benefit": result.benefit,
        "shortfall_reason": "",
        "improvement": "",
        "remarks": result.remarks,
        "published_text": result.published_text,
        "published_rate": str(result.published_rate or ""),
        "published_basis": result.published_basis,
        "version_seen": result.version,
        "change_reason": "",
        "figures-TOTAL_FORMS": "1",
        "figures-INITIAL_FORMS": "1",
        "figures-MIN_NUM_FORMS": "0",
        "figures-MAX_NUM_FORMS": "1000",
        "figures-0-id": figure.pk,
        "figures-0-result": result.pk,
        "figures-0-key": "value",
        "figures-0-value": str(figure.value),
        "figures-0-published_rate": "",
    }
    data.update(overrides)
    return data


def test_admin_edit_needs_a_reason_and_is_recorded(client, alice):
    client.force_login(alice)
    result = Result.objects.get(indicator__code="pass-card")
    url = reverse("admin:performance_result_change", args=[result.pk])
    response = client.post(url, _result_post(result, **{"figures-0-value": "170"}))
    assert response.status_code == 200
    assert "請說明修改理由" in response.content.decode()
    assert result.figures.get(key="value").value == 165

    response = client.post(
        url, _result_post(result, **{"figures-0-value": "170", "change_reason": "更正筆誤"})
    )
    assert response.status_code == 302
    change = Change.objects.get(user=alice, field="value")
    assert (change.old, change.new, change.reason) == ("165", "170", "更正筆誤")
    result.refresh_from_db()
    assert result.version == 2


def test_admin_refuses_a_stale_form(client, alice, bob):
    client.force_login(alice)
    result = Result.objects.get(indicator__code="pass-card")
    url = reverse("admin:performance_result_change", args=[result.pk])
    stale = _result_post(result, benefit="alice 的版本", change_reason="a")
    Result.objects.filter(pk=result.pk).update(version=result.version + 1, benefit="另一人的版本")
    response = client.post(url, stale)
    assert response.status_code == 200
    assert "已被其他人修改" in response.content.decode()
    result.refresh_from_db()
    assert result.benefit == "另一人的版本"


def test_invalid_formula_is_rejected_on_save(client, alice):
    client.force_login(alice)
    indicator = Indicator.objects.get(code="inspection-service")
    inputs = list(indicator.inputs.all())
    parts = list(indicator.parts.all())
    data = {
        "goal": indicator.goal_id,
        "code": indicator.code,
        "order": indicator.order,
        "name": indicator.name,
        "evaluation_system": "",
        "evaluation_method": "",
        "measurement_standard": indicator.measurement_standard,
        "target_text": indicator.target_text,
        "responsible_unit": "",
        "weight": "1",
        "method": "formula",
        "aggregation": "latest",
        "formula": "(a - zz) / b * 100",
        "baseline": "",
        "part_rate_cap": "",
        "change_reason": "測試",
        "inputs-TOTAL_FORMS": str(len(inputs)),
        "inputs-INITIAL_FORMS": str(len(inputs)),
        "inputs-MIN_NUM_FORMS": "0",
        "inputs-MAX_NUM_FORMS": "1000",
        "parts-TOTAL_FORMS": str(len(parts)),
        "parts-INITIAL_FORMS": str(len(parts)),
        "parts-MIN_NUM_FORMS": "0",
        "parts-MAX_NUM_FORMS": "1000",
    }
    for n, i in enumerate(inputs):
        data.update(
            {
                f"inputs-{n}-id": i.pk,
                f"inputs-{n}-indicator": indicator.pk,
                f"inputs-{n}-order": i.order,
                f"inputs-{n}-key": i.key,
                f"inputs-{n}-label": i.label,
                f"inputs-{n}-unit": i.unit,
            }
        )
    for n, p in enumerate(parts):
        data.update(
            {
                f"parts-{n}-id": p.pk,
                f"parts-{n}-indicator": indicator.pk,
                f"parts-{n}-order": p.order,
                f"parts-{n}-key": p.key,
                f"parts-{n}-label": p.label,
                f"parts-{n}-value": str(p.value),
                f"parts-{n}-unit": p.unit,
                f"parts-{n}-weight": "",
                f"parts-{n}-original_value": str(p.original_value or ""),
                f"parts-{n}-revision_reason": "",
            }
        )
    response = client.post(reverse("admin:performance_indicator_change", args=[indicator.pk]), data)
    assert response.status_code == 200
    assert "zz" in response.content.decode()
    indicator.refresh_from_db()
    assert indicator.formula == "(a - b) / b * 100"


def test_a_badly_written_published_figure_gets_a_message(client, alice):
    client.force_login(alice)
    result = Result.objects.get(indicator__code="pass-card")
    url = reverse("admin:performance_result_change", args=[result.pk])
    response = client.post(url, _result_post(result, published_rate="1,061%", change_reason="x"))
    assert response.status_code == 200
    assert "不含百分比符號" in response.content.decode()
    result.refresh_from_db()
    assert result.published_rate == "103"
