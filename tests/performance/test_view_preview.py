"""The htmx preview: the server's engine on what is typed, nothing saved; the light in words."""

import pytest
from django.urls import reverse

from performance.models import Result

from .cast import Role, member

pytestmark = pytest.mark.django_db


def _preview(client, indicator, data):
    return client.post(reverse("result-preview", args=[indicator.pk, 1]), data)


def test_it_shows_value_rate_and_light_in_words(client, alice, workflow):
    client.force_login(alice)
    response = _preview(client, workflow.ratio, {"f_num": "45", "f_den": "50"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "90%" in page  # 45 ÷ 50 × 100
    assert "100%" in page  # against the 90 % target
    assert "綠燈" in page
    assert not Result.objects.filter(indicator=workflow.ratio).exists()


def test_behind_the_milestone_says_the_narrative_is_due_on_submit(client, alice, workflow):
    client.force_login(alice)
    # 20 at Q1: 80% of the default Q1 milestone 25, 20% of the year's 100.
    page = _preview(client, workflow.count, {"f_value": "20"}).content.decode()
    assert '<dd data-testid="progress">80%</dd>' in page
    assert '<dd data-testid="rate">20%</dd>' in page
    assert "黃燈" in page and "紅燈" not in page
    assert "第1季預定 25（預設），實際 20，落後進度" in page
    assert 'data-testid="short"' in page and "送出前請填寫" in page


def test_a_quarter_on_pace_is_not_painted_red(client, alice, workflow):
    """The issue's case: half the year's target is not a shortfall at mid-year. 50 at Q1 is
    twice the Q1 milestone; the annual 50% stays beside it."""
    client.force_login(alice)
    page = _preview(client, workflow.count, {"f_value": "50"}).content.decode()
    assert '<dd data-testid="progress">200%</dd>' in page
    assert '<dd data-testid="rate">50%</dd>' in page
    assert "綠燈" in page and "紅燈" not in page
    assert "第1季預定 25（預設），實際 50，超前進度" in page
    assert 'data-testid="short"' not in page


def test_a_bad_figure_is_named_instead_of_a_result(client, alice, workflow):
    client.force_login(alice)
    page = _preview(client, workflow.count, {"f_value": "12a"}).content.decode()
    assert "辦理件數（件）" in page and "不是數字" in page
    assert "綠燈" not in page


def test_someone_of_another_agency_gets_403(client, django_user_model, workflow):
    stranger = django_user_model.objects.create_user("stranger", "s@example.org", "pw")
    client.force_login(stranger)
    assert _preview(client, workflow.count, {"f_value": "1"}).status_code == 403


def test_a_viewer_of_the_agency_may_preview_but_not_save(client, django_user_model, workflow):
    viewer = member(django_user_model, workflow, Role.VIEWER)
    client.force_login(viewer)
    assert _preview(client, workflow.count, {"f_value": "1"}).status_code == 200
    url = reverse("result-entry", args=[workflow.count.pk, 1])
    assert client.post(url, {"f_value": "1", "version": "", "action": "save"}).status_code == 403
