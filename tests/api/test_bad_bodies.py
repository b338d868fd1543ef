# ruff: noqa: F811  (pytest passes the imported `workflow` fixture by name)
"""Bodies no caller should send: control characters, lone surrogates, absurd nesting. Each is a
JSON 400 naming what is wrong, nothing is saved, and no answer is ever an HTML page."""

import json

import pytest

from performance.models import Result
from tests.performance.conftest import _workflow_rows, workflow  # noqa: F401

pytestmark = pytest.mark.django_db
URL = "/api/v1/results/"


def _body(workflow, **extra):
    return {
        "agency": workflow.agency.code,
        "indicator": "count",
        "year": workflow.year,
        "quarter": 1,
        "figures": {"value": "120"},
        "narrative": {"progress": "辦理完成"},
        "version": None,
        **extra,
    }


def _post_text(client, text):
    return client.post(URL, text, content_type="application/json")


def _refused(response):
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["error"]
    return data


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"narrative": {"progress": "a\u0001b"}}, "narrative.progress"),
        ({"narrative": {"progress": "a\u0000b"}}, "narrative.progress"),
        ({"narrative": {"pro\u001fgress": "ok"}}, "narrative.pro\ufffdgress"),
        ({"indicator": "co\u0000unt"}, "indicator"),
        ({"indicator": "co\u000bunt"}, "indicator"),
        ({"figures": {"value": "12\u00070"}}, "figures.value"),
        ({"agency": "w\u0000f"}, "agency"),
    ],
)
def test_a_control_character_in_any_string_or_key_is_400_naming_the_field(
    client, alice, workflow, change, field
):
    client.force_login(alice)
    data = _refused(_post_text(client, json.dumps(_body(workflow, **change))))
    assert field in data["errors"], data
    assert "控制字元" in data["error"]
    assert not Result.objects.filter(indicator__goal__agency=workflow.agency).exists()


def test_tab_line_feed_and_carriage_return_stay_allowed(client, alice, workflow):
    client.force_login(alice)
    body = _body(workflow, narrative={"progress": "第一行\r\n\t第二行"})
    response = _post_text(client, json.dumps(body))
    assert response.status_code == 200, response.content
    assert Result.objects.get(indicator=workflow.count).progress == "第一行\r\n\t第二行"


@pytest.mark.parametrize(
    "text",
    [
        '{"narrative": {"progress": "\\ud800"}}',
        '{"indicator": "\\udfff"}',
        '{"\\ud800": 1}',
    ],
)
def test_a_lone_surrogate_is_400(client, alice, workflow, text):
    client.force_login(alice)
    body = json.loads(text)
    full = {**_body(workflow), **body}
    if "narrative" in body:
        full["narrative"] = body["narrative"]
    data = _refused(_post_text(client, json.dumps(full)))
    assert "無法使用" in data["error"]
    assert not Result.objects.filter(indicator__goal__agency=workflow.agency).exists()


@pytest.mark.parametrize("depth", [9, 1000, 100_000])
def test_deep_nesting_is_400_with_a_message(client, alice, workflow, depth):
    client.force_login(alice)
    data = _refused(_post_text(client, "[" * depth))
    assert "巢狀" in data["error"]
    data = _refused(_post_text(client, '{"a":' * min(depth, 1000) + "1" + "}" * min(depth, 1000)))
    assert "巢狀" in data["error"]


def test_a_nul_in_the_indicator_is_400_on_every_database(client, alice, workflow):
    # PostgreSQL refuses NUL in text inside the query: it must never get that far.
    client.force_login(alice)
    data = _refused(_post_text(client, json.dumps(_body(workflow, indicator="\u0000"))))
    assert "indicator" in data["errors"]
    response = client.get(URL, {"year": workflow.year, "quarter": 1, "unit": "a\x00"})
    _refused(response)
    response = client.get(URL, {"year": workflow.year, "quarter": 1, "indicator": "a\x00"})
    _refused(response)


@pytest.mark.parametrize(
    "text",
    ["", "nul\u0000", "[1,", '"\\ud800"', "\ufeff{}", '{"a": NaN}', "1e999999"],
)
def test_no_answer_is_ever_an_html_page(client, alice, workflow, text):
    client.force_login(alice)
    response = _post_text(client, text)
    assert response["Content-Type"] == "application/json", response.content[:200]
    assert 400 <= response.status_code < 500


def test_a_version_for_a_result_never_created_says_so_not_that_it_was_deleted(
    client, alice, workflow
):
    client.force_login(alice)
    response = _post_text(client, json.dumps(_body(workflow, version=3)))
    assert response.status_code == 409, response.content
    message = response.json()["error"]
    assert "已被刪除" not in message
    assert "尚無成果" in message and "3" in message


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/nope/"),
        ("post", "/api/v1/nope/"),
        ("put", URL),
        ("delete", URL),
        ("get", "/api/v1/results/?year=%ED%A0%80"),
        ("get", "/api/v1/achievements/?year=2012&agency=%00"),
        ("get", "/api/v1/%00/"),
    ],
)
def test_no_answer_at_any_api_address_is_an_html_page(client, alice, method, path):
    client.force_login(alice)
    response = getattr(client, method)(path)
    assert response["Content-Type"] == "application/json", (response.status_code, path)
    assert 400 <= response.status_code < 500
    assert response.json()["error"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("a=" + "x" * 3_000_000, "application/x-www-form-urlencoded", 413),
        ("&".join(f"f{n}=1" for n in range(2_000)), "application/x-www-form-urlencoded", 400),
        ("abc", "multipart/form-data", 400),
    ],
    ids=["form-too-big", "too-many-fields", "multipart-without-boundary"],
)
def test_a_body_django_cannot_parse_is_answered_in_json(client, alice, body, content_type, status):
    # The middleware reads form bodies first; what Django refuses there is the API's to answer.
    client.force_login(alice)
    response = client.post(URL, body, content_type=content_type)
    assert response["Content-Type"] == "application/json", response.content[:80]
    assert response.status_code == status
    assert response.json()["error"]


def test_too_many_query_parameters_are_answered_in_json(client, alice):
    client.force_login(alice)
    response = client.get(URL + "?" + "&".join(f"f{n}=1" for n in range(2_000)))
    assert response["Content-Type"] == "application/json"
    assert response.status_code == 400
    assert response.json()["error"]


def test_pages_keep_their_html_answer_for_the_same_bodies(client, alice):
    client.force_login(alice)
    response = client.post(
        "/", "&".join(f"f{n}=1" for n in range(2_000)), "application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_an_unsafe_request_without_the_final_slash_is_told_the_address_in_json(
    client, alice, workflow, method
):
    # Django would redirect it, and the client would repeat a POST as a GET.
    client.force_login(alice)
    response = getattr(client, method)(
        URL.rstrip("/"), json.dumps(_body(workflow)), content_type="application/json"
    )
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "/api/v1/results/" in response.json()["error"]
    assert not Result.objects.filter(indicator__goal__agency=workflow.agency).exists()
