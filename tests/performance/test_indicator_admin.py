"""The indicator's admin page writes through the services: locked, attributed, with history."""

import pytest
from django.urls import reverse

from performance.models import Indicator, TargetPart

from .posts import indicator_post

pytestmark = pytest.mark.django_db


def _indicator():
    return Indicator.objects.get(code="pass-card", goal__year=2013)


def _url(indicator):
    return reverse("admin:performance_indicator_change", args=[indicator.pk])


def test_a_stale_form_cannot_undo_a_target_revision(client, alice, bob):
    bob.is_staff = bob.is_superuser = True
    bob.save()
    indicator = _indicator()
    part = indicator.parts.get()
    # Both open the page at the same version.
    seen_by_a = indicator_post(indicator)
    seen_by_b = indicator_post(indicator)

    client.force_login(alice)
    revised = {**seen_by_a, "parts-0-value": "999", "change_reason": "行政院核定修正"}
    assert client.post(_url(indicator), revised).status_code == 302
    assert TargetPart.objects.get(pk=part.pk).value == 999

    client.force_login(bob)
    relabelled = {**seen_by_b, "inputs-0-label": "核發件數", "change_reason": "改名稱"}
    response = client.post(_url(indicator), relabelled)
    assert response.status_code == 200
    assert "已被其他人修改" in response.content.decode()
    part.refresh_from_db()
    assert (part.value, part.original_value, part.revision_reason) == (999, 160, "行政院核定修正")
    assert _indicator().inputs.get().label == "核卡件數"


def test_a_change_needs_a_reason(client, alice):
    client.force_login(alice)
    indicator = _indicator()
    response = client.post(_url(indicator), indicator_post(indicator, name="新名稱"))
    assert response.status_code == 200
    assert "請說明修改理由" in response.content.decode()
    assert _indicator().name == "外籍專業人士申請核發就業PASS卡"


def test_deleting_a_part_inline_is_recorded_with_the_reason(client, alice):
    client.force_login(alice)
    indicator = Indicator.objects.get(code="e-newsletter", goal__year=2010)
    data = indicator_post(indicator, change_reason="合併為單一目標")
    data["parts-1-DELETE"] = "on"
    data["inputs-1-DELETE"] = "on"
    data["method"] = "count"
    response = client.post(_url(indicator), data)
    assert response.status_code == 302, response.content.decode()
    (deleted,) = TargetPart.history.filter(indicator_id=indicator.pk, history_type="-")
    assert (deleted.key, deleted.history_user, deleted.history_change_reason) == (
        "total",
        alice,
        "合併為單一目標",
    )
    page = client.get(_url(indicator)).content.decode()
    assert "合併為單一目標" in page and "（已刪除）" in page


def test_goal_choices_say_whose_and_which_year(client, alice):
    client.force_login(alice)
    page = client.get(_url(_indicator())).content.decode()
    assert "入出國及移民署 民國102年（2013） 建立友善國際環境" in page
    assert "入出國及移民署 民國101年（2012） 建立友善國際環境" in page


def test_deleting_an_indicator_needs_a_reason_and_keeps_its_history(client, alice):
    client.force_login(alice)
    indicator = _indicator()
    url = reverse("admin:performance_indicator_delete", args=[indicator.pk])
    page = client.get(url).content.decode()
    assert "刪除理由" in page
    response = client.post(url, {"post": "yes", "version_seen": indicator.version, "reason": ""})
    assert response.status_code == 302
    assert Indicator.objects.filter(pk=indicator.pk).exists()
    assert "請說明刪除理由" in client.get(url).content.decode()

    stale = {"post": "yes", "version_seen": indicator.version - 1, "reason": "誤建"}
    assert client.post(url, stale).status_code == 302
    assert Indicator.objects.filter(pk=indicator.pk).exists()

    ok = {"post": "yes", "version_seen": indicator.version, "reason": "誤建"}
    assert client.post(url, ok).status_code == 302
    assert not Indicator.objects.filter(pk=indicator.pk).exists()
    row = Indicator.history.filter(id=indicator.pk).latest()
    assert (row.history_type, row.history_user, row.history_change_reason) == ("-", alice, "誤建")


def test_the_bulk_delete_action_is_not_offered(client, alice):
    client.force_login(alice)
    page = client.get(reverse("admin:performance_indicator_changelist")).content.decode()
    assert 'value="delete_selected"' not in page


def _management(prefix, total):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_an_indicator_is_added_with_its_inputs_and_parts(client, alice):
    client.force_login(alice)
    goal = _indicator().goal
    data = {
        "goal": goal.pk,
        "code": "new-one",
        "order": "9",
        "name": "新指標",
        "weight": "1",
        "method": "count",
        "aggregation": "latest",
        "change_reason": "",
        **_management("inputs", 1),
        **_management("parts", 1),
        "inputs-0-order": "1",
        "inputs-0-key": "value",
        "inputs-0-label": "件數",
        "inputs-0-unit": "件",
        "parts-0-order": "1",
        "parts-0-key": "value",
        "parts-0-label": "件數",
        "parts-0-value": "1,200",
        "parts-0-unit": "件",
    }
    response = client.post(reverse("admin:performance_indicator_add"), data)
    assert response.status_code == 302, response.content.decode()
    indicator = Indicator.objects.get(goal=goal, code="new-one")
    part = indicator.parts.get()
    assert (part.value, part.original_value) == (1200, 1200)
    assert indicator.inputs.get().label == "件數"
    assert indicator.history.get().history_user == alice
    assert client.get(_url(indicator)).status_code == 200


def test_a_goal_is_added_and_changed_through_its_page(client, alice):
    client.force_login(alice)
    goal = _indicator().goal
    data = {
        "agency": goal.agency_id,
        "year": "2014",
        "code": "g-new",
        "order": "1",
        "title": "新目標",
        "change_reason": "",
    }
    assert client.post(reverse("admin:performance_strategicgoal_add"), data).status_code == 302
    new = goal.agency.goals.get(code="g-new", year=2014)
    url = reverse("admin:performance_strategicgoal_change", args=[new.pk])
    assert client.get(url).status_code == 200
    changed = {
        **data,
        **_management("indicators", 0),
        "title": "改名",
        "version_seen": new.version,
        "change_reason": "錯字",
    }
    assert client.post(url, changed).status_code == 302
    row = new.history.latest()
    assert (row.title, row.history_user, row.history_change_reason) == ("改名", alice, "錯字")
    page = client.get(reverse("admin:performance_strategicgoal_change", args=[goal.pk]))
    assert page.status_code == 200
