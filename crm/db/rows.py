"""Database helpers shared by the services."""

import datetime as dt
import functools
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, connections, models, router
from django.db.models import NOT_PROVIDED, Lookup, Model, UUIDField

from crm.db.postgresql.base import PreparedSQL


def is_unique_violation(exc: IntegrityError, *, constraint: str, column: str) -> bool:
    """True when `exc` is the violation of `constraint` (PostgreSQL names it; SQLite names the
    columns instead)."""
    text = str(exc)
    return constraint in text or (f".{column}" in text and "UNIQUE" in text.upper())


def relax_commit() -> None:
    """PostgreSQL: the current transaction's commit does not wait for its WAL flush. Only for
    work that is safe to lose or repeat after a crash (a batch a rerun restores, a relay batch
    whose events go again with the same ids): never for an API write. A crash can lose such a
    transaction whole, never a part of it, and the saving is a disk flush per transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


@UUIDField.register_lookup
@models.BigIntegerField.register_lookup
class AnyOf(Lookup):
    """`id__any_of=[...]` (UUID and big integer columns: ids, the outbox's `seq`): a list of
    ids as one array parameter on PostgreSQL
    (`id = ANY(%s)`), not a thousand placeholders the driver parses for every query (psycopg
    caches only short statements: a 1,000-id `IN` cost ~4 ms per query to send); elsewhere the
    usual `IN (...)`."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_postgresql(self, compiler, connection):
        # The array's text form (`array_param`), cast by the statement: psycopg's own list
        # adaptation inspects and dumps each element (an admin search's 1,000 ids, three
        # times a page: 7 ms of its ~60).
        lhs, lhs_params = self.process_lhs(compiler, connection)
        cast = array_type(self.lhs.output_field, connection)
        return f"{lhs} = ANY(%s::{cast})", [*lhs_params, array_param(list(self.rhs))]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [self.lhs.output_field.get_db_prep_value(v, connection) for v in self.rhs]
        if not values:
            return "0 = 1", lhs_params
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


@dataclass(frozen=True)
class Row:
    """One row to insert without going through a model instance's `save()`: its model and
    column values by attribute name (`holder_id`, not `holder`); a field left out gets its
    Python default, as `Model()` would give it; an auto field and a field with a database
    default are left to the database (`insert_fields`)."""

    model: type[Model]
    values: dict[str, Any]

    def __post_init__(self) -> None:
        # Every writer (`write_rows`, the importer's COPY) builds rows here: a value for a
        # column the insert leaves out would be dropped without a word.
        _refuse_database_columns(self.model, self.values)

    def value(self, field) -> Any:
        """What `field` writes for this row: its given value, or the field's default."""
        name = field.attname
        return self.values[name] if name in self.values else field.get_default()

    @classmethod
    def of_new(cls, obj: Model) -> "Row":
        """The row of a new, unsaved instance (each value as `save()` would write it). Its
        columns with a database default must hold that default (a record is created live,
        at version 1): the insert leaves them out."""
        model = type(obj)
        _refuse_database_columns(
            model,
            [f.attname for f in left_to_database(model) if getattr(obj, f.attname) != f.db_default],
        )
        return cls(
            model, {field.attname: field.pre_save(obj, True) for field in insert_fields(model)}
        )


@functools.cache
def left_to_database(model: type[Model]) -> tuple:
    """The fields of `model` with a database default (`db_default`): an insert leaves them
    out and the database fills them in (see `insert_fields`)."""
    return tuple(
        field for field in model._meta.concrete_fields if field.db_default is not NOT_PROVIDED
    )


def _refuse_database_columns(model: type[Model], names: Iterable[str]) -> None:
    """ValueError if `names` (attribute names given for a new row) include a column of
    `left_to_database(model)`."""
    for field in left_to_database(model):
        if field.attname in names:
            raise ValueError(f"{model.__name__}.{field.attname} is the database's to set")


@functools.cache
def insert_fields(model: type[Model]) -> tuple:
    """The columns an insert writes, once per model: every concrete field but an auto id and
    those with a database default (`db_default`), which a row never gives: the database
    fills them in (the audit entry's chain columns, set later by the sealer). Each column
    left out is a parameter fewer in every insert of the model."""
    left_out = left_to_database(model)
    return tuple(
        field
        for field in model._meta.concrete_fields
        if not isinstance(field, _AUTO) and field not in left_out
    )


@dataclass(frozen=True)
class Update:
    """The `UPDATE` of one saved instance's row by primary key: the columns of `fields` (by
    attribute name), each value prepared as `save()` prepares it (`pre_save`, then
    `get_db_prep_save`)."""

    obj: Model
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Replace:
    """Make the rows of `model` that belong to one record exactly `rows`:
    `owner` is (the foreign key's attribute name, the record's id), `key` the attribute that
    tells a record's rows apart (a token hash, a pair hash). The record's other rows are
    deleted and the missing ones inserted; a row already stored is left as it is, never
    rewritten. Nothing is read first: on PostgreSQL both are parts of the write's one
    statement (`write_rows`)."""

    model: type[Model]
    owner: tuple[str, Any]
    key: str
    rows: Sequence[Row]


# One part of a write: rows to insert, a row to update, a record's derived rows to replace.
Part = Row | Update | Replace


@dataclass(frozen=True)
class Live:
    """The condition of a write (`write_rows(..., under=Live(...))`): the row of `model` with
    primary key `pk` exists and is live (`deleted_at` NULL) and, when `version` is given, is
    still at that version. The write locks that row (`FOR UPDATE`) until its transaction
    ends, so a change of the record (a delete that checks for live children) and the write
    wait for each other, and the write writes nothing once the record is gone or has changed.
    On PostgreSQL the lock and the check are part of the write's one statement: an alias
    create (under its holder) and a PATCH (of the record at the version it read) are a read
    and that statement, two round trips, where a locking read inside a transaction took four
    (BEGIN, lock, write, COMMIT)."""

    model: type[Model]
    pk: Any
    version: int | None = None


@functools.lru_cache(maxsize=512)
def _statement_sql(alias: str, shape: tuple[tuple, ...]) -> tuple[str, ...]:
    """The statements of a write of this `shape` on database `alias`: on PostgreSQL one, the
    first parts data-modifying CTEs (`WITH w0 AS (UPDATE ...), w1 AS (INSERT ...) INSERT
    ...`), which PostgreSQL runs whole whatever the outer statement reads (foreign keys are
    checked at commit: Django makes them deferrable); elsewhere one per part. A run of several
    rows is one array parameter per column on PostgreSQL (`SELECT * FROM unnest(...)`), so the
    statement's text and parameter count do not grow with the rows: psycopg keeps the parsed
    form of a short statement with few parameters (under 4 KB and 50) and reparses any other
    on every call. Each statement is marked for preparing on the server (`crm.db.postgresql`'s
    `prepared_writes`; other backends ignore the mark): a write of one shape runs again and
    again.

    A shape is a tuple of operations: `("insert", model, count, or_skip)` (`count` rows, or
    `_MANY` as arrays; `or_skip`: a row already stored is skipped), `("update", model,
    attribute names)` (by primary key), `("delete", model, owner attribute, key attribute,
    count)` (the owner's rows whose key is none of `count` keys, `_MANY` as one array), and
    first, for a write conditional on a record (`Live`), `("live", model, at_version)`: the
    record's check (live, and at its version when `at_version`) and lock, on PostgreSQL a
    `live` CTE every other part (insert, update, delete) is conditional on, the statement
    answering whether it found the record (`SELECT EXISTS`); elsewhere a query of its own."""
    db = connections[alias]
    postgresql = db.vendor == "postgresql"
    quote = db.ops.quote_name
    statements = []
    guarded = shape[0][0] == "live"
    # Every part of a guarded write on PostgreSQL: only while the `live` CTE found the record.
    only_live = "EXISTS (SELECT FROM live)" if guarded and postgresql else ""
    and_live = f" AND {only_live}" if only_live else ""  # the same, after a WHERE's own
    for operation, model, *details in shape:
        table = quote(model._meta.db_table)
        if operation == "live":
            (at_version,) = details
            pk = quote(model._meta.pk.column)
            deleted = quote(model._meta.get_field("deleted_at").column)
            version = f" AND {quote(model._meta.get_field('version').column)} = %s"
            lock = " FOR UPDATE" if db.features.has_select_for_update else ""
            statements.append(
                f"SELECT 1 FROM {table} WHERE {pk} = %s AND {deleted} IS NULL"  # noqa: S608
                f"{version if at_version else ''}{lock}"
            )
        elif operation == "insert":
            count, or_skip = details
            fields = insert_fields(model)
            names = ", ".join(quote(field.column) for field in fields)
            if count == _MANY:
                arrays = ", ".join(f"%s::{array_type(field, db)}" for field in fields)
                rows = f"SELECT * FROM unnest({arrays})"  # noqa: S608 (types from the model)
                rows += f" WHERE {only_live}" if only_live else ""
            elif only_live:
                # One row, selected: `INSERT ... SELECT` types each value by its column, as
                # `VALUES` does (a run of several rows is `_MANY` on PostgreSQL).
                rows = "SELECT " + ", ".join(["%s"] * len(fields)) + f" WHERE {only_live}"
            else:
                rows = "VALUES " + ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * count)
            skip = " ON CONFLICT DO NOTHING" if or_skip else ""
            statements.append(f"INSERT INTO {table} ({names}) {rows}{skip}")
        elif operation == "update":
            (names,) = details
            columns = ", ".join(
                f"{quote(model._meta.get_field(name).column)} = %s" for name in names
            )
            pk = quote(model._meta.pk.column)
            statements.append(f"UPDATE {table} SET {columns} WHERE {pk} = %s{and_live}")  # noqa: S608
        else:
            owner, key, count = details
            owner_column = quote(model._meta.get_field(owner).column)
            key_field = model._meta.get_field(key)
            key_column = quote(key_field.column)
            if count == _MANY:
                others = f"NOT ({key_column} = ANY(%s::{array_type(key_field, db)}))"
            elif count:
                others = f"{key_column} NOT IN ({', '.join(['%s'] * count)})"
            else:
                others = "TRUE"
            statements.append(
                f"DELETE FROM {table} WHERE {owner_column} = %s AND {others}{and_live}"  # noqa: S608
            )
    if not postgresql:
        return tuple(PreparedSQL(statement) for statement in statements)
    ctes = []
    if guarded:
        # MATERIALIZED: the lock is taken once, before any insert reads the CTE.
        ctes.append(f"live AS MATERIALIZED ({statements.pop(0)})")
        statements.append("SELECT EXISTS (SELECT FROM live)")
    *first, last = statements
    ctes += [f"w{number} AS ({sql})" for number, sql in enumerate(first)]
    if ctes:
        last = f"WITH {', '.join(ctes)} {last}"
    return (PreparedSQL(last),)  # a fixed shape, run by every write of its kind


