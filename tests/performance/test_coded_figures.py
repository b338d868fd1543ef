"""Rating and ordinal figures read as their words wherever a figure is shown (issue 17):
達成 / 未達成 for a rating, the 衡量標準's words for an ordinal code, never 「評等 1」; and the
history names figures and parts by their labels, never by internal keys (`talks`, `value`)."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from performance.models import Indicator, Result
from performance.services import indicator_create, result_create, result_save_draft

pytestmark = pytest.mark.django_db

STANDARD = "0代表「均未達到」、1代表「達到1項」、2代表「2項均達到」。"


def _indicator(workflow, alice, method, code, target, **extra):
    return indicator_create(
        user=alice,
        goal=workflow.count.goal,
        code=code,
        name=f"指標{code}",
        method=method,
        responsible_unit=workflow.unit,
        inputs=[{"key": "talks", "label": "評等"}],
        parts=[{"key": "talks", "label": "評等", "value": Decimal(target)}],
        **extra,
    )


@pytest.fixture
def rating(workflow, alice):
    return _indicator(workflow, alice, "rating", "rated", "1")


@pytest.fixture
def ordinal(workflow, alice):
    return _indicator(workflow, alice, "ordinal", "graded", "2", measurement_standard=STANDARD)


def _draft(indicator, alice, value):
    return result_save_draft(
        indicator=indicator,
        quarter=1,
        figures={"talks": Decimal(value)},
        narrative={"shortfall_reason": "測試", "improvement": "測試"},
        expected_version=None,
        user=alice,
    )


def _text(response) -> str:
    """What a reader sees: the page's text without its tags."""
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_my_work_shows_a_rating_as_its_word(client, workflow, alice, rating):
    _draft(rating, alice, "1")
    client.force_login(alice)
    text = _text(client.get(reverse("my-work"), {"year": workflow.year, "quarter": 1}))
    assert "評等 達成" in text
    assert "評等 1" not in text


def test_the_entry_page_shows_a_rating_as_its_word(client, alice, rating):
    _draft(rating, alice, "0")
    client.force_login(alice)
    text = _text(client.get(reverse("result-entry", args=[rating.pk, 1])))
    assert "實際值 未達成" in text  # the server's preview beside the form
    assert "實際值 0" not in text


def test_the_entry_page_read_only_shows_the_stored_rating_as_its_word(
    client, django_user_model, workflow, alice, rating
):
    from .cast import Role, member

    _draft(rating, alice, "1")
    client.force_login(member(django_user_model, workflow, Role.VIEWER))
    text = _text(client.get(reverse("result-entry", args=[rating.pk, 1])))
    assert "項目 數值 評等 達成" in text
    assert "評等 1" not in text


def test_my_work_shows_an_ordinal_code_as_its_words(client, workflow, alice, ordinal):
    _draft(ordinal, alice, "1")
    client.force_login(alice)
    text = _text(client.get(reverse("my-work"), {"year": workflow.year, "quarter": 1}))
    assert "評等 達到1項" in text
    assert "評等 1" not in text


def test_the_dashboard_and_achievements_show_words(client, workflow, alice, rating, ordinal):
    for indicator, value in ((rating, "1"), (ordinal, "2")):
        result_create(
            indicator=indicator,
            quarter=1,
            state=Result.State.APPROVED,
            figures={"talks": Decimal(value)},
            user=alice,
            reason="測試",
        )
    client.force_login(alice)
    page = _text(
        client.get(
            reverse("dashboards:indicator", args=[workflow.agency.code, rating.code]),
            {"year": workflow.year},
        )
    )
    assert "第1季 達成" in page  # the quarters' table
    assert "評等 達成" in page  # the target
    page = _text(
        client.get(
            reverse("dashboards:indicator", args=[workflow.agency.code, ordinal.code]),
            {"year": workflow.year},
        )
    )
    assert "第1季 2項均達到" in page
    listing = _text(
        client.get(
            reverse("dashboards:indicators", args=[workflow.agency.code]),
            {"year": workflow.year, "quarter": 1},
        )
    )
    assert "達成" in listing and "2項均達到" in listing
    table = _text(client.get(reverse("achievements"), {"year": workflow.year, "quarter": 1}))
    assert f"{rating.name} " in table and "2項均達到" in table
    # The API keeps the number and adds how it reads.
    body = client.get("/api/v1/achievements/", {"year": workflow.year, "quarter": 1}).json()
    rows = {row["code"]: row for row in body["results"]}
    assert (rows["rated"]["value"], rows["rated"]["value_text"]) == ("1.00", "達成")
    assert (rows["graded"]["value"], rows["graded"]["value_text"]) == ("2.00", "2項均達到")


def test_the_history_names_figures_by_label_and_shows_words(client, alice, rating):
    _draft(rating, alice, "1")
    client.force_login(alice)
    text = _text(client.get(reverse("indicator-history", args=[rating.pk])))
    assert "「評等」 數值" in text or "「評等」數值" in text
    assert " 達成 " in text
    assert "talks" not in text
    assert " value " not in text


def test_the_history_of_a_loaded_indicator_shows_no_keys(client, alice):
    indicator = Indicator.objects.get(code="intl-cooperation", goal__year=2013)
    client.force_login(alice)
    text = _text(client.get(reverse("indicator-history", args=[indicator.pk])))
    assert "洽談次數" in text
    assert "talks" not in text and "countries" not in text
