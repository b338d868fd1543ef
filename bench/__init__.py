"""What the bench scripts share: the generated ministry they measure, and the throwaway
PostgreSQL database they may build it in (loopback servers only)."""

import os
import secrets
import sys
import time
from urllib.parse import urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def postgresql(url: str):
    """(create, drop) for the throwaway database `url` names, through the server's `postgres`
    database; refuses anything but a loopback server and a plain name."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in ("postgres", "postgresql") or parts.hostname not in LOOPBACK:
        sys.exit(f"--database-url must be postgres:// on a loopback host, not {url!r}")
    if not name.replace("_", "").isalnum():
        sys.exit(f"--database-url must name a database (letters, digits, _), not {name!r}")
    admin = parts._replace(path="/postgres").geturl()

    def run(statement):
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)

    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    return (
        lambda: (run(drop), run(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))),
        lambda: run(drop),
    )


def ministry_options(parser, *, agencies: int, indicators: int, years: int) -> None:
    """--agencies, --indicators, --years: the size of the ministry `generate_demo` builds."""
    parser.add_argument("--agencies", type=int, default=agencies)
    parser.add_argument("--indicators", type=int, default=indicators)
    parser.add_argument("--years", type=int, default=years)


def build_ministry(args, *, prefix: str = "demo") -> float:
    """Migrates the database, then generates the ministry `args` ask for (ministry_options);
    answers the seconds `generate_demo` took."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        call_command(
            "generate_demo",
            agencies=args.agencies,
            indicators=args.indicators,
            years=args.years,
            prefix=prefix,
            stdout=quiet,
        )
    return time.perf_counter() - started


def in_process_settings(database_url: str, *, media_root: str, name: str) -> None:
    """The environment of a bench that serves requests in its own process (Django's test
    client): DEBUG off, `database_url`, files under `media_root`, errors only in the log, and no
    cache, broker or job setting from the caller's environment (each process caches in its own
    memory, jobs run in its pool). Set before django.setup()."""
    os.environ.update(
        KPITRACK_ENV_FILE="",
        DEBUG="0",
        SECRET_KEY=f"bench-{name}-" + secrets.token_urlsafe(40),
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="kpitrack.settings",
        MEDIA_ROOT=media_root,
        LOG_LEVEL="ERROR",
    )
    for variable in list(os.environ):
        if variable.startswith(("REDIS", "CELERY", "JOBS_")):
            del os.environ[variable]
