# ruff: noqa: F811  (pytest passes the imported `workflow` fixture by name)
"""The API layer as a whole (kpitrack/api/main.py): one way in (session or token) on every
endpoint, CSRF for sessions only, limits on bodies, errors always JSON, an OpenAPI document that
names every endpoint."""

import json

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from kpitrack.api.main import MAX_BODY_BYTES, MAX_DEPTH
from kpitrack.tokens import api_token_create
from tests.performance.conftest import _workflow_rows, workflow  # noqa: F401

pytestmark = pytest.mark.django_db

# Every endpoint: (method, OpenAPI path, a sample address). A new endpoint fails
# test_every_endpoint_is_listed_here until it has a row, and so gets the token test below.
ENDPOINTS = [
    ("get", "/api/v1/achievements/", "/api/v1/achievements/?year=2012&agency=nia"),
    ("get", "/api/v1/results/", "/api/v1/results/?year=2012&quarter=2&agency=nia"),
    ("post", "/api/v1/results/", "/api/v1/results/"),
    ("get", "/api/v1/dashboards/{agency}/", "/api/v1/dashboards/nia/"),
    ("get", "/api/v1/dashboards/{agency}/indicators/", "/api/v1/dashboards/nia/indicators/"),
    (
        "get",
        "/api/v1/dashboards/{agency}/units/{unit}/",
        "/api/v1/dashboards/nia/units/international-affairs/",
    ),
    (
        "get",
        "/api/v1/dashboards/{agency}/indicators/{code}/",
        "/api/v1/dashboards/nia/indicators/pass-card/",
    ),
]
# The API's own pages, not endpoints: public, not in the document.
OWN_PAGES = {"openapi-json", "openapi-view", "api-root", "not-found"}


def _draft(workflow, **change):
    return {
        "agency": workflow.agency.code,
        "indicator": "count",
        "year": workflow.year,
        "quarter": 1,
        "figures": {"value": "120"},
        "narrative": {"progress": "辦理完成"},
        "version": None,
        **change,
    }


def _call(client, method, url, workflow, **headers):
    if method == "post":
        body = json.dumps(_draft(workflow))
        return client.post(url, body, content_type="application/json", **headers)
    return client.get(url, **headers)


def _assert_json_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["error"], str) and body["error"], body
    # Every API error names its request, as the X-Request-ID header and the log do.
    assert body.pop("request_id") == response["X-Request-ID"], body
    return body


def test_the_openapi_document_lists_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    listed = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert listed == {(method, path) for method, path, _url in ENDPOINTS}
    schemes = document["components"]["securitySchemes"]
    assert {s["in"] for s in schemes.values()} == {"header", "cookie"}
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            assert len(op["security"]) == 2, (method, path)  # token or session, on each
            assert "200" in op["responses"] and "401" in op["responses"], (method, path)
    body = document["paths"]["/api/v1/results/"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]


def _api_resolver(resolver=None):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "api":
                return entry
            if found := _api_resolver(entry):
                return found
    return None


def test_every_endpoint_is_listed_here():
    api = _api_resolver()
    names = {p.name for p in api.url_patterns if isinstance(p, URLPattern)} - OWN_PAGES
    listed = {
        api.resolve(url.split("?")[0].removeprefix("/")).url_name for _m, _p, url in ENDPOINTS
    }
    assert names == listed


