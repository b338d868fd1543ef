"""Rows written in bulk, with their django-simple-history rows, from plain dicts.

For the one write that handles thousands of rows at once (a workbook of a whole agency's
quarter): Django's `bulk_create` and simple-history's `bulk_create_with_history` build a model
instance per row and per history row and prepare every value of each through the field, which
measured several times the cost of everything else in the import. Here a value goes through its
field's `get_db_prep_save` only where the database needs a conversion (dates, JSON; decimals
only on a backend that adapts them); text, integers and Decimals pass as they are. The caller
has validated every value already.

The history rows are what simple-history writes for a save: every tracked field, when, who,
why, and "+" for a new row or "~" for a change.
"""

import functools
import gc
import threading
from collections.abc import Hashable, Iterable, Sequence
from contextlib import contextmanager
from decimal import Decimal
from itertools import chain
from operator import itemgetter

from django.db import connection, models
from django.db.backends.base.operations import BaseDatabaseOperations

from . import writes

# Values these fields hold are what the database driver takes as they are.
_AS_IS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.AutoField,
    models.BigAutoField,
)


def _preparer(field: models.Field):
    """None where the value goes to the database as it is; else a conversion that remembers
    what it converted within one statement (a batch repeats its dates and empty layouts)."""
    target = field.target_field if field.is_relation else field
    if isinstance(target, _AS_IS):
        return None
    seen = {}
    # A figure is a Decimal already, checked by the service; where the backend takes a
    # Decimal as it is, preparing it would only copy it. Since Django 5.0 the base method
    # returns the value unchanged and neither SQLite's nor PostgreSQL's overrides it (4.2's
    # formatted it to the field's places: this check would then fall back to the field).
    decimals_as_is = isinstance(target, models.DecimalField) and (
        type(connection.ops).adapt_decimalfield_value
        is BaseDatabaseOperations.adapt_decimalfield_value
    )

    def prepare(value):
        if decimals_as_is and type(value) is Decimal and value.is_finite():
            return value
        # Unhashable values (a JSON dict) are remembered by identity: rows built from one
        # template share the object.
        key = (type(value), value) if getattr(value, "__hash__", None) else id(value)
        if key not in seen:
            seen[key] = field.get_db_prep_save(value, connection)
        return seen[key]

    return prepare


def _columns(fields: Sequence[models.Field]):
    return [(f.attname, f.column, _preparer(f)) for f in fields]


def _params(rows: Iterable[dict], columns, tail: tuple = ()) -> list[Sequence]:
    names = [attname for attname, _column, _prepare in columns]
    get = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    converted = [(n, prepare) for n, (_a, _c, prepare) in enumerate(columns) if prepare]
    if not converted:
        return [get(row) + tail for row in rows]
    params = []
    for row in rows:
        values = list(get(row))
        for n, prepare in converted:
            value = values[n]
            if value is not None:
                values[n] = prepare(value)
        values.extend(tail)
        params.append(values)
    return params


def _execute(sql: str, params: list[tuple]):
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def defaults(model: type[models.Model]) -> dict:
    """Every concrete field's default (what Django would store for a field left unset), by
    attname: the start of a new row. Callable defaults are called now, once."""
    return {f.attname: f.get_default() for f in model._meta.concrete_fields if not f.primary_key}


# Rows per INSERT statement: well under SQLite's 32,766 parameters for the widest table here.
BATCH = 500
# Rows per statement of an executemany (see _insert).
CHUNK = 100


def insert(model: type[models.Model], rows: list[dict], *, touches: Iterable[Hashable]) -> list:
    """New rows of `model`, each a dict of every concrete field but the primary key; returns
    their primary keys in the order of `rows`. Multi-row INSERT … RETURNING, whose rows come
    back in the order given on SQLite 3.35+ and PostgreSQL, as Django's bulk_create relies on.

    `touches`: what the rows touch (kpitrack.core.writes.touch), which a bulk statement cannot
    work out per row the way `writes.save` does; required, so it is said, if only as nothing.
    """
    writes.touch(touches)
    if not rows:  # (nothing to prepare: a single save often has no new row of some kind)
        return []
    if not connection.features.can_return_rows_from_bulk_insert:
        raise NotImplementedError("needs INSERT … RETURNING (SQLite 3.35+ or PostgreSQL)")
    columns = _columns([f for f in model._meta.concrete_fields if not f.primary_key])
    names = [column for _a, column, _p in columns]
    return _insert(model._meta.db_table, names, _params(rows, columns), model._meta.pk.column)