def insert_rows(rows: Sequence[Row]) -> None:
    """Insert `rows` (`write_rows` with inserts alone): for the rows a write appends beside its
    record — its search index entries, its audit entry, its change event."""
    write_rows(rows)


def write_rows(parts: Sequence[Part], *, under: Live | None = None) -> bool:
    """Write `parts` in order (each value through its field's `get_db_prep_save`, as `save()`
    does): consecutive rows of one model as one `INSERT`, an `Update` as one `UPDATE`, a
    `Replace` as a `DELETE` and an `INSERT` that skips stored rows; all of them in one round
    trip on PostgreSQL (one statement per part elsewhere). No instance, no `RETURNING`,
    nothing read back.

    `under`: write only while that record is live (at its version, when `Live` names one),
    locking it; False when it is not, and nothing was written. Elsewhere than PostgreSQL its
    check is a query of its own before the parts: call it inside a transaction there."""
    if not parts:
        return True
    first = parts[0]
    alias = router.db_for_write(type(first.obj) if isinstance(first, Update) else first.model)
    db = connections[alias]
    postgresql = db.vendor == "postgresql"
    shape: list[tuple] = []
    params: list[list] = []
    if under is not None:
        at_version = under.version is not None
        shape.append(("live", under.model, at_version))
        meta = under.model._meta
        pk = save_preparer(meta.pk, db)(under.pk, db)
        version = save_preparer(meta.get_field("version"), db)
        params.append([pk, version(under.version, db)] if at_version else [pk])
    for run in _runs(parts):
        if isinstance(run, Update):
            shape.append(("update", type(run.obj), run.fields))
            params.append(_update_params(run, db))
        elif isinstance(run, Replace):
            shape.append(_replace_delete(run, db, params, postgresql))
            if run.rows:
                shape.append(_insert(list(run.rows), db, params, postgresql, or_skip=True))
        else:
            shape.append(_insert(run, db, params, postgresql, or_skip=False))
    statements = _statement_sql(alias, tuple(shape))
    if postgresql:
        statement, values = shared_values(statements[0], [v for group in params for v in group])
        statements, params = (statement,), [values]
    with db.cursor() as cursor:
        for statement, values in zip(statements, params, strict=True):
            cursor.execute(statement, values)
            if under is not None and statement is statements[0]:
                found = cursor.fetchone()  # PostgreSQL: (whether it wrote); else: the check's row
                if not (found and found[0]):
                    return False
    return True


