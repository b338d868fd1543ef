"""The budget admin writes through the services: a reason for every change or deletion, a stale
form refused with a message, deleted inline rows kept in the history, and no 500."""

import pytest
from django.urls import reverse

from budget.models import (
    AchievementPolicy,
    Agency,
    AnnualPolicy,
    HeadcountBudget,
    HeadcountLine,
    PolicyGoal,
    Unit,
)
from budget.services import achievement_policy_set, unit_update

from .admin_forms import loaded_form

pytestmark = pytest.mark.django_db

STALE = "這筆資料在您開啟後已被其他人修改"
REASON = "請說明修改理由"


@pytest.fixture
def admin_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def budget():
    return HeadcountBudget.objects.get(agency__code="nia", year=2013, programme="一般行政")


def change_url(obj):
    return reverse(f"admin:budget_{obj._meta.model_name}_change", args=[obj.pk])


def open_form(client, obj) -> dict:
    response = client.get(change_url(obj))
    assert response.status_code == 200
    return loaded_form(response)


def line_index(data, budget, category):
    line = budget.lines.get(category=category)
    return next(k.split("-")[1] for k, v in data.items() if k.endswith("-id") and v == line.pk)


def test_it_saves_a_headcount_change_with_who_and_why(admin_client, alice, budget):
    data = open_form(admin_client, budget)
    n = line_index(data, budget, "staff")
    data[f"lines-{n}-change"] = "80"
    data["change_reason"] = "依修正預算書更正"

    response = admin_client.post(change_url(budget), data)

    assert response.status_code == 302
    line = budget.lines.get(category="staff")
    assert line.change == 80
    record = line.history.first()
    assert (record.history_user, record.history_change_reason) == (alice, "依修正預算書更正")
    assert HeadcountBudget.objects.get(pk=budget.pk).version == budget.version + 1


def test_it_refuses_a_change_without_a_reason(admin_client, budget):
    data = open_form(admin_client, budget)
    n = line_index(data, budget, "staff")
    data[f"lines-{n}-change"] = "80"

    response = admin_client.post(change_url(budget), data)

    assert response.status_code == 200
    assert REASON in response.content.decode()
    assert budget.lines.get(category="staff").change == 78


def test_it_refuses_a_stale_form(admin_client, alice, budget):
    seen = open_form(admin_client, budget)
    other = open_form(admin_client, budget)
    n = line_index(other, budget, "staff")
    other[f"lines-{n}-change"] = "90"
    other["change_reason"] = "另一位同仁的更正"
    assert admin_client.post(change_url(budget), other).status_code == 302

    seen["explanation"] = "只改說明"
    seen["change_reason"] = "補充說明"
    response = admin_client.post(change_url(budget), seen)

    assert response.status_code == 200
    assert STALE in response.content.decode()
    budget.refresh_from_db()
    assert budget.explanation != "只改說明"
    assert budget.lines.get(category="staff").change == 90


def test_a_line_deleted_in_the_inline_remains_in_the_history(admin_client, alice, budget):
    data = open_form(admin_client, budget)
    n = line_index(data, budget, "police")
    police = budget.lines.get(category="police")
    data[f"lines-{n}-DELETE"] = "on"
    data["change_reason"] = "警員類別已無編制"

    assert admin_client.post(change_url(budget), data).status_code == 302

    assert not HeadcountLine.objects.filter(pk=police.pk).exists()
    gone = HeadcountLine.history.filter(id=police.pk).first()
    assert gone.history_type == "-"
    assert (gone.history_user, gone.history_change_reason) == (alice, "警員類別已無編制")


