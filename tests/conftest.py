import os
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "fixtures" / "nia"
ARTIFACTS = ROOT / "test-artifacts"

# Fixtures through which a test reaches the database (pytest-django refuses any other access).
_DATABASE_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "django_db_setup",  # the session fixtures that build a report once, inside django_db_blocker
    "live_server",
    "admin_user",
    "admin_client",
}
# Markers of tests whose cost is outside SQL: their queries are the report assembly's and the
# views', which the HTML, xlsx, view and query-count tests run on both databases.
_NOT_REPEATED_MARKERS = ("pdf", "browser", "libreoffice", "vnu")


def _vendor() -> str:
    """sqlite or postgresql: the database this pass runs on (DATABASE_URL)."""
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1].replace("sqlite3", "sqlite")


def pytest_addoption(parser):
    parser.addoption(
        "--postgresql-all",
        action="store_true",
        help="on PostgreSQL, run the database-independent tests too (docs/testing.md, CI time)",
    )


def pytest_configure(config):
    from django.conf import settings
    from hypothesis import settings as hypothesis_settings
    from hypothesis.configuration import set_hypothesis_home_dir
    from hypothesis.database import DirectoryBasedExampleDatabase

    # The production hasher costs ~0.2 s of CPU per password on purpose; tests only need the
    # check to work. The production setting is asserted in a fresh interpreter by
    # tests/site/test_settings.py::test_production_hashes_passwords_slowly.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # .ci/run runs the SQLite and PostgreSQL passes at once: each keeps its own Hypothesis folder
    # (saved examples, cached constants) instead of both writing .hypothesis/; and each pass runs
    # on pytest-xdist workers, each with a folder of its own in its pass's.
    home = ROOT / ".hypothesis" / _vendor()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        home = home / os.environ["PYTEST_XDIST_WORKER"]
    set_hypothesis_home_dir(home)
    hypothesis_settings.register_profile(
        "kpitrack", database=DirectoryBasedExampleDatabase(home / "examples")
    )
    hypothesis_settings.load_profile("kpitrack")
    from . import sqlite_locks

    sqlite_locks.install()
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_Workers(), "kpitrack-workers")


def _uses_the_database(item) -> bool:
    return item.get_closest_marker("django_db") is not None or bool(
        _DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    )


_LEFT_OUT = pytest.StashKey[dict]()


# Wall seconds of the files that take longest (one process, a quiet machine, 6 December 2026,
# the longer of the two passes). Within each part of pytest-django's order they go first, so
# that two workers are not left with one long file at the end of a pass while the other has
# nothing left to do. A file not listed counts as short; a stale figure only moves a file.
_LONG_FILES = {
    "tests/site/test_outage.py": 47,
    "tests/jobs/test_celery.py": 42,
    "tests/test_permission_matrix.py": 36,
    "tests/browser/test_phone.py": 33,
    "tests/dashboards/test_table_in_sql.py": 32,
    "tests/browser/test_csp.py": 32,
    "tests/performance/test_dashboard_pages_stay_fresh.py": 29,
    "tests/performance/test_outcomes_stay_fresh.py": 23,
    "tests/browser/test_quarter_journey.py": 22,
    "tests/commands/test_restore.py": 22,
    "tests/site/test_security_settings.py": 21,
    "tests/site/test_two_servers.py": 21,
    "tests/browser/test_entry_flow.py": 15,
    "tests/performance/test_review_queue.py": 15,
    "tests/reports/test_pdf.py": 14,
    "tests/reports/test_reprint_published_lines.py": 14,
    "tests/test_query_counts.py": 12,
    "tests/performance/test_allowed_actions_in_the_workflow.py": 12,
    "tests/reports/test_print_layout.py": 11,
    "tests/sources/test_bad_files.py": 11,
    "tests/browser/test_dashboards.py": 11,
    "tests/performance/test_workbook_import.py": 10,
    "tests/dashboards/test_outcomes.py": 10,
    "tests/site/test_connection_leak.py": 10,
}