# Values a write's rows repeat (the record's id and organization in its audit entry, version
# and event; its timestamps): types psycopg sends with their own type, so one parameter can
# stand for every column of that type that holds the value.
_SHARED_TYPES = frozenset({uuid.UUID, dt.datetime})


def shared_values(statement: str, values: list[Any]) -> tuple[str, dict[str, Any]]:
    """`statement` (positional `%s`) and its `values` as a statement with named parameters,
    each id or timestamp the rows repeat sent once. psycopg keeps the parsed form of a
    statement of at most 50 parameters and parses any other again on every call (131 µs for
    a create with its change event, 62 parameters: docs/performance.md); a create repeats its
    record's id, organization and time in every row it writes. Strings and `NULL`s are never
    shared: PostgreSQL infers their type from where they are used, and one parameter in two
    places must have one type."""
    first: dict[Any, int] = {}
    pattern = []
    for index, value in enumerate(values):
        pattern.append(first.setdefault(value, index) if type(value) in _SHARED_TYPES else index)
    text, kept = _named_statement(statement, tuple(pattern))
    return text, {f"p{index}": values[index] for index in kept}


@functools.lru_cache(maxsize=512)
def _named_statement(statement: str, pattern: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
    """The text of `statement` with its n-th `%s` as `%(p<pattern[n]>)s`, and the indexes of
    the values it sends (once per write shape and pattern of repeated values)."""
    pieces = statement.split("%s")
    if len(pieces) != len(pattern) + 1:
        raise ValueError(f"{len(pattern)} values for {len(pieces) - 1} placeholders")
    text = pieces[0] + "".join(
        f"%(p{slot})s{piece}" for slot, piece in zip(pattern, pieces[1:], strict=True)
    )
    named = type(statement)(text)  # a `PreparedSQL` stays one
    return named, tuple(sorted(set(pattern)))


def _runs(parts: Sequence[Part]) -> list:
    """`parts` with each run of consecutive rows of one model gathered into a list."""
    runs: list = []
    for part in parts:
        if (
            isinstance(part, Row)
            and runs
            and isinstance(runs[-1], list)
            and (runs[-1][0].model is part.model)
        ):
            runs[-1].append(part)
            continue
        runs.append([part] if isinstance(part, Row) else part)
    return runs


def _insert(run: list[Row], db, params: list[list], postgresql: bool, *, or_skip: bool) -> tuple:
    columns = prepared_columns(run, db)
    if postgresql and len(run) > 1:
        params.append([array_param(column) for column in columns])
        return ("insert", run[0].model, _MANY, or_skip)
    params.append([value for row in zip(*columns, strict=True) for value in row])
    return ("insert", run[0].model, len(run), or_skip)


def _update_params(update: Update, db) -> list:
    obj = update.obj
    meta = obj._meta
    values = []
    for name in update.fields:
        field = meta.get_field(name)
        values.append(save_preparer(field, db)(field.pre_save(obj, False), db))
    values.append(save_preparer(meta.pk, db)(obj.pk, db))
    return values


def _replace_delete(replace: Replace, db, params: list[list], postgresql: bool) -> tuple:
    owner, record_id = replace.owner
    meta = replace.model._meta
    key_field = meta.get_field(replace.key)
    prepare = save_preparer(key_field, db)
    keys = [prepare(row.values[replace.key], db) for row in replace.rows]
    owner_id = save_preparer(meta.get_field(owner), db)(record_id, db)
    if postgresql:
        params.append([owner_id, array_param(keys)])
        return ("delete", replace.model, owner, replace.key, _MANY)
    params.append([owner_id, *keys])
    return ("delete", replace.model, owner, replace.key, len(keys))


def array_type(field: models.Field, db) -> str:
    """The PostgreSQL array type a column's values travel as (`array_param`): the column's
    type without its modifier, `varchar(100)` as `varchar[]`. An explicit cast to
    `varchar(n)` cuts a longer value to `n` characters without a word, where the column's
    own assignment refuses it; cast without the modifier, a value too long is refused as it
    would be in a `VALUES` row."""
    return _TYPE_MODIFIER.sub("", field.db_type(db)) + "[]"


_TYPE_MODIFIER = re.compile(r"\s*\([^)]*\)")


def array_param(values: Sequence[Any]) -> Any:
    """One column of a run of rows as a PostgreSQL array parameter (the statement casts it
    to the column's array type). Integers, UUIDs (as their bare hex) and strings go as the
    array's text form (`{1,2}`, `{"a b","c\\"d"}`; `None` as `NULL`), which psycopg sends as
    it is; a list of any other type (bytes, datetimes, JSON) is left to psycopg's list
    adaptation, which inspects and dumps each element: the larger part of sending a create's
    index rows."""
    items = []
    previous = text = None
    for value in values:
        kind = type(value)
        if value is previous and items:  # a run's rows share their owner's ids
            items.append(text)
            continue
        previous = value
        if value is None:
            items.append("NULL")
        elif kind is uuid.UUID:
            items.append(value.hex)  # PostgreSQL reads the bare hex; 3x faster than str()
        elif isinstance(value, int) and kind is not bool:
            items.append(str(value))
        elif kind is str:
            items.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            return list(values)
        text = items[-1]
    return "{" + ",".join(items) + "}"


def prepared_columns(run: Sequence[Row], db) -> list[list[Any]]:
    """The values a run of rows of one model writes, column by column (`insert_fields` order):
    each `Row.value`, prepared as `save()` prepares it (encrypted, adapted) for `db`. One
    preparer per column (`save_preparer`), not a lookup per value: a create writes ~50
    values."""
    plan = _insert_plan(run[0].model, db.alias)
    if len(run) == 1:  # most runs: a create's record, audit entry, version
        value = run[0].value
        return [[prepare(value(field), db)] for field, prepare in plan]
    return [[prepare(row.value(field), db) for row in run] for field, prepare in plan]


@functools.cache
def _insert_plan(model: type[Model], alias: str) -> tuple:
    """(field, `save_preparer`) of each of `insert_fields(model)`, once per model and
    database: `prepared_columns` runs for every part of every write."""
    db = connections[alias]
    return tuple((field, save_preparer(field, db)) for field in insert_fields(model))


def prep_save(field, value: Any, db) -> Any:
    """`field.get_db_prep_save(value, db)`, with a shortcut for the plain cases that make most
    of a write's values (an id, a string, an integer, an aware datetime on PostgreSQL), where
    Django's chain of `get_prep_value` / `to_python` / `adapt_*` calls returns the value
    as it is (or, for integers on psycopg 3, wrapped in its sized type). Anything else
    — an encrypted or JSON column, another type, `None` — goes through the field itself."""
    return save_preparer(field, db)(value, db)


def save_preparer(field, db) -> Callable[[Any, Any], Any]:
    """`prep_save` of `field` for `db`'s vendor as one function of (value, db), made once per
    field and vendor: for loops that prepare the same column of many rows."""
    preparers = field.__dict__.get("_crm_preparers")
    if preparers is None:
        preparers = field.__dict__["_crm_preparers"] = {}
    preparer = preparers.get(db.vendor)
    if preparer is None:
        preparer = preparers[db.vendor] = _preparer(field, db)
    return preparer


def _preparer(field, db) -> Callable[[Any, Any], Any]:
    slow = field.get_db_prep_save
    shortcut = _prep_shortcut(field, db)
    if shortcut is None:
        return slow
    kind, adapt = shortcut
    if kind is dt.datetime:  # naive datetimes take the field's path (it warns, converts)
        return lambda value, db: (
            adapt(value) if type(value) is kind and value.tzinfo is not None else slow(value, db)
        )
    return lambda value, db: adapt(value) if type(value) is kind else slow(value, db)


def _prep_shortcut(field, db) -> tuple[type, Any] | None:
    """(the value type the shortcut applies to, what it does to it) for `field` on `db`, or
    None where the field's own preparation must run. Exact field classes only: a subclass
    (an encrypted field) may prepare differently.

    What the shortcut does is read from the field itself, once: its public
    `get_db_prep_save` is asked to prepare a sample of the type, and the shortcut is kept only
    when the answer is the sample as it is, the UUID's hex (SQLite), or the integer in a sized
    type of the driver's (psycopg's `Int4`, `Int8`, ...), whatever Django version gives it."""
    kind = type(field)
    if kind is models.ForeignKey:
        return _prep_shortcut(field.target_field, db)
    sample = _SAMPLES.get(kind)
    if sample is None:
        return None
    prepared = field.get_db_prep_save(sample, db)
    value_type = type(sample)
    if prepared is sample:
        return value_type, _same
    if value_type is uuid.UUID and prepared == sample.hex:
        return value_type, _hex
    if value_type is int and isinstance(prepared, int) and prepared == sample:
        return value_type, type(prepared)  # the driver's sized integer type
    return None


def _same(value: Any) -> Any:
    return value


def _hex(value: uuid.UUID) -> str:
    return value.hex


# A value of the type each plain field class holds, for `_prep_shortcut` to try.
_SAMPLES = {
    models.CharField: "sample",
    models.TextField: "sample",
    models.UUIDField: uuid.UUID("0196a3f4-1c2b-7cde-8f00-000000005a3e"),
    models.DateTimeField: dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    **dict.fromkeys(
        (
            models.IntegerField,
            models.BigIntegerField,
            models.SmallIntegerField,
            models.PositiveIntegerField,
            models.PositiveBigIntegerField,
            models.PositiveSmallIntegerField,
        ),
        12345,
    ),
}


# The fields the database numbers itself (Django's three public auto field classes).
_AUTO = (models.AutoField, models.BigAutoField, models.SmallAutoField)

# A run of several rows, written as one array per column (PostgreSQL).
_MANY = -1
