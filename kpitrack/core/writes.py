"""The one way a row is written, for both apps: a reason where one is owed, a field whitelist,
an attributed save or delete (who and why ride into the history row), child rows kept in step
with a parent, and one answer to a constraint the checks missed.

Derived data (the dashboards' stored outcomes) is kept current here, not at each call site:
every save and delete records what it touched, as the app registered for the model with
`scope`, in a registry of the current transaction; once the transaction commits, the handler
registered with `on_commit` gets everything touched, once. A rolled-back transaction touched
nothing (its callback is dropped with it). Writes that bypass `save`/`delete` (bulk statements,
kpitrack.core.bulk) name what they touch with `touch`.

The core imports no app: the apps say what their models touch, the core only carries it."""

from collections.abc import Callable, Hashable, Iterable, Mapping
from functools import wraps

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from .versioning import attribute

# --- refusals ----------------------------------------------------------------------------------


def require_reason(reason: str | None) -> str:
    """A change to existing data says why; the reason, stripped."""
    if not reason or not reason.strip():
        raise ValidationError(
            {
                "reason": ValidationError(
                    _("修改既有資料時，請說明修改理由。"), code="reason_required"
                )
            }
        )
    return reason.strip()


def check_fields(given: Iterable[str], allowed: Iterable[str]) -> None:
    """Only fields a service offers may be written through it (input can come from the API)."""
    unknown = set(given).difference(allowed)
    if unknown:
        raise ValidationError(
            _("未知的欄位：%(fields)s") % {"fields": "、".join(sorted(unknown))}, code="unknown"
        )


def changed(obj: models.Model, values: Mapping) -> list[str]:
    """The names in `values` whose value differs from `obj`'s."""
    return [name for name, value in values.items() if getattr(obj, name) != value]


def row_error(label: str, exc: ValidationError) -> ValidationError:
    """Names the inline row a message belongs to, so a list of them stays readable."""
    return ValidationError([f"「{label}」：{message}" for message in exc.messages], code="row")


def atomic(func):
    """One transaction per write; a constraint the checks missed (two writers racing past
    `validate_unique`) is a refusal with a message, not a 500. The IntegrityError is caught
    outside the block, whose savepoint has rolled back."""

    @wraps(func)
    def write(*args, **kwargs):
        try:
            with transaction.atomic():
                return func(*args, **kwargs)
        except IntegrityError as exc:
            raise ValidationError(
                _("資料與既有資料重複或衝突，未儲存任何變更。"), code="integrity"
            ) from exc

    return write


# --- saving ------------------------------------------------------------------------------------


def save(obj: models.Model, *, user, reason: str, model_clean: bool = True) -> models.Model:
    """Validate, attribute and save `obj`; records what it touches. `model_clean=False` leaves
    the model's own `clean` (rules across rows) to the caller, once its child rows are written."""
    if model_clean:
        obj.full_clean()
    else:
        obj.clean_fields()
        obj.validate_unique()
        obj.validate_constraints()
    attribute(obj, user=user, reason=reason)
    obj.save()
    touched(obj)
    return obj


def model_update(
    obj: models.Model, *, data: Mapping, user, reason: str, fields: Iterable[str] | None = None
) -> tuple[models.Model, list[str]]:
    """Set `data` on `obj` (only `fields`, when given) and save it; returns the object and the
    names that changed. It saves even when nothing changed: a versioned update has claimed its
    version, and its history row says who confirmed it and why. What `obj` touched before the
    change is touched too, so a row moved to another parent refreshes where it left."""
    if fields is not None:
        check_fields(data, fields)
    names = assign(obj, data)
    save(obj, user=user, reason=reason)
    return obj, names


def assign(obj: models.Model, data: Mapping) -> list[str]:
    """Set `data` on `obj` unsaved, touching what `obj` touched before; the names changed."""
    touched(obj)
    names = changed(obj, data)
    for name, value in data.items():
        setattr(obj, name, value)
    return names


def delete(obj: models.Model, *, user, reason: str) -> None:
    """Delete one row (never a queryset delete) so it leaves an attributed history row."""
    touched(obj)
    attribute(obj, user=user, reason=reason)
    obj.delete()


# Orders being swapped pass through here, so two rows never hold the same order mid-save.
_PARKED_ORDER = 2_000_000_000


def _order_is_unique(model: type[models.Model]) -> bool:
    meta = model._meta
    groups = [set(c.fields) for c in meta.constraints if isinstance(c, models.UniqueConstraint)]
    groups += [set(group) for group in meta.unique_together]
    return any("order" in group for group in groups)


