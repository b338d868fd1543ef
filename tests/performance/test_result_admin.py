"""The result's admin page: figures by declared input, reason and version, history shown."""

import pytest
from django.urls import reverse

from performance.models import Result, ResultFigure

from .posts import result_post

pytestmark = pytest.mark.django_db


def _result():
    return Result.objects.get(indicator__code="pass-card", indicator__goal__year=2012)


def _url(result):
    return reverse("admin:performance_result_change", args=[result.pk])


def test_an_edit_needs_a_reason_and_lands_in_the_history(client, alice):
    client.force_login(alice)
    result = _result()
    response = client.post(_url(result), result_post(result, **{"figures-0-value": "170"}))
    assert response.status_code == 200
    assert "請說明修改理由" in response.content.decode()
    assert _result().figures.get(key="value").value == 165

    data = result_post(result, **{"figures-0-value": "170", "change_reason": "更正筆誤"})
    assert client.post(_url(result), data).status_code == 302
    row = _result().figures.get(key="value").history.latest()
    assert (row.value, row.history_user, row.history_change_reason) == (170, alice, "更正筆誤")
    assert _result().version == result.version + 1
    page = client.get(_url(result)).content.decode()
    assert "更正筆誤" in page and "170" in page


def test_it_refuses_a_stale_form(client, alice, bob):
    client.force_login(alice)
    result = _result()
    stale = result_post(result, benefit="alice 的版本", change_reason="a")
    fresh = result_post(result, benefit="另一人的版本", change_reason="b")
    assert client.post(_url(result), fresh).status_code == 302
    response = client.post(_url(result), stale)
    assert response.status_code == 200
    assert "已被其他人修改" in response.content.decode()
    assert _result().benefit == "另一人的版本"


def test_figure_keys_are_the_declared_inputs_by_label(client, alice):
    client.force_login(alice)
    result = _result()
    page = client.get(_url(result)).content.decode()
    assert '<option value="value" selected>核卡件數（件）</option>' in page
    data = result_post(result, change_reason="x", **{"figures-0-key": "nope"})
    response = client.post(_url(result), data)
    assert response.status_code == 200
    assert "「nope」不是此指標的填報項目。可填報的項目：核卡件數（件）" in response.content.decode()
    assert not ResultFigure.objects.filter(key="nope").exists()


def test_a_deleted_figure_is_shown_in_the_history(client, alice):
    client.force_login(alice)
    result = _result()
    data = result_post(result, change_reason="重複填報", **{"figures-0-DELETE": "on"})
    assert client.post(_url(result), data).status_code == 302
    assert not _result().figures.exists()
    page = client.get(_url(result)).content.decode()
    assert "重複填報" in page and "（已刪除）" in page and "alice" in page


@pytest.mark.parametrize(
    "value", ["100000000000", "9999999999999999", "1e999999", "一百", "1.00001", "NaN"]
)
def test_bad_figures_are_refused_with_a_message_not_a_500(client, alice, value):
    client.force_login(alice)
    result = _result()
    data = result_post(result, change_reason="x", **{"figures-0-value": value})
    response = client.post(_url(result), data)
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert _result().figures.get(key="value").value == 165


def test_an_administrator_changes_the_state_with_a_reason(client, alice):
    client.force_login(alice)
    result = _result()
    data = result_post(result, state="returned", change_reason="數字待確認")
    assert client.post(_url(result), data).status_code == 302
    row = _result().history.latest()
    assert (row.state, row.history_user, row.history_change_reason) == (
        "returned",
        alice,
        "數字待確認",
    )


def test_indicator_choices_say_whose_and_which_year(client, alice):
    client.force_login(alice)
    page = client.get(reverse("admin:performance_result_add")).content.decode()
    assert "入出國及移民署 民國102年（2013） 外籍專業人士申請核發就業PASS卡" in page
    assert "入出國及移民署 民國101年（2012） 外籍專業人士申請核發就業PASS卡" in page
    assert page.index("民國102年（2013）") < page.index("民國101年（2012）")


def test_a_result_is_added_then_its_figures_entered(client, alice):
    client.force_login(alice)
    indicator = _result().indicator.__class__.objects.get(code="pass-card", goal__year=2013)
    data = {
        "indicator": indicator.pk,
        "quarter": "1",
        "state": "draft",
        "published_basis": "rate",
        "layout": "{}",
        "change_reason": "",
    }
    response = client.post(reverse("admin:performance_result_add"), data)
    assert response.status_code == 302, response.content.decode()
    result = Result.objects.get(indicator=indicator, quarter=1)
    data = result_post(
        result,
        change_reason="第一季",
        **{
            "figures-TOTAL_FORMS": "1",
            "figures-0-key": "value",
            "figures-0-value": "40",
            "figures-0-result": result.pk,
        },
    )
    assert client.post(_url(result), data).status_code == 302
    assert result.figures.get(key="value").value == 40
    duplicate = client.post(reverse("admin:performance_result_add"), {**data, "quarter": "1"})
    assert duplicate.status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"version_seen": "abc", "change_reason": "x"},
        {"version_seen": "", "change_reason": "x", "benefit": "改"},
        {"figures-0-id": "999999", "change_reason": "x"},
        {"state": "lost", "change_reason": "x"},
    ],
)
def test_malformed_posts_answer_with_the_form_not_a_500(client, alice, overrides):
    client.force_login(alice)
    result = _result()
    response = client.post(_url(result), result_post(result, **overrides))
    assert response.status_code == 200
    assert _result().version == result.version
