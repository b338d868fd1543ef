"""Every URL pattern of the site, every role: the status each gets.

The test walks `kpitrack.urls` and fails when a pattern has no row in MATRIX, so a view cannot be
added without saying who may reach it. To add a view: add one row, keyed by its URL name
(`namespace:name` inside a namespace), with a sample URL and the expected status per role for GET
(and POST where the view accepts it). Roles are those of tests/roles.py: anonymous, outsider (an
administrator of another agency), staff, head, planner, director, viewer (of 內政部, the parent),
admin (管理者 of nia), superuser.

Conventions: a page for signed-in users sends the anonymous to the login page (302), an API
answers them 401; an agency the user may not see is 403, an agency that does not exist 404.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver

from performance import services

from .roles import ROLES


def expect(default: int, **by_role: int) -> dict[str, int]:
    unknown = set(by_role) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    return {role: by_role.get(role, default) for role in ROLES}


# The usual rows.
SIGNED_IN = expect(200, anonymous=302)  # any signed-in user; lists hold only their agencies
OF_NIA = expect(200, anonymous=302, outsider=403)  # a page of one agency (nia)
API_OF_NIA = expect(200, anonymous=401, outsider=403)
ANYONE = expect(200)
NOT_ALLOWED = expect(405)
STAFF_FLAG = expect(302, superuser=200)  # the Django admin: users with is_staff only
STARTS = expect(302, outsider=403)  # starts a job and sends the user to its page (or to login)
# An action on the cast's indicator (tests/roles.py): staff and head of its unit, the agency's
# admin and the superuser may; the others get 403.
ENTERERS = ("staff", "head", "admin", "superuser")


def only(allowed_status: int, roles, refused: int = 403) -> dict[str, int]:
    return expect(refused, anonymous=302, **dict.fromkeys(roles, allowed_status))


@dataclass(frozen=True)
class Row:
    url: str | Callable[[object], str]  # a callable gets the cast (tests/roles.py)
    get: dict[str, int]
    post: dict[str, int] | None = None
    data: dict = field(default_factory=dict)
    json: bool = False  # send `data` as a JSON body
    marks: tuple = ()
    prints: bool = False  # the view starts a report job (report-pdf, -xlsx, -bundle, -quarterly-*)


def _submitted(cast):
    """The cast's indicator with a quarter-1 result submitted (the FY2013 window is long closed,
    so through an entry exception), and a PDF attached to it."""
    if not hasattr(cast, "result"):
        services.entry_exception_grant(
            agency=cast.agency,
            unit=cast.unit,
            year=2013,
            quarter=1,
            until=date(2999, 12, 31),
            user=cast["admin"],
            reason="測試",
        )
        result = services.result_save_draft(
            indicator=cast.indicator,
            quarter=1,
            figures={"talks": "90", "countries": "4"},
            narrative={"progress": "辦理中"},
            expected_version=None,
            user=cast["staff"],
        )
        cast.evidence = services.evidence_add(
            result=result,
            upload=SimpleUploadedFile("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"),
            user=cast["staff"],
        )
        result.refresh_from_db()
        cast.result = services.result_submit(
            result=result, expected_version=result.version, user=cast["head"]
        )
    return cast.result


def _job(suffix=""):
    """A finished report job of the cast's staff member about nia, with its file stored."""

    def url(cast):
        from kpitrack.jobs import files
        from kpitrack.jobs.models import Job

        if not hasattr(cast, "job"):
            name = files.save_atomically("exports/matrix/report.pdf", b"%PDF-1.7\n%%EOF\n")
            cast.job = Job.objects.create(
                kind="report",
                user=cast["staff"],
                agency=cast.agency,
                state=Job.State.DONE,
                result=name,
                filename="report.pdf",
                content_type="application/pdf",
            )
        return f"/jobs/{cast.job.pk}/{suffix}"

    return url


