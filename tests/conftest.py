from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "nia"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Every test database starts with the source documents loaded, as `make run` does."""
    from kpitrack.sources import load_folder

    with django_db_blocker.unblock():
        load_folder(SEED)


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the site's default language: a test-client request leaves the language
    it negotiated active in the thread (LocaleMiddleware never resets it), which would leak into
    the next test that renders text without a request."""
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _commit_at_test_level(request, monkeypatch):
    """A test of the `db` fixture runs inside a transaction that never commits, so what
    kpitrack.core.writes schedules on commit (the stored outcomes' refresh) would never run.
    Here it runs when the code under test leaves its outermost transaction, as it would after
    a real commit; tests with real commits (`transactional_db`) need nothing."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None and "db" not in request.fixturenames:
        return
    if "transactional_db" in request.fixturenames or "live_server" in request.fixturenames:
        return
    if marker is not None and marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("db")
    from django.db import connection
    from django.db.transaction import Atomic

    from kpitrack.core.writes import Flush

    base = list(connection.savepoint_ids)
    exit_atomic = Atomic.__exit__

    def exit_and_commit(self, exc_type, exc_value, traceback):
        result = exit_atomic(self, exc_type, exc_value, traceback)
        if exc_type is None and connection.savepoint_ids == base:
            for entry in [e for e in connection.run_on_commit if isinstance(e[1], Flush)]:
                connection.run_on_commit.remove(entry)
                entry[1]()
        return result

    monkeypatch.setattr(Atomic, "__exit__", exit_and_commit)


@pytest.fixture
def alice(django_user_model):
    """An administrator (staff + superuser)."""
    return django_user_model.objects.create_superuser(
        "alice", "alice@example.org", "alice-password"
    )


@pytest.fixture
def bob(django_user_model):
    """A colleague: a logged-in user without admin rights who reads nia's data (檢視)."""
    from budget.models import Agency, Membership
    from budget.services import membership_create

    bob = django_user_model.objects.create_user("bob", "bob@example.org", "bob-password")
    membership_create(
        member=bob,
        agency=Agency.objects.get(code="nia"),
        role=Membership.Role.VIEWER,
        user=None,
        reason="測試：檢視 nia",
    )
    return bob


@pytest.fixture
def charlie(django_user_model):
    """An outsider: has an account elsewhere but is not logged in here (see anonymous tests)."""
    return django_user_model.objects.create_user(
        "charlie", "charlie@example.org", "charlie-password"
    )


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def cast(db):
    """One user per role in nia (tests/roles.py): cast["staff"], cast["planner"], …"""
    from .roles import build_cast

    return build_cast()