def _insert(table: str, names: list[str], params: list[Sequence], returning: str = "") -> list:
    """Multi-row INSERTs of `params` into the columns `names`; returns the `returning` column
    of each row. Rows that return nothing go as one statement of CHUNK rows run over all full
    chunks: Django's SQLite backend rewrites the placeholders of every statement it is given
    with a regular expression, which for a statement of thousands of them cost more than
    SQLite's own work; executemany rewrites once (measured twice as fast as either a statement
    per 500 rows or executemany of one row)."""
    quote = connection.ops.quote_name
    head = "INSERT INTO {} ({}) VALUES ".format(quote(table), ", ".join(map(quote, names)))
    one = "({})".format(", ".join(["%s"] * len(names)))
    tail = f" RETURNING {quote(returning)}" if returning else ""
    size = BATCH if returning else CHUNK
    full = 0 if returning else len(params) // size * size
    returned = []
    with connection.cursor() as cursor:
        if full:
            cursor.executemany(
                head + ", ".join([one] * size),
                [
                    tuple(chain.from_iterable(params[start : start + size]))
                    for start in range(0, full, size)
                ],
            )
        for start in range(full, len(params), size):
            batch = params[start : start + size]
            cursor.execute(
                head + ", ".join([one] * len(batch)) + tail,
                list(chain.from_iterable(batch)),
            )
            if returning:
                returned.extend(value for (value,) in cursor.fetchall())
    return returned


def update(
    model: type[models.Model],
    rows: list[dict],
    names: Sequence[str],
    *,
    touches: Iterable[Hashable],
) -> None:
    """Set the fields `names` of each row (a dict with the primary key and those fields);
    `touches` as for `insert`."""
    writes.touch(touches)
    if not rows:
        return
    meta = model._meta
    columns = _columns([meta.get_field(name) for name in names])
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(meta.db_table),
        ", ".join(f"{quote(c)} = %s" for _a, c, _p in columns),
        quote(meta.pk.column),
    )
    pk = meta.pk.attname
    _execute(sql, [(*p, row[pk]) for p, row in zip(_params(rows, columns), rows, strict=True)])


@functools.cache
@functools.cache
def historical_model(model: type[models.Model]) -> type[models.Model]:
    """simple-history's model of `model`. `model.history` builds a manager class anew at each
    access (~0.2 ms), which a write of many rows or a download's key (a dozen tables) would pay
    again and again: read once per process."""
    return model.history.model


def history(
    model: type[models.Model], rows: list[dict], *, new: bool, user_id, reason: str, when
) -> None:
    """simple-history's rows for `rows` (each every tracked field of `model`, by attname, the
    primary key included), as saved by `user_id` for `reason` at `when`."""
    if not rows:
        return
    historical = historical_model(model)
    tracked = {f.attname for f in historical.tracked_fields}
    fields = [f for f in historical._meta.concrete_fields if f.attname in tracked]
    logged = ("history_date", "history_type", "history_change_reason", "history_user")
    extra = [historical._meta.get_field(name) for name in logged]
    columns = _columns(fields)
    tail = (extra[0].get_db_prep_save(when, connection), "+" if new else "~", reason, user_id)
    names = [c for _a, c, _p in columns] + [f.column for f in extra]
    _insert(historical._meta.db_table, names, _params(rows, columns, tail))


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


@contextmanager
def paused_gc():
    """Python's cycle collector off while a large batch is read and written, back as it was
    afterwards (also when threads overlap: the last one out restores it).

    A workbook of thousands of rows keeps tens of thousands of small objects alive; every full
    collection walks all of them, which measured a third of the import's time. The batch makes
    no reference cycles of its own, and whatever cycles others make meanwhile are collected
    once the collector is back.
    """
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


# --- statistics after a bulk load (issue 16) ---------------------------------------------------

# A workbook with at least this many changed rows is a bulk load: its tables are analysed after.
ANALYZE_AFTER_ROWS = 1000


def analyze(*models_filled: type[models.Model], vacuum: bool = False):
    """`ANALYZE` the tables of `models_filled` (and their history tables) on PostgreSQL, so the
    planner knows their size right after a bulk load instead of when autovacuum next passes: a
    fresh `generate_demo` without statistics made the report's prefetches scan whole tables.
    SQLite plans without them; nothing is done there.

    `vacuum` (the management commands that load a whole database) makes it `VACUUM (ANALYZE)`
    outside a transaction: the vacuum marks the freshly written pages all-visible, without
    which PostgreSQL cannot read a covering index alone (the dashboards' overview reads a
    ministry's outcomes that way, issue 16) until autovacuum passes. Inside a transaction (a
    caller's `atomic`, a test) VACUUM cannot run and ANALYZE alone is done. A web request's
    import leaves the vacuum to autovacuum: it would wait on the whole tables' indexes."""
    if connection.vendor != "postgresql":
        return
    tables = []
    for model in models_filled:
        tables.append(model._meta.db_table)
        history = getattr(model, "history", None)
        if history is not None and hasattr(history, "model"):
            tables.append(history.model._meta.db_table)
    command = "VACUUM (ANALYZE)" if vacuum and not connection.in_atomic_block else "ANALYZE"
    with connection.cursor() as cursor:
        for table in dict.fromkeys(tables):
            cursor.execute(f"{command} {connection.ops.quote_name(table)}")
