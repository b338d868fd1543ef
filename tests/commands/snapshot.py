"""What a backup must carry over, read from the configured database and MEDIA_ROOT: every row
of every table (history tables included), every media file's and every evidence file's sha256,
and every figure the API answers. The tests read the source in their own process; run as

    DATABASE_URL=… MEDIA_ROOT=… python -m tests.commands.snapshot [--api]

it prints the same for a restored database as JSON, so the two compare as they are."""

import hashlib
import json
import os
import sys
from pathlib import Path


def _plain(value):
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return str(value)


def tables() -> dict[str, list[str]]:
    """Every table's rows (as JSON, in a fixed order)."""
    from django.db import connection

    found = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            found[table] = sorted(
                json.dumps(list(row), default=_plain, ensure_ascii=False)
                for row in cursor.fetchall()
            )
    return found


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def media() -> dict[str, str]:
    from django.conf import settings

    root = Path(settings.MEDIA_ROOT)
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): _sha256(p) for p in sorted(root.rglob("*")) if p.is_file()
    }


def evidence() -> dict[str, str | None]:
    """Each evidence row's file and the sha256 of what is stored for it (None: missing)."""
    from performance.models import Evidence

    return {e.file.name: _sha256(Path(e.file.path)) for e in Evidence.objects.order_by("pk")}


def api_urls() -> list[str]:
    """Every API read of every agency, year, unit and indicator in the database."""
    from budget.models import Agency
    from performance.models import Indicator

    urls = []
    for agency in Agency.objects.order_by("code"):
        years = sorted(
            set(Indicator.objects.filter(goal__agency=agency).values_list("goal__year", flat=True))
        )
        for year in years:
            urls.append(f"/api/v1/achievements/?year={year}&agency={agency.code}")
            for quarter in (1, 2, 3, 4):
                urls.append(f"/api/v1/results/?year={year}&quarter={quarter}&agency={agency.code}")
                urls.append(f"/api/v1/dashboards/{agency.code}/?year={year}&quarter={quarter}")
            urls.append(f"/api/v1/dashboards/{agency.code}/indicators/?year={year}&page_size=200")
            for unit in agency.units.order_by("code"):
                urls.append(f"/api/v1/dashboards/{agency.code}/units/{unit.code}/?year={year}")
            codes = Indicator.objects.filter(goal__agency=agency, goal__year=year)
            for code in sorted(set(codes.values_list("code", flat=True))):
                urls.append(f"/api/v1/dashboards/{agency.code}/indicators/{code}/?year={year}")
    return urls


def api() -> dict[str, list]:
    """Every answer of api_urls() to the first superuser: {url: [status, body]}. Signing in
    writes a session and the user's last_login, so read tables() first."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.filter(is_superuser=True).order_by("pk")[0])
    answers = {}
    for url in api_urls():
        response = client.get(url)
        answers[url] = [response.status_code, response.json()]
    return answers


def take(*, with_api: bool = False) -> dict:
    found = {"tables": tables(), "media": media(), "evidence": evidence()}
    if with_api:
        found["api"] = api()
    return found


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpitrack.settings")
    import django
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()  # the test client's host, "testserver", allowed
    json.dump(take(with_api="--api" in sys.argv), sys.stdout, ensure_ascii=False)
