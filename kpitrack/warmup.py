"""What a web worker would otherwise build in the first request of each kind it answers, built as
it starts (kpitrack/gunicorn.conf.py's post_worker_init).

Measured with `bench/requests.py --first` (docs/benchmarks.md, "A worker's first requests"): a
new worker's first request took 40-120 ms against 2-12 ms for the next, and under bench/load.py
each of five workers meets each page for a first time, so an endpoint asked for ten times in a
run (the report's start) had its p95 set by them. Most of it was Django's lazily built state,
once per process: the URL reverse dictionary (once per language: 30 ms each), each template's
compiled form, each language's translation catalog, and modules imported inside functions."""

import logging
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.urls import get_resolver
from django.utils import translation

log = logging.getLogger("kpitrack.warmup")


def warm_worker() -> None:
    from kpitrack.jobs import runners
    from kpitrack.reports import exports

    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 - read for its side effect: every view imported
    for code, _name in settings.LANGUAGES:
        with translation.override(code):  # the language's catalog, loaded
            resolver.reverse_dict  # noqa: B018 - populated per language, on first use
    templates()
    exports.warm()  # imported above, with the job runners: modules pages import on first use
    runners.warm()
    database()


def templates() -> int:
    """Compiles every template of the project's folders into the cached loader; returns how
    many. A template that does not compile is logged, not raised: the worker must start, and
    the page that uses it answers with its error as it would have."""
    compiled = 0
    for folder in settings.TEMPLATES[0]["DIRS"]:
        root = Path(folder)
        for path in sorted(root.rglob("*.html")):
            name = path.relative_to(root).as_posix()
            try:
                get_template(name)
            except (TemplateDoesNotExist, TemplateSyntaxError):
                log.exception("template %s not compiled as the worker started", name)
                continue
            compiled += 1
    return compiled


def database() -> None:
    """Opens this worker's database connection (its pool's, which it keeps) and has the
    server read the tables a report's key joins (exports.data_version, for no agency): a
    server process plans its first query of a table only after reading the table's catalog,
    7 ms for that query in a new connection against 2 ms after. A database that cannot be
    reached leaves it to the first request, which answers 503 as it would have."""
    from kpitrack.reports import exports

    if connection.vendor != "postgresql":
        return  # SQLite plans without a server's catalog to read, and a file is opened at once
    try:
        exports.data_version(exports.PRINTED_MODELS, [0])
    except DatabaseError:
        log.warning("database not reached as the worker started", exc_info=True)
    finally:
        connection.close()
