"""/api/v1/dashboards/…: the pages' data as JSON, paginated, for signed-in users only."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

URLS = [
    "/api/v1/dashboards/nia/",
    "/api/v1/dashboards/nia/indicators/",
    "/api/v1/dashboards/nia/indicators/pass-card/",
]


@pytest.fixture
def signed_in(client, bob):
    """bob reads nia (檢視)."""
    client.force_login(bob)
    return client


@pytest.fixture
def admin(client, alice):
    """alice, a superuser, reads every agency, the ministry too."""
    client.force_login(alice)
    return client


@pytest.mark.parametrize("url", URLS)
def test_anonymous_callers_get_401(client, url):
    response = client.get(url)
    assert response.status_code == 401
    assert response.json() == {"error": "請先登入。", "request_id": response["X-Request-ID"]}


def test_the_overview_has_the_counts_goals_and_attention(signed_in):
    data = signed_in.get("/api/v1/dashboards/nia/").json()
    assert (data["year"], data["roc_year"], data["through_quarter"]) == (2012, 101, 2)
    # Counted by the quarter's light, against the Q2 milestones (repatriation is on pace).
    assert data["counts"] == {"green": 6, "yellow": 0, "red": 1, "white": 4}
    assert len(data["goals"]) == 11
    assert data["attention"][0]["code"] == "auto-gate"
    assert data["attention"][0]["achievement_rate"] == "7.14"
    assert data["attention"][0]["attention"] == ["red"]


def test_the_indicator_list_is_paginated_and_filtered(signed_in, admin):
    data = admin.get("/api/v1/dashboards/moi/indicators/?page_size=4&page=3").json()
    assert (data["count"], data["pages"], data["page"], data["page_size"]) == (11, 3, 3, 4)
    assert len(data["results"]) == 3
    green = signed_in.get("/api/v1/dashboards/nia/indicators/?light=green").json()
    assert green["count"] == 6
    assert {row["judgement"]["status"] for row in green["results"]} == {"green"}
    assert all(row["state"] == "approved" for row in green["results"])
    # The annual rate and its light stay beside the quarter's judgement.
    repatriation = next(row for row in green["results"] if row["code"] == "repatriation")
    assert (repatriation["achievement_rate"], repatriation["status"]) == ("80.21", "yellow")
    assert repatriation["judgement"] == {
        "quarter": 2,
        "basis": "milestone",
        "progress": "160.42",
        "status": "green",
        "status_label": "綠燈",
        "pace": "ahead",
        "text": "第2季預定 3,522（預設），實際 5,650，超前進度",
        "milestones": [
            {
                "key": "value",
                "label": repatriation["parts"][0]["label"],
                "target": "7044",
                "milestone": "3522",
                "default": True,
                "value": "5650.00",
                "progress": "160.42",
            }
        ],
    }


@pytest.mark.parametrize(
    "query,message",
    [
        ("page=9", "頁碼必須是 1 到 1 的整數。"),
        ("page_size=0", "每頁筆數必須是 1 到 200 的整數。"),
        ("year=1800", "年度必須介於 1912 與 2200 之間。"),
    ],
)
def test_bad_parameters_get_400_with_a_message(signed_in, query, message):
    response = signed_in.get(f"/api/v1/dashboards/nia/indicators/?{query}")
    assert response.status_code == 400
    assert response.json() == {"error": message, "request_id": response["X-Request-ID"]}


def test_an_indicator_has_its_targets_quarters_trend_and_narrative(signed_in):
    data = signed_in.get("/api/v1/dashboards/nia/indicators/pass-card/?year=2012").json()
    assert data["targets"][0]["target"] == "160"
    assert data["quarterly"] == [
        {
            "year": 2012,
            "roc_year": 101,
            "through_quarter": 2,
            "value": "165.00",
            "achievement_rate": "103.13",
            "status": "green",
        }
    ]
    assert data["narrative"]["through_quarter"] == 2
    assert isinstance(data["history"], list)


def test_a_unit_and_a_projection(admin):
    signed_in = admin
    call_command("generate_demo", agencies=1, indicators=9, years=1, last_year=2042, prefix="pa")
    data = signed_in.get("/api/v1/dashboards/pa-01/units/u1/").json()
    assert data["unit"] == "u1" and data["through_quarter"] == 2
    indicator = signed_in.get("/api/v1/dashboards/pa-01/indicators/k000/").json()
    assert indicator["projection"]["status"] in {"green", "yellow", "red"}
    assert signed_in.get("/api/v1/dashboards/pa-01/units/nope/").status_code == 404


@pytest.mark.parametrize("url", [u.replace("nia", "moi") for u in URLS[:2]])
def test_an_agency_that_is_not_the_users_is_403(signed_in, url):
    response = signed_in.get(url)
    assert response.status_code == 403
    assert response.json() == {
        "error": "您沒有檢視這個機關資料的權限。",
        "request_id": response["X-Request-ID"],
    }


def test_an_agency_without_approved_data_answers_only_the_period_and_empty_lists(admin, alice):
    from budget.services import agency_create

    agency_create(user=alice, code="empty", name="尚無資料署")
    overview = admin.get("/api/v1/dashboards/empty/").json()
    assert overview == {
        "agency": "empty",
        "agencies": ["empty"],
        "unit": None,
        "year": None,
        "roc_year": None,
        "through_quarter": 4,
        "notice": None,
        "counts": None,
        "goals": [],
        "attention": [],
        "by_agency": [],
    }
    table = admin.get("/api/v1/dashboards/empty/indicators/").json()
    assert table == {"year": None, "count": 0, "results": []}


def test_the_cached_goals_are_answered_in_the_callers_language(signed_in):
    """Issue 16: the goals of an overview are cached per version and per language; an English
    caller after a Chinese one gets English labels."""

    def labels(**headers):
        goals = signed_in.get("/api/v1/dashboards/nia/", **headers).json()["goals"]
        return {g["status"]: g["status_label"] for g in goals}

    assert labels()["green"] == "綠燈"
    assert labels(HTTP_ACCEPT_LANGUAGE="en")["green"] == "Green light"
    assert labels()["green"] == "綠燈"
