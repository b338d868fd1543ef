"""The rules of performance.permissions, through the functions and through the pages that use them.
(Each role against each URL: test_permission_matrix.py.)"""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from budget.models import Agency, Membership
from budget.services import agency_create, membership_create
from performance import permissions
from performance.models import Indicator
from performance.services import indicator_create, strategic_goal_create

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/achievements/?year=2013",
    "/reports/",
    "/reports/pick/?agency=nia&kind=budget&year=2013",
    "/reports/nia/budget/2013/",
    "/reports/nia/budget/2013/pdf/",
    "/reports/nia/budget/2013/xlsx/",
    "/reports/nia/performance/2010/",
    "/accounts/password/",
]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_api_gets_401(client):
    assert client.get("/api/v1/achievements/?year=2013").status_code == 401


@pytest.mark.parametrize("url", ["/admin/", "/admin/performance/result/"])
def test_admin_is_for_staff_only(client, bob, alice, url):
    client.force_login(bob)
    assert client.get(url).status_code == 302
    client.force_login(alice)
    assert client.get(url).status_code == 200


def test_unknown_agency_is_404(client, bob):
    client.force_login(bob)
    assert client.get("/reports/nope/budget/2013/").status_code == 404
    assert client.get("/reports/pick/?agency=nope&kind=budget&year=2013").status_code == 404


def test_another_agencys_report_is_403_in_the_sites_look(client, cast):
    client.force_login(cast["outsider"])
    response = client.get("/reports/nia/budget/2013/")
    assert response.status_code == 403
    assert "沒有權限" in response.content.decode()


def _code(indicator_code):
    return Indicator.objects.select_related("goal").get(goal__year=2013, code=indicator_code)


def test_staff_and_head_enter_only_their_units_indicators(cast):
    theirs, other = _code("intl-cooperation"), _code("finance-audit")  # see tests/roles.py
    assert (theirs.responsible_unit, other.responsible_unit) == (cast.unit, cast.other_unit)
    for role in ("staff", "head"):
        assert permissions.can_enter(cast[role], theirs)
        assert not permissions.can_enter(cast[role], other)
    assert not permissions.can_submit(cast["staff"], theirs)
    assert permissions.can_submit(cast["head"], theirs)
    assert not permissions.can_submit(cast["head"], other)
    assert list(permissions.units_user_enters(cast["staff"], cast.agency)) == [cast.unit]
    assert set(permissions.indicators_for_user(cast["staff"], year=2013)) == {theirs}


def test_the_head_lists_its_units_work_and_the_admin_its_agencys(cast):
    """What the work list, the workbook's scope and the API list per role (the same rule as
    can_enter, as a query)."""
    theirs = _code("intl-cooperation")
    assert list(permissions.units_user_enters(cast["head"], cast.agency)) == [cast.unit]
    assert set(permissions.indicators_for_user(cast["head"], year=2013)) == {theirs}
    everything = Indicator.objects.filter(goal__year=2013, goal__agency=cast.agency)
    assert set(permissions.indicators_for_user(cast["admin"], year=2013)) == set(everything)


def test_a_deactivated_account_keeps_no_rights(cast):
    """A job or a command may still hold the user object of an account deactivated since."""
    staff = type(cast["staff"]).objects.get(pk=cast["staff"].pk)
    staff.is_active = False
    assert not permissions.can_enter(staff, _code("intl-cooperation"))
    assert not permissions.can_view_agency(staff, cast.agency)


def test_reviewers_review_their_agency_and_do_not_enter(cast):
    nia, other, indicator = cast.agency, cast.other_agency, _code("procurement")
    assert permissions.can_first_review(cast["planner"], nia)
    assert not permissions.can_final_review(cast["planner"], nia)
    assert permissions.can_final_review(cast["director"], nia)
    assert not permissions.can_first_review(cast["director"], nia)
    for role in ("planner", "director"):
        assert not permissions.can_enter(cast[role], indicator)
        assert not permissions.can_manage(cast[role], nia)
        assert not permissions.can_first_review(cast[role], other)
        assert permissions.indicators_for_user(cast[role], year=2013).count() == 11


def test_the_admin_does_everything_in_its_agency_only(cast):
    admin, nia, indicator = cast["admin"], cast.agency, _code("procurement")
    assert permissions.can_enter(admin, indicator) and permissions.can_submit(admin, indicator)
    assert permissions.can_first_review(admin, nia) and permissions.can_final_review(admin, nia)
    assert permissions.can_manage(admin, nia)
    assert permissions.units_user_enters(admin, nia).count() == nia.units.count()
    outsider = cast["outsider"]  # the admin of another agency
    assert not permissions.can_view_agency(outsider, nia)
    assert not permissions.can_enter(outsider, indicator)
    assert not permissions.can_manage(outsider, nia)
    assert permissions.can_manage(outsider, cast.other_agency)


