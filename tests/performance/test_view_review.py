"""初核 and 複核 on the entry page: approve, or return with a comment that the unit then sees;
who may do which."""

from decimal import Decimal

import pytest
from django.urls import reverse

from performance.models import Result
from performance.services import result_save_draft, result_submit

from .cast import Role, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(workflow, alice):
    result = result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("120")},
        narrative={"progress": "辦理完成"},
        expected_version=None,
        user=alice,
    )
    return result_submit(result=result, expected_version=result.version, user=alice)


def _review(client, result, action, comment="", version=None):
    url = reverse("result-review", args=[result.indicator_id, result.quarter])
    version = result.version if version is None else version
    return client.post(url, {"action": action, "comment": comment, "version": version})


def _fresh(result):
    return Result.objects.get(pk=result.pk)


def test_the_planner_returns_with_a_comment_the_staff_then_sees(
    client, django_user_model, workflow, submitted
):
    planner = member(django_user_model, workflow, Role.PLANNER)
    staff = member(django_user_model, workflow, Role.STAFF)
    client.force_login(planner)
    page = client.get(reverse("result-entry", args=[workflow.count.pk, 1])).content.decode()
    assert "初核通過" in page and "退回修正" in page
    response = _review(client, submitted, "return", "請補充辦理情形的佐證")
    assert response.status_code == 302
    assert _fresh(submitted).state == Result.State.RETURNED
    client.force_login(staff)
    page = client.get(reverse("result-entry", args=[workflow.count.pk, 1])).content.decode()
    assert "請補充辦理情形的佐證" in page
    assert 'name="f_value"' in page  # the staff may fix it


def test_returning_without_a_comment_is_refused_next_to_the_comment(
    client, django_user_model, workflow, submitted
):
    planner = member(django_user_model, workflow, Role.PLANNER)
    client.force_login(planner)
    response = _review(client, submitted, "return", "")
    assert response.status_code == 400
    assert 'id="id_comment_error"' in response.content.decode()
    assert _fresh(submitted).state == Result.State.SUBMITTED


def test_planner_then_director_approve(client, django_user_model, workflow, submitted):
    planner = member(django_user_model, workflow, Role.PLANNER)
    director = member(django_user_model, workflow, Role.DIRECTOR)
    client.force_login(director)
    # Nothing to do for the director before the first review.
    assert _review(client, submitted, "approve").status_code == 403
    client.force_login(planner)
    assert _review(client, submitted, "approve").status_code == 302
    first = _fresh(submitted)
    assert first.state == Result.State.FIRST_APPROVED
    client.force_login(director)
    assert _review(client, first, "approve").status_code == 302
    assert _fresh(submitted).state == Result.State.APPROVED


def test_staff_may_not_review(client, django_user_model, workflow, submitted):
    staff = member(django_user_model, workflow, Role.STAFF)
    client.force_login(staff)
    assert _review(client, submitted, "approve").status_code == 403
    assert _fresh(submitted).state == Result.State.SUBMITTED


def test_a_stale_review_is_refused(client, django_user_model, workflow, submitted):
    planner = member(django_user_model, workflow, Role.PLANNER)
    client.force_login(planner)
    response = _review(client, submitted, "approve", version=submitted.version - 1)
    assert response.status_code == 409
    assert _fresh(submitted).state == Result.State.SUBMITTED


def test_staff_of_another_unit_may_not_open_or_save(client, django_user_model, workflow):
    outsider = member(django_user_model, workflow, Role.STAFF, unit=workflow.other_unit)
    client.force_login(outsider)
    url = reverse("result-entry", args=[workflow.count.pk, 1])
    assert client.post(url, {"f_value": "5", "version": "", "action": "save"}).status_code == 403
    assert not Result.objects.filter(indicator=workflow.count).exists()


def test_staff_saves_but_only_the_head_submits(client, django_user_model, workflow):
    staff = member(django_user_model, workflow, Role.STAFF)
    head = member(django_user_model, workflow, Role.HEAD)
    url = reverse("result-entry", args=[workflow.count.pk, 1])
    client.force_login(staff)
    page = client.get(url).content.decode()
    assert 'value="submit"' not in page
    assert client.post(url, {"f_value": "120", "version": "", "action": "save"}).status_code == 302
    client.force_login(head)
    saved = Result.objects.get(indicator=workflow.count)
    data = {"f_value": "120", "version": saved.version, "action": "submit"}
    assert client.post(url, data).status_code == 302
    assert _fresh(saved).state == Result.State.SUBMITTED