def _work(suffix=""):
    return lambda cast: f"/work/{_submitted(cast).indicator_id}/q1/{suffix}"


def _unit(cast, suffix=""):
    return f"/units/nia/{cast.unit.code}/2013/q1/{suffix}"


def _evidence(cast):
    _submitted(cast)
    return cast.evidence


MANAGERS = ("admin", "superuser")
REVIEWERS = ("planner", "director", "admin")  # of nia (the review queue)
_MANAGERS = dict.fromkeys(MANAGERS, 200)


def _exception(cast):
    """The entry exception _submitted grants (nia, 2013 Q1, the cast's unit)."""
    from performance.models import EntryException

    _submitted(cast)
    return EntryException.objects.get(agency=cast.agency, unit=cast.unit, year=2013, quarter=1)


def _reopen(cast):
    """The reopening page of an approved FY2012 result of nia (transcribed, approved)."""
    from performance.models import Result

    result = Result.objects.filter(
        indicator__goal__agency=cast.agency, indicator__goal__year=2012, state="approved"
    ).order_by("pk")[0]
    return f"/manage/nia/2012/q{result.quarter}/results/{result.pk}/reopen/"


MATRIX: dict[str, Row] = {
    "home": Row("/", get=expect(302, outsider=200)),  # redirects to the latest year with data
    "achievements": Row("/achievements/?year=2013", get=SIGNED_IN),
    "api:achievements": Row("/api/v1/achievements/?year=2013&agency=nia", get=API_OF_NIA),
    "reports": Row("/reports/", get=SIGNED_IN),
    "report-pick": Row(
        "/reports/pick/?agency=nia&kind=budget&year=2013",
        get=expect(302, outsider=403),  # a redirect to the report (or to login)
    ),
    "report": Row("/reports/nia/performance/2010/", get=OF_NIA),
    # Background jobs (issue 16): the files are rendered by a job, whose page the user is sent
    # to (302); these rows prove who may start one (see `started_jobs`).
    "report-pdf": Row("/reports/nia/performance/2010/pdf/", get=STARTS, prints=True),
    "report-xlsx": Row("/reports/nia/performance/2010/xlsx/", get=STARTS, prints=True),
    "report-bundle": Row("/reports/nia/performance/2010/all/", get=STARTS, prints=True),
    "jobs": Row("/jobs/", get=SIGNED_IN),
    # A job of the staff member: theirs, and readable by every reader of nia.
    "job": Row(_job(), get=OF_NIA),
    "job-status": Row(  # JSON, its refusals too
        _job("status/"), get=expect(200, anonymous=401, outsider=403), post=NOT_ALLOWED
    ),
    "job-download": Row(_job("download/"), get=OF_NIA),
    "job-cancel": Row(
        _job("cancel/"),
        get=expect(405, anonymous=302),
        post=expect(403, anonymous=302, staff=302, superuser=302),  # who asked, or a superuser
    ),
    # The 季管考 report (issue 17): as the other reports of the agency.
    "report-quarterly": Row("/reports/nia/quarterly/2013/q1/", get=OF_NIA),
    "report-quarterly-pdf": Row("/reports/nia/quarterly/2013/q1/pdf/", get=STARTS, prints=True),
    "report-quarterly-xlsx": Row("/reports/nia/quarterly/2013/q1/xlsx/", get=STARTS, prints=True),
    "login": Row(
        "/accounts/login/",
        get=expect(302, anonymous=200),  # signed in: on to the home page
        post=expect(302, anonymous=200),  # a wrong password shows the form again
        data={"username": "staff", "password": "wrong"},
    ),
    "logout": Row("/accounts/logout/", get=NOT_ALLOWED, post=expect(302)),
    "logged-out": Row("/accounts/logged-out/", get=ANYONE),
    "password_change": Row(
        "/accounts/password/",
        get=SIGNED_IN,
        post=SIGNED_IN,  # an empty form is answered with its errors
        data={},
    ),
    "password_change_done": Row("/accounts/password/done/", get=SIGNED_IN),
    # Quarterly entry and review (performance/urls.py)
    "my-work": Row("/work/?year=2013&quarter=1", get=SIGNED_IN),
    "result-entry": Row(
        _work(),
        get=OF_NIA,  # every role of nia reads the quarter; only its enterers save
        # A form without the version it was loaded with: refused as a stale save (409).
        post=only(409, ENTERERS),
        data={},
    ),
    "result-preview": Row(_work("preview/"), get=expect(405, anonymous=302), post=OF_NIA),
    "result-review": Row(
        _work("review/"),
        get=expect(405, anonymous=302),
        # An empty review form (400); a submitted result awaits 初核, not yet the director's.
        post=only(400, ("planner", "admin", "superuser")),
        data={},
    ),
    "evidence-upload": Row(
        _work("evidence/"),
        get=expect(405, anonymous=302),
        post=only(400, ENTERERS),  # no file
        data={},
    ),
    "evidence-download": Row(
        lambda cast: (_submitted(cast), f"/evidence/{cast.evidence.pk}/")[1], get=OF_NIA
    ),
    "indicator-history": Row(lambda cast: f"/indicators/{cast.indicator.pk}/history/", get=OF_NIA),
    # Issue 17 (milestones): every role of nia reads the 分季目標; the planning office (初核),
    # the agency's admin and the superuser set them (an empty form: 400, the reason missing).
    "indicator-milestones": Row(
        lambda cast: f"/indicators/{cast.indicator.pk}/milestones/",
        get=OF_NIA,
        post=only(400, ("planner", "admin", "superuser")),
        data={},
    ),
    "api:results": Row(
        "/api/v1/results/?year=2013&quarter=1",
        get=expect(200, anonymous=401),  # each caller's list holds what it may see
        # The FY2013 window is closed: 423 for those who may enter, 403 for the rest.
        post=expect(403, anonymous=401, **dict.fromkeys(ENTERERS, 423)),
        data={
            "agency": "nia",
            "indicator": "intl-cooperation",
            "year": 2013,
            "quarter": 1,
            "figures": {"talks": "1", "countries": "1"},
            "narrative": {},
            "version": None,
        },
        json=True,
    ),
    # Issue 17: a unit's quarter on one page (performance/unit_urls.py). Only who enters the
    # unit's indicators sees it; an empty save changes nothing (302), only heads submit.
    "unit-quarter": Row(
        lambda cast: _unit(cast), get=only(200, ENTERERS), post=only(302, ENTERERS), data={}
    ),
    "unit-quarter-submit": Row(
        lambda cast: _unit(cast, "submit/"),
        get=expect(405, anonymous=302),
        post=only(302, ("head", "admin", "superuser")),
        data={},
    ),
    "unit-row-preview": Row(
        lambda cast: _unit(cast, f"preview/{cast.indicator.pk}/"),
        get=expect(405, anonymous=302),
        post=only(200, ENTERERS),
        data={},
    ),
    "unit-evidence-upload": Row(
        lambda cast: _unit(cast, f"evidence/{cast.indicator.pk}/"),
        get=expect(405, anonymous=302),
        post=only(302, ENTERERS),  # no file: back to the page with the message
        data={},
    ),
    "unit-evidence-delete": Row(
        lambda cast: _unit(cast, f"evidence/{_evidence(cast).pk}/delete/"),
        get=expect(405, anonymous=302),
        post=only(302, ENTERERS),  # no reason (and a submitted result): the page says why
        data={},
    ),
    # The entry workbook (performance/workbook_urls.py)
    "workbook": Row("/workbook/", get=SIGNED_IN),
    "workbook-download": Row(
        "/workbook/download/?agency=nia&year=2013&quarter=1&unit=",
        # The whole agency's workbook is for those who enter or first-review all its units.
        get=only(200, ("planner", "admin", "superuser")),
    ),
    "workbook-upload": Row("/workbook/upload/", get=expect(405, anonymous=302)),
    "workbook-confirm": Row(
        "/workbook/confirm/",
        get=expect(405, anonymous=302),
        post=expect(403, anonymous=302),  # without a token of one's own upload
        data={},
    ),
    # Management screens (管理者, performance/manage_urls.py): nia's administrator and the
    # superuser; an administrator of another agency (outsider) reaches only the list of the
    # agencies they manage. An empty form is 400 and writes nothing.
    "manage": Row("/manage/", get=expect(403, anonymous=302, outsider=200, **_MANAGERS)),
    "manage-agency": Row("/manage/nia/?year=2013", get=only(200, MANAGERS)),
    "manage-quarter": Row(
        "/manage/nia/2013/q1/", get=only(200, MANAGERS), post=only(400, MANAGERS), data={}
    ),
    "manage-exceptions": Row(
        "/manage/nia/2013/q1/exceptions/",
        get=only(200, MANAGERS),
        post=only(400, MANAGERS),
        data={},
    ),
    "manage-exception-withdraw": Row(
        lambda cast: f"/manage/nia/2013/q1/exceptions/{_exception(cast).pk}/withdraw/",
        get=only(200, MANAGERS),
        post=only(400, MANAGERS),
        data={},
    ),
    "manage-lock": Row(
        "/manage/nia/2013/q1/lock/", get=only(200, MANAGERS), post=only(400, MANAGERS), data={}
    ),
    "manage-unlock": Row(
        "/manage/nia/2013/q1/unlock/",
        get=expect(405, anonymous=302),
        post=only(400, MANAGERS),
        data={},
    ),
    "manage-results": Row("/manage/nia/2012/q4/results/", get=only(200, MANAGERS)),
    "manage-reopen": Row(_reopen, get=only(200, MANAGERS), post=only(400, MANAGERS), data={}),
    # Review queue (初核, 複核: performance/queue_urls.py): nia's planner, director and admin
    # and the superuser; the index goes on to the only agency one reviews (the outsider's own),
    # and lists them for the superuser. An empty form is 400 and writes nothing.
    "review-queue": Row(
        "/review/",
        get=expect(
            403, anonymous=302, outsider=302, **dict.fromkeys(REVIEWERS, 302), superuser=200
        ),
    ),
    "review-queue-agency": Row("/review/nia/", get=only(200, (*REVIEWERS, "superuser"))),
    "review-queue-approve": Row(
        "/review/nia/approve/",
        get=expect(405, anonymous=302),
        post=only(400, (*REVIEWERS, "superuser")),
        data={},
    ),
    "review-queue-return": Row(
        "/review/nia/return/",
        get=expect(405, anonymous=302),
        post=only(400, (*REVIEWERS, "superuser")),
        data={},
    ),
    # Dashboards (kpitrack/dashboards/urls.py) and their JSON twins
    "dashboards:index": Row("/dashboards/", get=expect(302)),  # on to the user's first agency
    "dashboards:overview": Row("/dashboards/nia/", get=OF_NIA),
    "dashboards:indicators": Row("/dashboards/nia/indicators/", get=OF_NIA),
    "dashboards:unit": Row("/dashboards/nia/units/international-affairs/", get=OF_NIA),
    "dashboards:indicator": Row("/dashboards/nia/indicators/intl-cooperation/", get=OF_NIA),
    "api:dashboard-overview": Row("/api/v1/dashboards/nia/", get=API_OF_NIA),
    "api:dashboard-indicators": Row("/api/v1/dashboards/nia/indicators/", get=API_OF_NIA),
    "api:dashboard-unit": Row(
        "/api/v1/dashboards/nia/units/international-affairs/", get=API_OF_NIA
    ),
    "api:dashboard-indicator": Row(
        "/api/v1/dashboards/nia/indicators/intl-cooperation/", get=API_OF_NIA
    ),
    # The API's own pages (kpitrack/api/urls.py): its description is public, like the README;
    # any other address under api/ is a JSON 404, whoever asks.
    "api:openapi-json": Row("/api/v1/openapi.json", get=ANYONE),
    "api:openapi-view": Row("/api/v1/docs", get=ANYONE),
    "api:api-root": Row("/api/v1/", get=expect(404)),
    "api:not-found": Row("/api/v1/nope/", get=expect(404), post=expect(404)),
    "api-not-found": Row("/api/v2/results/", get=expect(404), post=expect(404)),
    # Health (issue 15): public, for load balancers; read-only.
    "healthz": Row("/healthz/", get=ANYONE, post=NOT_ALLOWED),
    "readyz": Row("/readyz/", get=ANYONE, post=NOT_ALLOWED),
    # Notifications and the completion board (issue 17, performance/notification_views.py).
    "notifications": Row("/notifications/", get=SIGNED_IN),
    "notifications-read-all": Row(
        "/notifications/read/", get=expect(405, anonymous=302), post=expect(302)
    ),
    # Nobody's notification 999999: as absent to every user as another person's is.
    "notification-read": Row(
        "/notifications/999999/read/",
        get=expect(405, anonymous=302),
        post=expect(404, anonymous=302),
    ),
    # The picker redirects to the board, which decides who may see it.
    "board-pick": Row("/board/?agency=nia&year=2013&quarter=1", get=expect(302)),
    "board": Row("/board/nia/2013/q1/", get=only(200, ("planner", "admin", "superuser"))),
    "board-remind": Row(
        lambda cast: f"/board/nia/2013/q1/remind/{cast.unit.pk}/",
        get=expect(405, anonymous=302),
        post=only(302, ("planner", "admin", "superuser")),
    ),
    "set_language": Row(
        "/i18n/setlang/", get=expect(302), post=expect(302), data={"language": "en", "next": "/"}
    ),
}
# Included URL sets, each checked through sample URLs.
NAMESPACES: dict[str, list[Row]] = {
    "admin": [
        Row("/admin/", get=STAFF_FLAG),
        Row("/admin/budget/membership/", get=STAFF_FLAG),
        Row("/admin/performance/result/", get=STAFF_FLAG),
        Row("/admin/budget/membership/add/", get=STAFF_FLAG, post=STAFF_FLAG, data={}),
        # Sign-in throttling (django-axes): the failures an administrator unlocks.
        Row("/admin/axes/accessattempt/", get=STAFF_FLAG),
        Row("/admin/axes/accesslog/", get=STAFF_FLAG),
    ],
}


