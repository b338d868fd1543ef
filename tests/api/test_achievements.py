import re

import pytest

pytestmark = pytest.mark.django_db

URL = "/api/v1/achievements/"
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_it_requires_login(client):
    response = client.get(URL, {"year": 2012})
    assert response.status_code == 401
    assert response.json()["error"]


def test_it_returns_the_documented_keys(client, bob):
    client.force_login(bob)
    response = client.get(URL, {"year": 2012, "quarter": 2})
    assert response.status_code == 200
    body = response.json()
    assert (body["year"], body["roc_year"], body["through_quarter"]) == (2012, 101, 2)
    assert len(body["results"]) == 11
    for row in body["results"]:
        for key in (
            "code",
            "goal",
            "indicator",
            "unit",
            "target",
            "value",
            "achievement_rate",
            "status",
            "published_rate",
            "mismatch",
            "parts",
            "reason",
        ):
            assert key in row
        for part in row["parts"]:
            assert set(part) >= {"label", "target", "value", "achievement_rate"}


def test_decimals_are_strings_and_values_recomputed(client, bob):
    client.force_login(bob)
    body = client.get(URL, {"year": 2012, "quarter": 2}).json()
    rows = {row["code"]: row for row in body["results"]}
    pass_card = rows["pass-card"]
    assert pass_card["target"] == "160"
    assert pass_card["value"] == "165.00"
    assert pass_card["achievement_rate"] == "103.13"
    assert pass_card["status"] == "green"
    assert pass_card["published_rate"].startswith("103")
    assert pass_card["mismatch"] is False
    alliance = rows["campus-alliance"]
    assert alliance["target"] is None
    assert [p["achievement_rate"] for p in alliance["parts"]] == ["158.33", "1095.00", "2324.40"]
    assert alliance["achievement_rate"] == "158.33"
    gates = rows["auto-gate"]
    assert gates["status"] == "red"
    assert gates["mismatch"] is True


def test_uncomputable_values_are_null_with_a_reason(client, bob):
    client.force_login(bob)
    rows = {r["code"]: r for r in client.get(URL, {"year": 2012, "quarter": 2}).json()["results"]}
    runaway = rows["runaway-workers"]
    assert runaway["achievement_rate"] is None
    assert runaway["status"] == "white"
    assert "上年度實績" in runaway["reason"]


def test_quarter_defaults_to_full_year(client, bob):
    client.force_login(bob)
    body = client.get(URL, {"year": 2012}).json()
    assert body["through_quarter"] == 4
    rows = {r["code"]: r for r in body["results"]}
    # Only 1-6月 figures exist: the full year cannot be computed, and the reason names the quarter.
    assert rows["pass-card"]["achievement_rate"] is None
    assert "第4季" in rows["pass-card"]["reason"]


def test_english_reasons(client, bob):
    client.force_login(bob)
    rows = {
        r["code"]: r
        for r in client.get(URL, {"year": 2012}, HTTP_ACCEPT_LANGUAGE="en").json()["results"]
    }
    assert "Q4" in rows["pass-card"]["reason"] or "quarter 4" in rows["pass-card"]["reason"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"year": "abc"},
        {"year": "101.5"},
        {"year": "-2012"},
        {"year": "1800"},
        {"year": "99999999999999999999"},
        {"year": "２０１２"},
        {"year": "2012", "quarter": "0"},
        {"year": "2012", "quarter": "5"},
        {"year": "2012", "quarter": "q2"},
        {"year": "2012", "agency": "nope"},
        {"year": "2012", "agency": "ni\x00a"},
        {"year": "20\x0012"},
    ],
)
def test_bad_parameters_get_400_with_a_message(client, bob, params):
    client.force_login(bob)
    response = client.get(URL, params)
    assert response.status_code == 400
    message = response.json()["error"]
    assert CJK.search(message), message
    assert message.encode("utf-8") in response.content, "the message is escaped, not UTF-8"


def test_it_answers_utf8_json_without_escapes(client, bob):
    client.force_login(bob)
    response = client.get(URL, {"year": 2012, "quarter": 2})
    assert response["Content-Type"] == "application/json"
    goal = "整合轄區資源，拓展為民服務成效"
    assert goal in {row["goal"] for row in response.json()["results"]}
    assert goal.encode("utf-8") in response.content
    assert b"\\u" not in response.content


def test_a_year_without_data_is_empty_not_an_error(client, bob):
    client.force_login(bob)
    body = client.get(URL, {"year": 1999}).json()
    assert body["results"] == []
    assert body["roc_year"] == 88


def test_post_is_refused(client, bob):
    client.force_login(bob)
    assert client.post(URL, {"year": 2012}).status_code == 405