def sync_children(
    *,
    model: type[models.Model],
    parent_field: str,
    parent: models.Model,
    rows: Iterable[Mapping],
    fields: Iterable[str],
    user,
    reason: str,
    complete: bool = False,
    match: str | None = None,
    prepare: Callable[[models.Model | None, dict], None] | None = None,
    label: Callable[[models.Model], str] | None = None,
    nested: str | None = None,
    children: Callable[[Mapping, models.Model], None] | None = None,
) -> list[models.Model]:
    """Apply `rows` to `parent`'s children; returns the rows kept or added, in input order.

    A row names an existing child by `pk` (or `id`) and changes it, or, without one, changes the
    child whose `match` field has the row's value or adds a child; `{"pk": …, "delete": True}`
    deletes one. With `complete`, `rows` is the whole new list: children not named are deleted;
    otherwise they are left as they are. A row naming a child that is not the parent's is
    refused. A child whose values are unchanged is not saved again (no empty history row).

    `prepare(obj, row)` may adjust a row before it is applied (obj None for a new child);
    `label(obj)` names the row in a refusal; `children(row, obj)` applies the rows nested under
    `nested` after a child is saved. Where `order` is unique among siblings, reordered children
    are first parked out of the way."""
    fields = tuple(fields)
    existing = {obj.pk: obj for obj in model.objects.filter(**{parent_field: parent})}
    for obj in existing.values():
        setattr(obj, parent_field, parent)  # what a child touches is its parent's: no query
    by_match = {getattr(obj, match): obj for obj in existing.values()} if match else {}
    plan: list[tuple[models.Model | None, dict, Mapping]] = []
    doomed = []
    for given in rows:
        row = {k: v for k, v in given.items() if k != nested}
        row_id = row.pop("pk", None)
        row_id = row.pop("id", None) if row_id is None else row_id
        delete_it = row.pop("delete", False)
        check_fields(row, fields)
        if row_id is not None and row_id not in existing:
            raise ValidationError(
                _("要修改的資料已不存在，可能已被其他人刪除；請重新載入後再修改。"), code="gone"
            )
        if row_id is not None:
            obj = existing[row_id]
        else:
            obj = by_match.get(row.get(match)) if match else None
        if delete_it:
            if obj is not None:
                doomed.append(obj)
        else:
            plan.append((obj, row, given))
    if complete:
        kept = {obj.pk for obj, _row, _given in plan if obj is not None}
        doomed += [obj for pk, obj in existing.items() if pk not in kept]
    for obj in doomed:
        delete(obj, user=user, reason=reason)
    if "order" in fields and _order_is_unique(model):
        for n, (obj, row, _given) in enumerate(plan):
            if obj is not None and "order" in row and row["order"] != obj.order:
                obj.order = _PARKED_ORDER + n
                obj.save_without_historical_record(update_fields=["order"])
    saved = []
    for obj, row, given in plan:
        if obj is None or changed(obj, row):
            if prepare is not None:
                prepare(obj, row)
            if obj is None:
                obj = model(**{parent_field: parent}, **row)
            else:
                for name, value in row.items():
                    setattr(obj, name, value)
            try:
                save(obj, user=user, reason=reason)
            except ValidationError as exc:
                if label is None:
                    raise
                raise row_error(label(obj), exc) from None
        if children is not None:
            children(given, obj)
        saved.append(obj)
    return saved


# --- what writes touched, refreshed once on commit ----------------------------------------------

_scopes: dict[type[models.Model], Callable[[models.Model], Iterable[Hashable]]] = {}
_handlers: list[Callable[[set], None]] = []


def scope(model: type[models.Model]):
    """Register what a save or delete of `model` touches: a function of the row giving keys
    (hashable; the handler understands them), e.g. (agency_id, year) pairs. It runs before a
    delete and after a save, and before a `model_update` too (where the row was)."""

    def register(func):
        _scopes[model] = func
        return func

    return register


def on_commit(handler: Callable[[set], None]) -> Callable[[set], None]:
    """Register the function that gets every key a committed transaction touched, once."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def touched(obj: models.Model) -> None:
    resolve = _scopes.get(type(obj))
    if resolve is not None:
        touch(resolve(obj))


class Flush:
    """The one callback a transaction schedules, holding what it touched; tests find it by
    this class."""

    def __init__(self):
        self.keys: set = set()

    def __call__(self):
        keys, self.keys = self.keys, set()
        for handler in _handlers:
            try:
                handler(keys)
            except IntegrityError as exc:
                # Not the write's refusal (that has committed): `atomic` must not say so.
                raise DerivedDataError(f"{handler.__qualname__}: {exc}") from exc


class DerivedDataError(RuntimeError):
    """Derived data could not be refreshed after a commit; the write itself stands
    (`manage.py rebuild_outcomes` recomputes the stored outcomes)."""


def touch(keys: Iterable[Hashable], *, using: str | None = None) -> None:
    """Record `keys` as touched by the current transaction (now, outside one)."""
    keys = set(keys)
    if not keys:
        return
    flush = _scheduled(transaction.get_connection(using))
    if flush is None:
        # The first write of the transaction, or the callback went with a rollback: of the
        # transaction or of the savepoint it was scheduled in, and so of every key it held,
        # since every later key was written inside that savepoint too.
        flush = Flush()
        transaction.on_commit(flush, using=using)
    flush.keys |= keys


def _scheduled(connection) -> Flush | None:
    return next((f for _sids, f, _robust in connection.run_on_commit if isinstance(f, Flush)), None)


def pending(using: str | None = None) -> set:
    """What the current transaction touched so far (for tests and diagnostics)."""
    flush = _scheduled(transaction.get_connection(using))
    return set() if flush is None else set(flush.keys)