def test_a_viewer_of_a_parent_sees_every_agency_under_it_and_does_nothing(cast):
    viewer, nia = cast["viewer"], cast.agency
    grandchild = agency_create(code="nia-branch", name="北區分署", parent=nia, user=None)
    viewer = type(viewer).objects.get(pk=viewer.pk)  # a new request
    assert set(permissions.agencies_for_user(viewer)) == {nia.parent, nia, grandchild}
    assert not permissions.can_view_agency(viewer, cast.other_agency)
    assert not permissions.can_enter(viewer, _code("procurement"))
    assert not permissions.can_first_review(viewer, nia)
    assert not permissions.indicators_for_user(viewer, year=2013).exists()


def test_a_unit_role_lets_its_holder_see_the_agency_but_not_its_parent(cast):
    assert set(permissions.agencies_for_user(cast["staff"])) == {cast.agency}


def test_the_superuser_may_do_everything(cast):
    root = cast["superuser"]
    assert set(permissions.agencies_for_user(root)) == set(Agency.objects.all())
    assert permissions.can_manage(root, cast.other_agency)
    assert permissions.can_enter(root, _code("procurement"))


def test_a_user_without_memberships_sees_nothing(django_user_model):
    nobody = django_user_model.objects.create_user("nobody")
    assert not permissions.agencies_for_user(nobody).exists()
    assert not permissions.indicators_for_user(nobody, year=2013).exists()


def test_access_agency_is_404_when_absent_and_403_when_not_theirs(cast):
    assert permissions.access_agency(cast["staff"], "nia") == cast.agency
    with pytest.raises(Http404):
        permissions.access_agency(cast["staff"], "nope")
    with pytest.raises(PermissionDenied):
        permissions.access_agency(cast["staff"], "other-agency")
    with pytest.raises(PermissionDenied):
        permissions.require(False)


def test_memberships_are_read_once_however_many_checks(cast, django_assert_num_queries):
    user = type(cast["director"]).objects.get(pk=cast["director"].pk)
    indicators = list(Indicator.objects.select_related("goal__agency").filter(goal__year=2013))
    with django_assert_num_queries(1):
        for indicator in indicators:
            permissions.can_enter(user, indicator)
            permissions.can_submit(user, indicator)
            permissions.can_view_agency(user, indicator.goal.agency)
            permissions.can_final_review(user, cast.agency)


def test_a_new_membership_counts_at_once_for_the_same_user_object(cast):
    staff = cast["staff"]
    assert not permissions.can_view_agency(staff, cast.other_agency)
    membership_create(
        member=staff,
        agency=cast.other_agency,
        role=Membership.Role.VIEWER,
        user=cast["superuser"],
        reason="支援",
    )
    assert permissions.can_view_agency(staff, cast.other_agency)


def test_the_achievements_page_and_api_leave_out_other_agencies(client, cast):
    goal = strategic_goal_create(
        agency=cast.other_agency, year=2013, code="g1", order=1, title="他機關目標", user=None
    )
    indicator_create(goal=goal, code="secret", name="他機關指標", method="count", user=None)
    client.force_login(cast["staff"])
    page = client.get("/achievements/?year=2013").content.decode()
    api = client.get("/api/v1/achievements/?year=2013").json()
    assert "他機關指標" not in page and "加強防制人口販運" in page
    assert {row["agency"] for row in api["results"]} == {"nia"}
    assert client.get("/api/v1/achievements/?year=2013&agency=other-agency").status_code == 403
    assert client.get("/api/v1/achievements/?year=2013&agency=nope").status_code == 400
    client.force_login(cast["outsider"])
    assert "他機關指標" in client.get("/achievements/?year=2013").content.decode()
    assert client.get("/api/v1/achievements/?year=2013&agency=nia").status_code == 403


def test_the_reports_index_lists_only_the_users_agencies(client, cast):
    client.force_login(cast["outsider"])
    index = client.get("/reports/").content.decode()
    assert "入出國及移民署" not in index and "他機關" in index


def test_the_menu_offers_the_review_queue_and_management_to_whom_they_serve(client, cast):
    """審核清單 to whoever gives 初核 or 複核 somewhere, 季別管理 to an agency's 管理者 (the
    outsider is the administrator of another agency), and neither to anybody else."""
    queue = f'<a href="{reverse("review-queue")}">審核清單</a>'
    manage = f'<a href="{reverse("manage")}">季別管理</a>'
    expected = {
        "outsider": (True, True),
        "staff": (False, False),
        "head": (False, False),
        "planner": (True, False),
        "director": (True, False),
        "viewer": (False, False),
        "admin": (True, True),
        "superuser": (True, True),
    }
    offered = {}
    for role in expected:
        client.force_login(cast[role])
        page = client.get("/accounts/password/").content.decode()
        offered[role] = (queue in page, manage in page)
    assert offered == expected
