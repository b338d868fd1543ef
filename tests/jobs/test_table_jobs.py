"""A whole ministry's indicator table exported as CSV or xlsx runs as a job (issue 16): its page
counts the agencies done, the download is the table as one agency's export writes it (formulas
and control characters neutralised), and only readers of every agency it covers see it. One
agency's export stays on the request (tests/dashboards/test_indicator_table.py)."""

import csv
import io

import openpyxl
import pytest

from budget.models import Agency, Membership
from budget.services import membership_create
from kpitrack.dashboards import exports
from kpitrack.dashboards.selectors import scope_for
from kpitrack.dashboards.tables import IndicatorFilter
from kpitrack.jobs import execution
from kpitrack.jobs.models import Job
from performance.models import Indicator

from ..dashboards.test_query_counts import store
from ..factories import LARGE, build
from .running import run_queued_jobs
from .test_faults import DOWN

pytestmark = pytest.mark.django_db

MINISTRY = "/dashboards/moi/indicators/?year=2012&quarter=2"


@pytest.fixture
def dave(django_user_model, alice):
    """A 檢視 of 內政部 (moi): reads it and every agency under it, nia too."""
    dave = django_user_model.objects.create_user("dave", "dave@example.org")
    membership_create(
        member=dave,
        agency=Agency.objects.get(code="moi"),
        role=Membership.Role.VIEWER,
        user=alice,
        reason="測試",
    )
    return dave


@pytest.fixture
def as_dave(client, dave):
    client.force_login(dave)
    return client


def _job(response) -> Job:
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"].startswith("/jobs/")
    return Job.objects.get(pk=response["Location"].split("/")[2])


def _download(client, job):
    response = client.get(f"/jobs/{job.pk}/download/")
    assert response.status_code == 200
    return response, b"".join(response.streaming_content)


def _expected(user, fmt, data=None):
    """The ministry's table read at once, written by the same export functions."""
    scope = scope_for(user=user, code="moi")
    filters = IndicatorFilter(data or {}, scope=scope, year=2012)
    assert filters.is_valid()
    write = exports.as_csv if fmt == "csv" else exports.as_xlsx
    return write(filters.rows(2).rows(), 2012, 2), scope


def _sheet(data: bytes):
    return list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


def test_a_ministrys_csv_is_made_by_a_job_agency_by_agency(as_dave, dave, monkeypatch):
    Indicator.objects.filter(code="pass-card", goal__year=2012).update(name="=HYPERLINK(1)\x01")
    steps = []
    step = execution.Progress.step
    monkeypatch.setattr(
        execution.Progress,
        "step",
        lambda self, done, total, label="": (
            steps.append((done, total, str(label))) or step(self, done, total, label)
        ),
    )
    job = _job(as_dave.get(MINISTRY + "&export=csv"))
    assert (job.kind, job.user, job.agency.code) == ("indicator_table", dave, "moi")
    expected, scope = _expected(dave, "csv")
    assert len(scope.agencies) > 1 and job.params["agencies"] == scope.ids
    # A second click while it waits joins the same job.
    assert as_dave.get(MINISTRY + "&export=csv")["Location"] == f"/jobs/{job.pk}/"
    assert Job.objects.count() == 1
    run_queued_jobs()
    status = as_dave.get(f"/jobs/{job.pk}/status/").json()
    assert status["state"] == "done", status["error"]
    count = len(scope.agencies)
    assert (status["done"], status["total"]) == (count, count)
    names = [agency.name for agency in scope.agencies]
    assert steps == [
        *((n, count, f"讀取機關資料：{name}") for n, name in enumerate(names)),
        (count, count, "產生檔案"),
    ]
    response, data = _download(as_dave, job)
    assert data == expected
    assert response["Content-Type"] == "text/csv"
    assert 'filename="moi-indicators-2012-q2.csv"' in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment")
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text and "\x01" not in text
    assert len(list(csv.reader(io.StringIO(text)))) > 2


def test_the_xlsx_job_keeps_the_filters(as_dave, dave):
    job = _job(as_dave.get(MINISTRY + "&export=xlsx&light=green&in_agency=nia"))
    assert job.params["filters"] == {"light": "green", "in_agency": "nia"}
    run_queued_jobs()
    job.refresh_from_db()
    assert job.state == "done", job.error
    assert (job.done, job.total) == (1, 1)  # the one agency chosen
    _, data = _download(as_dave, job)
    expected, _scope = _expected(dave, "xlsx", {"light": "green", "in_agency": "nia"})
    rows = _sheet(data)
    assert rows == _sheet(expected)
    header = rows[0]
    assert {row[header.index("燈號")] for row in rows[1:] if row[7] is None} == {"綠燈"}


