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


def test_the_admin_cannot_set_a_state(client, alice):
    """State moves only through the workflow's services: a change form that says another
    state, even with other changes beside it, leaves the state as it was."""
    client.force_login(alice)
    result = _result()
    assert result.state == Result.State.APPROVED
    for state in ("draft", "returned", "locked"):
        data = result_post(result, state=state, benefit=f"補充效益{state}", change_reason="更正")
        assert client.post(_url(result), data).status_code == 302
        result = _result()
        assert result.state == Result.State.APPROVED
        assert result.benefit == f"補充效益{state}"
        assert not result.history.filter(state=state).exists()


def test_the_state_is_shown_read_only_with_a_link_to_the_result_page(client, alice):
    client.force_login(alice)
    result = _result()
    page = client.get(_url(result)).content.decode()
    assert 'name="state"' not in page
    entry = reverse("result-entry", args=[result.indicator_id, result.quarter])
    assert f'href="{entry}"' in page
    assert "已核定" in page


def test_results_are_not_added_in_the_admin(client, alice):
    """A result starts on the entry page, the workbook or the API, which check the window and
    the lock: the admin's add form is refused and writes nothing."""
    client.force_login(alice)
    indicator = _result().indicator.__class__.objects.get(code="pass-card", goal__year=2013)
    data = {
        "indicator": indicator.pk,
        "quarter": "1",
        "state": "approved",
        "published_basis": "rate",
        "layout": "{}",
        "change_reason": "x",
    }
    assert client.get(reverse("admin:performance_result_add")).status_code == 403
    assert client.post(reverse("admin:performance_result_add"), data).status_code == 403
    assert not Result.objects.filter(indicator=indicator, quarter=1).exists()
    changelist = client.get(reverse("admin:performance_result_changelist")).content.decode()
    assert reverse("admin:performance_result_add") not in changelist


def test_the_changelist_offers_no_way_to_set_a_state(client, alice):
    client.force_login(alice)
    result = _result()
    url = reverse("admin:performance_result_changelist")
    page = client.get(url).content.decode()
    assert 'name="action"' not in page and "form-0-state" not in page
    response = client.post(
        url,
        {
            "action": "delete_selected",
            "_selected_action": [result.pk],
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": result.pk,
            "form-0-state": "draft",
            "_save": "1",
        },
    )
    assert response.status_code in (200, 302)
    assert _result().state == Result.State.APPROVED


@pytest.mark.parametrize(
    "overrides",
    [
        {"version_seen": "abc", "change_reason": "x"},
        {"version_seen": "", "change_reason": "x", "benefit": "改"},
        {"figures-0-id": "999999", "change_reason": "x"},
    ],
)
def test_malformed_posts_answer_with_the_form_not_a_500(client, alice, overrides):
    client.force_login(alice)
    result = _result()
    response = client.post(_url(result), result_post(result, **overrides))
    assert response.status_code == 200
    assert _result().version == result.version