def _patterns(resolver=None, namespaces=()):
    """(namespaces, pattern) for every URL pattern, included ones too."""
    for entry in (resolver or get_resolver("kpitrack.urls")).url_patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _patterns(entry, inner)
        elif isinstance(entry, URLPattern):
            yield namespaces, entry


def _key(namespaces, pattern) -> str:
    return ":".join((*namespaces, pattern.name or str(pattern.pattern)))


def test_every_url_pattern_has_a_row():
    missing = sorted(
        {
            _key(namespaces, pattern)
            for namespaces, pattern in _patterns()
            if _key(namespaces, pattern) not in MATRIX
            and not any(":".join(namespaces[: n + 1]) in NAMESPACES for n in range(len(namespaces)))
        }
    )
    assert not missing, f"URL patterns without a row in MATRIX: {missing}"


def test_every_row_is_a_url_pattern():
    keys = {_key(namespaces, pattern) for namespaces, pattern in _patterns()}
    assert set(MATRIX) <= keys, set(MATRIX) - keys


def _rows():
    return [pytest.param(row, id=key, marks=row.marks) for key, row in MATRIX.items()] + [
        pytest.param(row, id=f"{namespace}:{row.url}", marks=row.marks)
        for namespace, rows in NAMESPACES.items()
        for row in rows
    ]