def _django_part(item) -> int:
    """pytest-django's order of a test: 0 database, 1 transactional, 2 neither (its
    pytest_collection_modifyitems, for tests that are functions, as all of ours are)."""
    if _is_transactional(item):
        return 1
    if item.get_closest_marker("django_db") or "db" in getattr(item, "fixturenames", ()):
        return 0
    return 2


def _long_files_first(items):
    parts = [_django_part(item) for item in items]
    if parts != sorted(parts):  # not the order this was written for: leave it as it is
        return
    order = {id(item): n for n, item in enumerate(items)}
    items.sort(
        key=lambda item: (
            _django_part(item),
            -_LONG_FILES.get(item.nodeid.split("::", 1)[0], 0),
            order[id(item)],
        )
    )


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, leave out what the SQLite pass already proves: tests that use no database
    (the engine's among them) and the PDF, browser, LibreOffice and HTML-validator tests, which
    check what a file or page shows, not SQL. Reported as deselected. On both, the long files
    first within each part of pytest-django's order (_LONG_FILES)."""
    _long_files_first(items)
    if _vendor() != "postgresql" or config.getoption("postgresql_all"):
        return
    kept, left_out = [], {"no database": [], "pdf, browser, LibreOffice or HTML validator": []}
    for item in items:
        if not _uses_the_database(item):
            left_out["no database"].append(item)
        elif any(item.get_closest_marker(name) for name in _NOT_REPEATED_MARKERS):
            left_out["pdf, browser, LibreOffice or HTML validator"].append(item)
        else:
            kept.append(item)
    config.stash[_LEFT_OUT] = {why: len(some) for why, some in left_out.items()}
    deselected = [item for some in left_out.values() for item in some]
    if hasattr(config, "workeroutput"):  # a pytest-xdist worker: told to the controller (below)
        config.workeroutput["left_out"] = config.stash[_LEFT_OUT]
        config.workeroutput["deselected"] = [item.nodeid for item in deselected]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


# pytest-xdist (`-n 2`, as .ci/run runs each pass; docs/testing.md, "CI time"): the tests of a
# file are one unit of work, handed to whichever worker is free, so that its module fixtures are
# still built once. The files below share a unit, for what they share beyond a module.
_SAME_WORKER = {
    # Redis db JOBS_TEST_REDIS_DB, which each of these tests empties: one test at a time.
    "tests/jobs/test_celery.py": "redis",
    "tests/site/test_two_servers.py": "redis",
    # seeded_pdf (tests/reports/conftest.py) renders each report once per worker.
    "tests/reports/test_pdf.py": "seeded_pdf",
    "tests/reports/test_print_layout.py": "seeded_pdf",
    "tests/reports/test_quarterly.py": "seeded_pdf",
    "tests/reports/test_reprint_published_lines.py": "seeded_pdf",
}


class _Workers:
    """Registered when pytest-xdist is installed; its hooks run only with `-n`."""

    @pytest.hookimpl
    def pytest_xdist_make_scheduler(self, config, log):
        """Units in the order pytest-django sorted the tests (the database tests, then the
        transactional ones, whose teardown empties the database and its seed, then those without
        a database): a file whose tests fall in two of these parts is two units, so no worker
        runs a database test after a transactional one (pytest_runtest_setup checks)."""
        from xdist.scheduler import LoadScopeScheduling

        class ByFile(LoadScopeScheduling):
            def _split_scope(self, nodeid):
                if not hasattr(self, "_units"):
                    self._units = {}
                    parts, previous = {}, None
                    for each in self.collection:
                        path = each.split("::", 1)[0]
                        if path != previous:  # a file's next run of tests in the order
                            parts[path] = parts.get(path, -1) + 1
                            previous = path
                        self._units[each] = f"{_SAME_WORKER.get(path, path)}#{parts[path]}"
                return self._units[nodeid]

        config.option.loadscopereorder = False  # the order collected, as above
        return ByFile(config, log)

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        """A worker that builds the run's seeded database (_SharedSeed) and whose set-up failed,
        pytest-django's or the load of the documents, says so: the others then stop waiting for
        its file. (Here, not in this module: a session fixture's hooks are the root folder's,
        which this conftest.py is not.)"""
        try:
            return (yield)
        except BaseException:
            if fixturedef.argname == "django_db_setup" and _shared_seed is not None:
                _shared_seed.fail()
            raise

    @pytest.hookimpl
    def pytest_testnodedown(self, node, error):
        """The PostgreSQL pass's deselection happens on each worker: the first one to finish tells
        the controller, which lists them as a single process would."""
        output = getattr(node, "workeroutput", {})
        if "left_out" in output and _LEFT_OUT not in node.config.stash:
            node.config.stash[_LEFT_OUT] = output["left_out"]
            # The controller has no items: stand-ins that carry the ids, for the count.
            deselected = [SimpleNamespace(nodeid=nodeid) for nodeid in output["deselected"]]
            node.config.hook.pytest_deselected(items=deselected)


def pytest_terminal_summary(terminalreporter, config):
    left_out = config.stash.get(_LEFT_OUT, None)
    if left_out:
        reasons = ", ".join(f"{count} {why}" for why, count in left_out.items() if count)
        terminalreporter.write_line(
            f"PostgreSQL pass: deselected as the SQLite pass runs them ({reasons}); "
            "--postgresql-all keeps them. See docs/testing.md, CI time."
        )


@pytest.fixture(scope="session", autouse=True)
def _media_root_of_this_run(tmp_path_factory):
    """Uploads go to this run's own folder, never var/media: two runs at once cannot collide."""
    from django.test import override_settings

    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        yield


@pytest.fixture(autouse=True)
def _an_empty_cache():
    """Each test starts with an empty cache. Every test's database rolls back to the same
    outcomes version, so the dashboards' figures and pages another test cached under it would
    be served; and the job pages sweep stale jobs at most once per heartbeat (a mark in the
    cache, kpitrack.jobs.runners)."""
    from django.core.cache import cache

    cache.clear()


# SQLite: a copy of the test database as django_db_setup left it (see seeded()).
_seeded_copy = None
# SQLite on pytest-xdist workers: the run's seeded database, shared through a file (see
# _SharedSeed); None where each process builds its own.
_shared_seed = None


class _SharedSeed:
    """The first worker of a run to set up its SQLite database migrates it and loads the
    documents (~4 s of CPU), then writes it to a file in the run's temporary folder (sqlite3's
    backup API); the run's other workers write that file into their own in-memory database in
    place of the migrations and the load. The folder is the one pytest-xdist hands out to the
    run's workers (each worker's own is a subfolder of it) and pytest empties it as a run starts,
    so the file is always this run's, made by this code from these migrations.

    Who builds is claimed with an exclusive create; the file appears whole (written aside, then
    renamed). A worker that finds it claimed waits for it, or for the builder's failure mark,
    and then builds its own if there is no file: a builder that failed leaves the others to
    fail or pass on their own."""

    WAIT = 600  # seconds; the builder's set-up takes ~4 s of CPU, longer on a loaded machine

    def __init__(self, folder: Path, call_command):
        self.real = call_command  # django.core.management's, put back once the database is made
        self.file = folder / "seeded.sqlite3"
        self.failed = folder / "seeded.failed"
        self.restored = False
        self.migrated = False
        try:
            os.close(os.open(folder / "seeded.claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            self.builder = True
        except FileExistsError:
            self.builder = False

    def call_command(self, *args, **options):
        """django.core.management.call_command until the test database is made: its first
        `migrate` is the test database's."""
        if args[:1] != ("migrate",) or self.migrated:
            return self.real(*args, **options)
        self.migrated = True
        if not self.builder and self._wait():
            import sqlite3

            from django.db import connection

            connection.ensure_connection()
            source = sqlite3.connect(self.file)
            try:
                source.backup(connection.connection)
            finally:
                source.close()
            self.restored = True
            return None
        return self.real(*args, **options)

    def _wait(self) -> bool:
        import time

        deadline = time.monotonic() + self.WAIT
        while time.monotonic() < deadline:
            if self.file.exists():
                return True
            if self.failed.exists():
                return False
            time.sleep(0.05)
        return False

    def write(self, connection) -> None:
        import sqlite3

        aside = self.file.with_suffix(".part")
        target = sqlite3.connect(aside)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        os.replace(aside, self.file)

    def fail(self) -> None:
        if self.builder:
            self.failed.touch()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings, tmp_path_factory):
    """Run by pytest-django before it makes the test database: on SQLite on a pytest-xdist
    worker, the migrations of that set-up go through _SharedSeed."""
    import django.core.management

    global _shared_seed
    if not os.environ.get("PYTEST_XDIST_WORKER") or _vendor() != "sqlite":
        yield
        return
    real = django.core.management.call_command
    shared = _shared_seed = _SharedSeed(tmp_path_factory.getbasetemp().parent, real)
    # create_test_db imports call_command from there as it runs; django_db_setup puts the real
    # one back as soon as the database is made.
    django.core.management.call_command = shared.call_command
    try:
        yield
    finally:
        django.core.management.call_command = real


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Every test database starts with the source documents loaded, as `make run` does."""
    import sqlite3

    import django.core.management
    from django.db import connection

    from kpitrack.sources import load_folder

    global _seeded_copy
    shared = _shared_seed
    if shared is not None:
        django.core.management.call_command = shared.real
    with django_db_blocker.unblock():
        if shared is None or not shared.restored:
            load_folder(SEED)
            if shared is not None and shared.builder:
                connection.ensure_connection()
                shared.write(connection)
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            _seeded_copy = sqlite3.connect(":memory:", check_same_thread=False)
            connection.connection.backup(_seeded_copy)


def seeded():
    """For a transactional test: the site as it starts, the database with the source documents
    loaded and no files, whether or not a transactional test before emptied the database or
    wrote files. On SQLite the copy django_db_setup kept is written back (milliseconds, where
    loading the documents again after a flush took ~1.2 s of CPU); on PostgreSQL they are loaded
    again (idempotent).

    The files go because the copy brings back the very rows and versions an earlier test had:
    a report it stored would be this test's stored export (the same key), served without the
    job the test expects."""
    import shutil

    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from kpitrack.sources import load_folder

    media = Path(settings.MEDIA_ROOT)
    if media.is_dir():
        for entry in media.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    if _seeded_copy is not None and connection.vendor == "sqlite":
        connection.ensure_connection()
        _seeded_copy.backup(connection.connection)
        # A flush made the content types anew, with other ids, and they are cached by id.
        ContentType.objects.clear_cache()
    else:
        load_folder(SEED)


# How many rows_for_the_module() transactions are open (see there).
_shared_rows_open = 0


@contextmanager
def rows_for_the_module(django_db_blocker):
    """For a module-scoped fixture that writes rows every test of the module reads (Django's
    setUpTestData, for pytest): the rows are written once, in a transaction rolled back when the
    module's tests are done. pytest-django runs each test in a savepoint inside it, so a test's
    own writes are still gone before the next test. The fixture should hand tests the rows' ids
    and a function fixture read them afresh, so that no test sees another's Python objects.

    Transactional tests (transaction=True, live_server) commit and flush: they cannot run inside
    this transaction and must build their rows themselves (the guard below says so)."""
    from django.db import transaction

    global _shared_rows_open
    with django_db_blocker.unblock(), transaction.atomic():
        _shared_rows_open += 1
        try:
            yield
        finally:
            _shared_rows_open -= 1
            transaction.set_rollback(True)


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)):
        return True
    return bool(
        {"transactional_db", "live_server", "django_db_reset_sequences"}.intersection(
            getattr(item, "fixturenames", ())
        )
    )


# Set once a transactional test has started: its teardown empties the database, seed included.
_flushed = False


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """pytest-django runs the database tests before the transactional ones; a worker of
    pytest-xdist must too (_Workers): a database test after a flush would find no seed."""
    global _flushed
    if _is_transactional(item):
        _flushed = True
    elif _flushed and (item.get_closest_marker("django_db") or "db" in item.fixturenames):
        pytest.fail(
            "a database test runs after a transactional test emptied the database (tests out "
            "of pytest-django's order: see _Workers in tests/conftest.py)",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _transactional_tests_outside_shared_rows(request):
    if _shared_rows_open and _is_transactional(request.node):
        pytest.fail(
            "a transactional test runs inside rows_for_the_module()'s transaction: give it rows "
            "of its own (as tests/performance/test_postgres_concurrency.py builds its workflow)",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the site's default language: a test-client request leaves the language
    it negotiated active in the thread (LocaleMiddleware never resets it), which would leak into
    the next test that renders text without a request."""
    from django.utils import translation

    translation.deactivate()


def run_commit_work_now():
    """Runs what kpitrack.core.writes scheduled for commit (the stored outcomes' refresh), as a
    commit would, for rows written in a transaction that never commits: a test's, or a module's
    shared rows (whose dashboards would otherwise start with nothing stored)."""
    from django.db import connection

    from kpitrack.core.writes import Flush

    for entry in [e for e in connection.run_on_commit if isinstance(e[1], Flush)]:
        connection.run_on_commit.remove(entry)
        entry[1]()


def make_alice():
    """alice, or the one a module's shared rows already hold (rows_for_the_module)."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    existing = User.objects.filter(username="alice").first()
    return existing or User.objects.create_superuser("alice", "alice@example.org", "alice-password")


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

    base = list(connection.savepoint_ids)
    exit_atomic = Atomic.__exit__

    def exit_and_commit(self, exc_type, exc_value, traceback):
        result = exit_atomic(self, exc_type, exc_value, traceback)
        if exc_type is None and connection.savepoint_ids == base:
            run_commit_work_now()
        return result

    monkeypatch.setattr(Atomic, "__exit__", exit_and_commit)


@pytest.fixture
def alice(django_user_model):
    """An administrator (staff + superuser)."""
    return make_alice()


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
    """Screenshots and page images to look at: test-artifacts/, or test-artifacts/postgresql/ on
    PostgreSQL so that the two passes of .ci/run never write the same file."""
    folder = ARTIFACTS if _vendor() == "sqlite" else ARTIFACTS / _vendor()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def _cast_rows(django_db_setup, django_db_blocker):
    """The cast's rows, written once per test module (rows_for_the_module)."""
    from .roles import build_cast

    with rows_for_the_module(django_db_blocker):
        ids = build_cast().ids()
        run_commit_work_now()
        yield ids


@pytest.fixture
def cast(_cast_rows, db):
    """One user per role in nia (tests/roles.py): cast["staff"], cast["planner"], …"""
    from .roles import read_cast

    return read_cast(_cast_rows)


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, serving static files from the apps' and STATICFILES_DIRS'
    folders as `runserver` does. pytest-django does so only when INSTALLED_APPS names
    "django.contrib.staticfiles"; kpitrack installs it through its own AppConfig
    (kpitrack/staticfiles.py), so pytest-django's would serve STATIC_ROOT alone: an htmx or
    Swagger UI file would answer 404 unless collectstatic had run first (in CI, `make serve`'s
    check beside the passes did)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from pytest_django.live_server_helper import LiveServer

    addr = (
        request.config.getvalue("liveserver")
        or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    server = LiveServer(addr, start=False)
    server.thread.static_handler = StaticFilesHandler
    server.start()
    yield server
    server.stop()