@pytest.mark.parametrize(("method", "path", "url"), ENDPOINTS, ids=lambda v: str(v))
def test_a_token_opens_every_endpoint_and_a_bad_one_none(
    client, alice, workflow, method, path, url
):
    workflow.set_window(alice, opens_in=-1, closes_in=5)
    key = api_token_create(user=alice)
    _assert_json_error(_call(client, method, url, workflow), 401)
    assert _call(client, method, url, workflow)["WWW-Authenticate"] == "Token"
    response = _call(client, method, url, workflow, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200, response.content
    # A key that is sent must be valid: no falling back to the session beside it.
    client.force_login(alice)
    for bad in (f"Token {key}x", f"Bearer {key}", "Token"):
        refused = _call(client, method, url, workflow, HTTP_AUTHORIZATION=bad)
        assert _assert_json_error(refused, 401) == {"error": "API 金鑰無效。"}
        assert refused["WWW-Authenticate"] == "Token"


def test_a_session_post_needs_the_csrf_token_and_a_token_post_does_not(alice, workflow):
    workflow.set_window(alice, opens_in=-1, closes_in=5)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    body = json.dumps(_draft(workflow))
    refused = browser.post("/api/v1/results/", body, content_type="application/json")
    assert _assert_json_error(refused, 403) == {"error": "CSRF 驗證失敗，請重新載入頁面。"}
    browser.get("/work/")  # a page sets the CSRF cookie, as in a browser
    token = browser.cookies["csrftoken"].value
    saved = browser.post(
        "/api/v1/results/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert saved.status_code == 200, saved.content

    machine = Client(enforce_csrf_checks=True)
    key = api_token_create(user=alice)
    body = json.dumps(_draft(workflow, version=saved.json()["version"]))
    response = machine.post(
        "/api/v1/results/", body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert response.status_code == 200, response.content


def test_an_oversize_body_is_413_and_an_over_nested_one_400(client, alice, workflow):
    client.force_login(alice)
    big = json.dumps(_draft(workflow, narrative={"progress": "很" * MAX_BODY_BYTES}))
    response = client.post("/api/v1/results/", big, content_type="application/json")
    assert "KB" in _assert_json_error(response, 413)["error"]
    deep = json.dumps(_draft(workflow, figures=json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)))
    response = client.post("/api/v1/results/", deep, content_type="application/json")
    assert "巢狀層次太深" in _assert_json_error(response, 400)["error"]
    # Brackets inside strings are text, not nesting.
    text = json.dumps(_draft(workflow, narrative={"progress": "[" * 100}))
    assert client.post("/api/v1/results/", text, content_type="application/json").status_code == 200
    response = client.post("/api/v1/results/", "[1, 2]", content_type="application/json")
    assert _assert_json_error(response, 400) == {"error": "請以 JSON 物件傳送資料。"}
    # Beyond what Django reads into memory at all (DATA_UPLOAD_MAX_MEMORY_SIZE): still JSON.
    huge = json.dumps(_draft(workflow, narrative={"progress": "x" * 3_000_000}))
    response = client.post("/api/v1/results/", huge, content_type="application/json")
    _assert_json_error(response, 413)


def test_a_session_form_post_is_refused_as_not_json_not_a_500(alice, workflow):
    """The CSRF check reads a form body first, after which the raw body cannot be read."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    browser.get("/work/")
    token = browser.cookies["csrftoken"].value
    response = browser.post("/api/v1/results/", {"figures": "1"}, HTTP_X_CSRFTOKEN=token)
    assert _assert_json_error(response, 400) == {"error": "請以 JSON 格式傳送資料。"}


def test_a_body_that_does_not_fit_the_schema_gets_the_field_messages(client, alice, workflow):
    client.force_login(alice)
    body = {"agency": "", "year": "二〇一三", "quarter": 7, "figures": [], "narrative": {"x": []}}
    response = client.post("/api/v1/results/", json.dumps(body), content_type="application/json")
    data = _assert_json_error(response, 400)
    assert data["errors"] == {
        "agency": ["請指定機關代碼（agency）。"],
        "indicator": ["請指定指標代碼（indicator）。"],
        "year": ["年度必須是西元年的數字，例如 2013。"],
        "quarter": ["請指定季別（quarter，1 到 4）。"],
        "figures": ["figures 必須是以填報項目代號為鍵的物件。"],
        "narrative.x": ["說明欄位請以文字傳送。"],
    }
    assert data["error"] == "請指定機關代碼（agency）。"
    assert "detail" not in data


@pytest.mark.parametrize(
    "url", ["/api/v1/nope/", "/api/v1/", "/api/v2/results/", "/api/v1/dashboards/a b/"]
)
def test_an_unknown_api_address_is_a_json_404(client, alice, url):
    client.force_login(alice)
    assert _assert_json_error(client.get(url), 404) == {"error": "找不到這個 API 網址。"}


def test_a_method_an_endpoint_lacks_is_a_json_405(client, alice):
    client.force_login(alice)
    response = client.put("/api/v1/results/", "{}", content_type="application/json")
    _assert_json_error(response, 405)
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    _assert_json_error(client.post("/api/v1/dashboards/nia/"), 405)


def test_a_bug_inside_the_api_is_a_json_500_and_logged(client, bob, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("kpitrack.api.achievements.achievements_for_year", broken)
    client.force_login(bob)
    response = client.get("/api/v1/achievements/", {"year": 2012})
    _assert_json_error(response, 500)
    assert b"a bug" not in response.content
    assert any(record.exc_info and "a bug" in str(record.exc_info[1]) for record in caplog.records)


def test_an_answer_that_drifts_from_its_schema_is_refused_not_sent(client, bob, monkeypatch):
    from kpitrack.api import achievements

    drifted = achievements.achievement_to_dict
    monkeypatch.setattr(
        achievements, "achievement_to_dict", lambda row: {**drifted(row), "undocumented": 1}
    )
    client.force_login(bob)
    _assert_json_error(client.get("/api/v1/achievements/", {"year": 2012}), 500)


def test_the_docs_page_loads_only_local_files(client):
    from django.contrib.staticfiles import finders

    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    html = response.content.decode()
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js"):
        assert f"/static/ninja/{name}" in html
        assert finders.find(f"ninja/{name}"), name
    assert "/api/v1/openapi.json" in html
    assert 'data-api-csrf="true"' in html  # "Try it out" sends a session's CSRF token