@pytest.fixture
def printed():
    """The report jobs requests start (report-pdf, -xlsx, -bundle). The matrix asks who gets
    which status and who starts a job; the jobs themselves are tested in tests/jobs and the
    rendering in tests/reports."""
    from kpitrack.jobs.models import Job

    return Job.objects.filter(kind__startswith="report")


@pytest.fixture(scope="module")
def signed_in(_cast_rows, django_db_blocker):
    """signed_in(client, role): the client as client.force_login(cast[role]) after a logout
    leaves it, a session of its own with what the sign-in put there; for "anonymous", no
    session. Each role signs in once per module (Django's login, its signals and writes, inside
    the module's rows, rolled back with them) and each request gets a new session holding a copy
    of that data: about 30 of this file's 75 s of CPU were a sign-in and a sign-out per request.
    Signing in and out are tested in tests/site and tests/api."""
    from importlib import import_module

    from django.conf import settings
    from django.test import Client

    from .roles import read_cast

    engine = import_module(settings.SESSION_ENGINE)
    with django_db_blocker.unblock():
        cast = read_cast(_cast_rows)
        data = {}
        for role in ROLES[1:]:
            one = Client()
            one.force_login(cast[role])
            data[role] = dict(one.session.items())

    def sign_in(client, role):
        client.cookies.clear()
        if role == "anonymous":
            return
        session = engine.SessionStore()
        session.update(data[role])
        session.save()
        client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key

    return sign_in