def test_deleting_needs_a_reason_and_is_recorded(admin_client, alice):
    agency = Agency.objects.get(code="nia")
    unit = Unit.objects.create(agency=agency, code="temp", name="臨時小組")
    url = reverse("admin:budget_unit_delete", args=[unit.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and 'name="change_reason"' in page.content.decode()

    refused = admin_client.post(url, {"post": "yes", "loaded_version": unit.version}, follow=True)
    assert REASON in refused.content.decode()
    assert Unit.objects.filter(pk=unit.pk).exists()

    admin_client.post(
        url, {"post": "yes", "loaded_version": unit.version, "change_reason": "組織調整裁撤"}
    )
    assert not Unit.objects.filter(pk=unit.pk).exists()
    assert Unit.history.filter(id=unit.pk).first().history_change_reason == "組織調整裁撤"


def test_deleting_a_unit_with_children_is_refused_with_a_message(admin_client, alice):
    agency = Agency.objects.get(code="nia")
    parent = Unit.objects.create(agency=agency, code="p", name="上層小組")
    Unit.objects.create(agency=agency, code="c", name="下層小組", parent=parent)
    url = reverse("admin:budget_unit_delete", args=[parent.pk])

    response = admin_client.post(
        url, {"post": "yes", "loaded_version": parent.version, "change_reason": "裁撤"}, follow=True
    )

    assert response.status_code == 200
    assert "下層小組" in response.content.decode()
    assert Unit.objects.filter(pk=parent.pk).exists()


def test_a_stale_unit_form_is_refused(admin_client, alice):
    unit = Unit.objects.filter(agency__code="nia").first()
    data = open_form(admin_client, unit)
    unit_update(unit=unit, expected_version=unit.version, user=alice, reason="改", name="新名稱")
    data["duties"] = "舊畫面上的修改"
    data["change_reason"] = "補充"

    response = admin_client.post(change_url(unit), data)

    assert response.status_code == 200 and STALE in response.content.decode()
    assert Unit.objects.get(pk=unit.pk).name == "新名稱"


def test_a_threshold_change_in_the_admin_goes_into_the_history(admin_client, alice):
    nia = Agency.objects.get(code="nia")
    policy = AchievementPolicy.objects.get(agency=nia, year=2010)
    data = open_form(admin_client, policy)
    data["green_threshold"] = "95"
    data["change_reason"] = "依新考核要點"

    assert admin_client.post(change_url(policy), data).status_code == 302

    record = AchievementPolicy.objects.get(pk=policy.pk).history.first()
    assert (record.green_threshold, record.history_user) == (95, alice)
    history = admin_client.get(reverse("admin:budget_achievementpolicy_history", args=[policy.pk]))
    assert "依新考核要點" in history.content.decode()


def test_a_new_year_added_in_the_admin_starts_from_the_previous_year(admin_client, alice):
    nia = Agency.objects.get(code="nia")
    achievement_policy_set(
        agency=nia, year=2010, expected_version=1, user=alice, reason="改", rate_decimals=1
    )
    response = admin_client.post(
        reverse("admin:budget_achievementpolicy_add"),
        {
            "agency": nia.pk,
            "year": 2013,
            "rate_decimals": 1,
            "rounding": "half_up",
            "green_threshold": "110",
            "yellow_threshold": "80",
            "uses_lights": "on",
        },
    )

    assert response.status_code == 302
    assert AchievementPolicy.objects.get(agency=nia, year=2013).green_threshold == 110
    assert AchievementPolicy.objects.get(agency=nia, year=2010).green_threshold == 100


@pytest.mark.parametrize(
    ("field", "value"),
    [("yellow_threshold", "120"), ("rate_decimals", "9"), ("green_threshold", "abc")],
)
def test_bad_policy_input_gets_a_message_not_a_500(admin_client, field, value):
    policy = AchievementPolicy.objects.get(agency__code="nia", year=2010)
    data = open_form(admin_client, policy)
    data[field] = value
    data["change_reason"] = "試"

    response = admin_client.post(change_url(policy), data)

    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    assert AchievementPolicy.objects.get(pk=policy.pk).version == policy.version


def test_a_past_version_cannot_be_posted_back(admin_client):
    policy = AchievementPolicy.objects.get(agency__code="nia", year=2010)
    record = policy.history.first()
    url = reverse("admin:budget_achievementpolicy_simple_history", args=[policy.pk, record.pk])

    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"green_threshold": "1"}).status_code == 405


def test_the_bulk_delete_action_is_not_offered(admin_client):
    response = admin_client.get(reverse("admin:budget_headcountbudget_changelist"))
    assert "delete_selected" not in response.content.decode()


@pytest.mark.parametrize(
    "name",
    ["agency", "unit", "annualpolicy", "policygoal", "headcountbudget", "achievementpolicy"],
)
def test_every_change_page_and_history_renders(admin_client, name):
    models = (Agency, Unit, AnnualPolicy, PolicyGoal, HeadcountBudget, AchievementPolicy)
    model = {m._meta.model_name: m for m in models}[name]
    obj = model.objects.first()
    assert admin_client.get(change_url(obj)).status_code == 200
    assert (
        admin_client.get(reverse(f"admin:budget_{name}_history", args=[obj.pk])).status_code == 200
    )
