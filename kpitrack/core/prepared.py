"""Reads whose SQL is built once per shape, then run again with other values.

Django builds a query's SQL anew each time it runs one: resolving each lookup and join, then
compiling every expression, about 0.2–0.4 ms of CPU for a read of a few joins, more than most
of them take to run. The reads every API request makes (the memberships, an indicator and its
rows, the policy, the period) differ from one request to the next only in their values.

`Prepared(build)` asks `build` for its queryset once per database, with a marker standing for
each argument; compiles it, notes where each marker landed among the parameters, and from then
on runs that SQL with the arguments in the markers' places, their values converted as Django
converts them (`from_db_value`, the backend's converters). The SQL is Django's own, so what
is read is the same; only its building is skipped.

An argument is an int or a str (one parameter), a list, tuple or set of them (one parameter
each: the shape is its length), or None or a bool (not parameters: part of the shape, handed
to `build` as they are, so it may leave a filter out). `build` must put each argument into
the query as a parameter as it is (an exact or IN lookup, not `contains` or a date); a marker
found anywhere else, or not found, refuses to prepare the query (ValueError). An empty list
runs the queryset as Django would (an IN of nothing is decided before SQL).
"""

from collections.abc import Callable
from itertools import count

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models.query import FlatValuesListIterable, QuerySet, ValuesListIterable
from django.db.transaction import TransactionManagementError

# Markers: two sets, the query compiled with each; a parameter that differs between the two is
# an argument's. An int marker is a value every integer column holds (a small positive one:
# Django decides a lookup of a value out of its column's range before any SQL).
_MARKS = ((30_000, "\x00prepared-a-"), (31_000, "\x00prepared-b-"))
# Markers per query at most (one set must stay below the other); past it, built every time.
MAX_MARKS = 1_000
# Shapes kept per query: each length of a list is one. Past it, a shape is built every time.
MAX_SHAPES = 64


class _Compiled:
    __slots__ = ("sql", "params", "slots", "converters", "width", "flat", "locks")

    def __init__(self, sql, params, slots, converters, width, flat, locks):
        self.sql = sql
        self.params = params
        self.slots = slots  # (position among params, argument index, index within it or None)
        self.converters = converters  # (column, converters, expression)
        self.width = width  # columns to keep, where Django selected more (or None)
        self.flat = flat
        self.locks = locks


def _shape(args) -> tuple:
    shape = []
    for arg in args:
        if arg is None or isinstance(arg, bool):
            shape.append(arg)
        elif isinstance(arg, int | str):
            shape.append(type(arg))
        elif isinstance(arg, list | tuple | set | frozenset):
            shape.append((len(arg),))
        else:
            raise TypeError(
                f"a prepared query's argument is an int, a str or a list of them: {arg!r}"
            )
    return tuple(shape)


def _marks(args, first: int, prefix: str) -> tuple[list, dict]:
    """The arguments `build` is given to compile (markers for values) and what each marker
    stands for: (argument index, index within it or None)."""
    numbers = count()
    given, where = [], {}

    def mark(value, i, j):
        n = next(numbers)
        marker = first + n if isinstance(value, int) else f"{prefix}{n}"
        where[marker] = (i, j)
        return marker

    for i, arg in enumerate(args):
        if arg is None or isinstance(arg, bool):
            given.append(arg)
        elif isinstance(arg, int | str):
            given.append(mark(arg, i, None))
        else:
            given.append([mark(value, i, j) for j, value in enumerate(arg)])
    return given, where


def model_columns(model, prefix: str = "") -> tuple[str, ...]:
    """Every column of `model` in its order (a relation's through `prefix`, e.g. "goal__"): what
    a prepared read selects to make instances again (`model_from_row`)."""
    return tuple(f"{prefix}{field.attname}" for field in model._meta.concrete_fields)


def model_from_row(model, values):
    """The `model` that the values of its `model_columns` make, as Django makes one it has read."""
    return model.from_db(DEFAULT_DB_ALIAS, None, values)


class Prepared:
    """A read (a `values_list` queryset, flat or not, that `build(*args)` answers) whose SQL is
    built once per database and shape. Calling it answers the rows as a list of tuples (of
    values, with `flat`), as `list(build(*args))` would."""

    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._compiled: dict[tuple, _Compiled] = {}

    def __call__(self, *args) -> list:
        shape = _shape(args)
        sizes = [s[0] for s in shape if isinstance(s, tuple)]
        if 0 in sizes or len(args) + sum(sizes) > MAX_MARKS:
            return list(self.build(*args))
        connection = connections[DEFAULT_DB_ALIAS]
        key = (connection.vendor, shape)
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) >= MAX_SHAPES:
                return list(self.build(*args))
            compiled = self._compiled[key] = self._compile(args, connection)
        return self._run(compiled, args, connection)

    def _compile(self, args, connection) -> _Compiled:
        compiled = []
        for first, prefix in _MARKS:
            given, where = _marks(args, first, prefix)
            queryset = self.build(*given)
            if queryset.db != DEFAULT_DB_ALIAS:
                raise ValueError("a prepared query reads the default database")
            if queryset._iterable_class not in (ValuesListIterable, FlatValuesListIterable):
                raise ValueError("a prepared query is a values_list()")
            compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
            compiled.append((*compiler.as_sql(), where))
        (sql, params, where), (other_sql, other_params, other_where) = compiled
        if sql != other_sql or len(params) != len(other_params):
            raise ValueError("an argument is written into the SQL")
        slots, found = [], set()
        for position, (param, other) in enumerate(zip(params, other_params, strict=True)):
            if param == other:
                continue
            # (A marker may be there twice: an argument used by both SELECTs of a union.)
            if param not in where or other_where.get(other) != where[param]:
                raise ValueError("an argument is changed by its lookup")
            found.add(param)
            slots.append((position, *where[param]))
        if found != where.keys():
            raise ValueError("an argument is not a parameter of the query")
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        converters = [
            (column, convs, expression)
            for column, (convs, expression) in compiler.get_converters(fields).items()
        ]
        return _Compiled(
            sql,
            tuple(params),
            tuple(slots),
            tuple(converters),
            compiler.col_count if compiler.has_extra_select else None,
            queryset._iterable_class is FlatValuesListIterable,
            # As Django checks it: only where the database locks rows (not SQLite).
            queryset.query.select_for_update and connection.features.has_select_for_update,
        )

    @staticmethod
    def _run(compiled: _Compiled, args, connection) -> list:
        if compiled.locks and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(compiled.params)
        lists = {}
        for position, i, j in compiled.slots:
            if j is None:
                params[position] = args[i]
            else:
                if i not in lists:
                    lists[i] = list(args[i])
                params[position] = lists[i][j]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.width is not None:
            rows = [row[: compiled.width] for row in rows]
        if compiled.converters:
            converted = []
            for row in rows:
                row = list(row)
                for column, convs, expression in compiled.converters:
                    value = row[column]
                    for converter in convs:
                        value = converter(value, expression, connection)
                    row[column] = value
                converted.append(tuple(row))
            rows = converted
        if compiled.flat:
            return [row[0] for row in rows]
        return [tuple(row) for row in rows]