def _statuses(client, cast, row, method, printed, signed_in) -> tuple[dict[str, int], set[str]]:
    """The status each role gets, and the roles whose request reached the PDF renderer: sent
    on to the page of a report job (the first starts it, the others join it: the same file)."""
    url = row.url(cast) if callable(row.url) else row.url
    seen, reached = {}, set()
    earlier = set(printed.values_list("pk", flat=True))
    for role in ROLES:
        signed_in(client, role)
        if method == "get":
            response = client.get(url)
        elif row.json:
            body = json.dumps(row.data)
            response = client.post(url, body, content_type="application/json")
        else:
            response = client.post(url, row.data)
        seen[role] = response.status_code
        started = set(printed.values_list("pk", flat=True)) - earlier
        jobs = {f"/jobs/{pk}/" for pk in started}
        if response.status_code == 302 and response["Location"] in jobs:
            reached.add(role)
    return seen, reached


@pytest.mark.django_db
@pytest.mark.parametrize("row", _rows())
def test_each_role_gets_the_expected_status(client, cast, row, printed, signed_in):
    statuses, reached = _statuses(client, cast, row, "get", printed, signed_in)
    assert statuses == row.get
    # A PDF answer is the printed report of the asked agency, for exactly the roles let in.
    # A report job is started for exactly the roles let in (sent on to its page).
    started = {role for role, status in row.get.items() if status == 302} - {"anonymous"}
    assert reached == (started if row.prints else set())
    assert all(job.agency.code == "nia" for job in printed)
    if row.post is not None:
        statuses, reached = _statuses(client, cast, row, "post", printed, signed_in)
        assert statuses == row.post
        assert reached == set()


@pytest.mark.django_db
def test_a_ministrys_table_export_starts_a_job_for_its_readers_only(client, cast, signed_in):
    """/dashboards/<ministry>/indicators/?export=… (the row of dashboards:indicators is one
    agency's, exported on the request): the ministry's 檢視 and the superuser start a job; the
    others may not see the ministry."""
    from kpitrack.jobs.models import Job

    row = Row(
        "/dashboards/moi/indicators/?export=csv",
        get=expect(403, anonymous=302, viewer=302, superuser=302),
    )
    statuses, reached = _statuses(
        client, cast, row, "get", Job.objects.filter(kind="indicator_table"), signed_in
    )
    assert statuses == row.get
    assert reached == {"viewer", "superuser"}
    assert all(job.agency.code == "moi" for job in Job.objects.all())