def test_other_filters_make_another_job(as_dave):
    first = _job(as_dave.get(MINISTRY + "&export=csv"))
    second = _job(as_dave.get(MINISTRY + "&export=csv&light=red"))
    third = _job(as_dave.get(MINISTRY + "&export=xlsx"))
    assert len({first.pk, second.pk, third.pk}) == 3


def test_one_agencys_export_stays_on_the_request(as_dave):
    response = as_dave.get("/dashboards/nia/indicators/?year=2012&quarter=2&export=csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert not Job.objects.exists()


def test_an_unknown_format_starts_no_job(as_dave):
    response = as_dave.get(MINISTRY + "&export=pdf")
    assert response.status_code == 400 and "匯出格式只能是 xlsx 或 csv。" in response.text
    assert not Job.objects.exists()


def test_a_user_who_lost_the_ministry_gets_a_failed_job_that_says_why(as_dave, dave):
    job = _job(as_dave.get(MINISTRY + "&export=csv"))
    Membership.objects.filter(user=dave).delete()
    run_queued_jobs()
    job.refresh_from_db()
    assert job.state == "failed" and job.error == "您已沒有權限檢視這個機關的資料。"
    assert job.result == ""


def test_the_user_cancels_it(as_dave):
    job = _job(as_dave.get(MINISTRY + "&export=csv"))
    assert as_dave.post(f"/jobs/{job.pk}/cancel/").status_code == 302
    assert run_queued_jobs() == []
    job.refresh_from_db()
    assert job.state == "cancelled" and job.result == ""


def test_only_readers_of_every_agency_it_covers_see_it(as_dave, client, bob, django_user_model):
    job = _job(as_dave.get(MINISTRY + "&export=csv"))
    run_queued_jobs()
    # bob reads nia only; erin administers moi itself, not the agencies under it.
    erin = django_user_model.objects.create_user("erin", "erin@example.org")
    membership_create(
        member=erin,
        agency=Agency.objects.get(code="moi"),
        role=Membership.Role.ADMIN,
        user=None,
        reason="測試",
    )
    for user in (bob, erin):
        client.force_login(user)
        for suffix in ("", "status/", "download/"):
            assert client.get(f"/jobs/{job.pk}/{suffix}").status_code == 403, (user, suffix)
        assert f"/jobs/{job.pk}/" not in client.get("/jobs/").content.decode()
    client.force_login(bob)
    assert client.get(MINISTRY + "&export=csv").status_code == 403
    # erin's table of moi covers moi alone: one agency, on the request.
    client.force_login(erin)
    response = client.get(MINISTRY + "&export=csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert response.content.decode("utf-8-sig").count("\n") == 1  # the header: moi has none
    assert Job.objects.count() == 1


def test_a_large_ministrys_rows_come_in_the_order_of_one_read(client, alice):
    built = build(LARGE, prefix="tj")
    store(built)
    client.force_login(alice)
    code, year = built.ministry.code, built.last_year
    job = _job(client.get(f"/dashboards/{code}/indicators/?year={year}&quarter=4&export=csv"))
    run_queued_jobs()
    job.refresh_from_db()
    assert job.state == "done", job.error
    scope = scope_for(user=alice, code=code)
    filters = IndicatorFilter({}, scope=scope, year=year)
    assert filters.is_valid()
    rows = filters.rows(4).rows()
    assert len({row.indicator.goal.agency_id for row in rows}) == LARGE.agencies
    assert job.total == len(scope.agencies)
    assert _download(client, job)[1] == exports.as_csv(rows, year, 4)


def test_in_english_the_title_and_the_failure_are_english(as_dave, dave):
    job = _job(as_dave.get(MINISTRY + "&export=csv", headers={"accept-language": "en"}))
    assert job.title.startswith("內政部, indicators FY101 (ROC) through quarter 2 (CSV)")
    Membership.objects.filter(user=dave).delete()
    run_queued_jobs()
    job.refresh_from_db()
    assert job.error == "You may no longer view this agency's data."


def test_with_the_broker_down_the_export_says_the_queue_is_unavailable(as_dave, settings):
    settings.CELERY_BROKER_URL = DOWN
    response = as_dave.get(MINISTRY + "&export=csv")
    assert response.status_code == 503
    assert "排程佇列目前無法使用" in response.content.decode()
