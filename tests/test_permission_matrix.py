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

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from .roles import ROLES


def expect(default: int, **by_role: int) -> dict[str, int]:
    unknown = set(by_role) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"
    return {role: by_role.get(role, default) for role in ROLES}


# The usual rows.
SIGNED_IN = expect(200, anonymous=302)  # any signed-in user; lists hold only their agencies
OF_NIA = expect(200, anonymous=302, outsider=403)  # a page of one agency (nia)
ANYONE = expect(200)
NOT_ALLOWED = expect(405)
STAFF_FLAG = expect(302, superuser=200)  # the Django admin: users with is_staff only


def _sample(cast) -> int:
    """FY2013's intl-cooperation, made the cast unit's (the documents name no unit for it)."""
    from performance.models import Indicator

    indicator = Indicator.objects.get(goal__year=2013, code="intl-cooperation")
    Indicator.objects.filter(pk=indicator.pk).update(responsible_unit=cast.unit)
    return indicator.pk


@dataclass(frozen=True)
class Row:
    url: str | Callable[[object], str]  # a callable gets the cast (tests/roles.py)
    get: dict[str, int]
    post: dict[str, int] | None = None
    data: dict = field(default_factory=dict)
    marks: tuple = ()


MATRIX: dict[str, Row] = {
    "home": Row("/", get=expect(302, outsider=200)),  # redirects to the latest year with data
    "achievements": Row("/achievements/?year=2013", get=SIGNED_IN),
    "api-achievements": Row(
        "/api/v1/achievements/?year=2013&agency=nia", get=expect(200, anonymous=401, outsider=403)
    ),
    "reports": Row("/reports/", get=SIGNED_IN),
    "report-pick": Row(
        "/reports/pick/?agency=nia&kind=budget&year=2013",
        get=expect(302, outsider=403),  # a redirect to the report (or to login)
    ),
    "report": Row("/reports/nia/performance/2010/", get=OF_NIA),
    "report-pdf": Row("/reports/nia/performance/2010/pdf/", get=OF_NIA, marks=(pytest.mark.pdf,)),
    "report-xlsx": Row("/reports/nia/performance/2010/xlsx/", get=OF_NIA),
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
    # h8c: the quarterly entry pages and the results API. The sample is FY2013's
    # intl-cooperation, of the cast's unit, for Q4; FY2013's window is long closed, so a
    # permitted save is refused as locked (423) and a save by anyone else is 403.
    "my-work": Row("/work/?year=2013&quarter=4", get=SIGNED_IN),
    "result-entry": Row(
        lambda cast: f"/work/{_sample(cast)}/q4/",
        get=OF_NIA,
        post=expect(403, anonymous=302, staff=423, head=423, admin=423, superuser=423),
        data={"version": "", "action": "save", "f_talks": "1", "f_countries": "1"},
    ),
    "result-preview": Row(
        lambda cast: f"/work/{_sample(cast)}/q4/preview/",
        get=expect(405, anonymous=302),
        post=OF_NIA,
        data={"f_talks": "1"},
    ),
    # No result has been entered for the quarter yet: nothing to review or attach to.
    "result-review": Row(
        lambda cast: f"/work/{_sample(cast)}/q4/review/",
        get=expect(405, anonymous=302),
        post=expect(404, anonymous=302),
        data={"action": "approve", "version": "1"},
    ),
    "evidence-upload": Row(
        lambda cast: f"/work/{_sample(cast)}/q4/evidence/",
        get=expect(405, anonymous=302),
        post=expect(404, anonymous=302),
    ),
    "evidence-download": Row("/evidence/999999/", get=expect(404, anonymous=302)),
    "indicator-history": Row(lambda cast: f"/indicators/{_sample(cast)}/history/", get=OF_NIA),
    "api-results": Row(
        "/api/v1/results/?year=2013&quarter=4&agency=nia",
        get=expect(200, anonymous=401, outsider=403),
        post=expect(400, anonymous=401),  # an empty body is answered per field
    ),
    "workbook": Row("/workbook/", get=SIGNED_IN),
    "workbook-download": Row(
        "/workbook/download/?agency=nia&unit=international-affairs&year=2013&quarter=1",
        # a unit's workbook: those who enter its figures (the agency's admin too)
        get=expect(403, anonymous=302, staff=200, head=200, admin=200, superuser=200),
    ),
    "workbook-upload": Row(
        "/workbook/upload/", get=expect(405, anonymous=302), post=expect(400, anonymous=302)
    ),
    "workbook-confirm": Row(
        "/workbook/confirm/",
        get=expect(405, anonymous=302),
        post=expect(403, anonymous=302),  # no upload of theirs to confirm
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


def _statuses(client, cast, row, method) -> dict[str, int]:
    url = row.url(cast) if callable(row.url) else row.url
    seen = {}
    for role in ROLES:
        client.logout()
        if role != "anonymous":
            client.force_login(cast[role])
        if method == "get":
            seen[role] = client.get(url).status_code
        else:
            seen[role] = client.post(url, row.data).status_code
    return seen


@pytest.mark.django_db
@pytest.mark.parametrize("row", _rows())
def test_each_role_gets_the_expected_status(client, cast, row):
    assert _statuses(client, cast, row, "get") == row.get
    if row.post is not None:
        assert _statuses(client, cast, row, "post") == row.post
