"""The admin: every model browsable in Traditional Chinese, and corrections attributable."""

import pytest
from django.apps import apps
from django.urls import reverse

from performance.models import Indicator, Result
from tests.performance.posts import indicator_post, result_post

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
]


@pytest.mark.parametrize("name", CHANGELISTS)
def test_changelists_render_in_chinese(client, alice, name):
    client.force_login(alice)
    response = client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    model = apps.get_model(*name.split("_", 1))
    assert '<html lang="zh-hant"' in html
    assert f"<h1>選擇 {model._meta.verbose_name_plural} 來修改</h1>" in html
    assert "Select" not in html


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


def test_invalid_formula_is_rejected_on_save(client, alice):
    client.force_login(alice)
    indicator = Indicator.objects.get(code="inspection-service")
    data = indicator_post(
        indicator, method="formula", formula="(a - zz) / b * 100", change_reason="測試"
    )
    response = client.post(reverse("admin:performance_indicator_change", args=[indicator.pk]), data)
    assert response.status_code == 200
    assert "「zz」不是此指標的填報項目代號" in response.content.decode()
    indicator.refresh_from_db()
    assert indicator.formula == "(a - b) / b * 100"


def test_a_badly_written_published_figure_gets_a_message(client, alice):
    client.force_login(alice)
    result = Result.objects.get(indicator__code="pass-card")
    url = reverse("admin:performance_result_change", args=[result.pk])
    response = client.post(url, result_post(result, published_rate="1,061%", change_reason="x"))
    assert response.status_code == 200
    assert "不含百分比符號" in response.content.decode()
    result.refresh_from_db()
    assert result.published_rate == "103"
