"""Database helpers shared by the services."""

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, connections, router
from django.db.models import Lookup, Model, UUIDField
from django.db.models.fields import AutoFieldMixin


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
class AnyOf(Lookup):
    """`id__any_of=[...]`: a list of ids as one array parameter on PostgreSQL
    (`id = ANY(%s)`), not a thousand placeholders the driver parses for every query (psycopg
    caches only short statements: a 1,000-id `IN` cost ~4 ms per query to send); elsewhere the
    usual `IN (...)`."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, list(self.rhs)]

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
    Python default, as `Model()` would give it; an auto field is left to the database."""

    model: type[Model]
    values: dict[str, Any]

    @classmethod
    def of_new(cls, obj: Model) -> "Row":
        """The row of a new, unsaved instance (each value as `save()` would write it)."""
        return cls(
            type(obj), {field.attname: field.pre_save(obj, True) for field in _written(type(obj))}
        )


def _written(model: type[Model]) -> tuple:
    return tuple(
        field for field in model._meta.concrete_fields if not isinstance(field, AutoFieldMixin)
    )


@functools.lru_cache(maxsize=512)
def _insert_sql(alias: str, groups: tuple[tuple[type[Model], int], ...]) -> str:
    """One statement inserting `count` rows into each `model` of `groups` on database
    `alias`: on PostgreSQL the first inserts as data-modifying CTEs (`WITH r0 AS (INSERT ...)
    INSERT ...`), which PostgreSQL runs whole whatever the outer statement reads (foreign keys
    are checked at commit: Django makes them deferrable)."""
    quote = connections[alias].ops.quote_name
    inserts = []
    for model, count in groups:
        fields = _written(model)
        names = ", ".join(quote(field.column) for field in fields)
        values = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * count)
        table = quote(model._meta.db_table)
        inserts.append(f"INSERT INTO {table} ({names}) VALUES {values}")  # noqa: S608 (quoted)
    *first, last = inserts
    if not first:
        return last
    ctes = ", ".join(f"r{number} AS ({sql})" for number, sql in enumerate(first))
    return f"WITH {ctes} {last}"


def insert_rows(rows: Sequence[Row]) -> None:
    """Insert `rows` (each value through its field's `get_db_prep_save`, as `save()` does):
    consecutive rows of one model as one multi-row `INSERT`, and all of them in one round
    trip on PostgreSQL (one statement per model run elsewhere). For the rows a write appends
    beside its record — its search index entries, its audit entry, its change event: no
    instance, no `RETURNING`, nothing read back."""
    if not rows:
        return
    alias = router.db_for_write(rows[0].model)
    db = connections[alias]
    runs = [list(run) for _model, run in itertools.groupby(rows, key=lambda row: row.model)]
    statements = [runs] if db.vendor == "postgresql" else [[run] for run in runs]
    with db.cursor() as cursor:
        for statement in statements:
            params = []
            for run in statement:
                fields = _written(run[0].model)
                for row in run:
                    for field in fields:
                        value = row.values.get(field.attname, _DEFAULT)
                        if value is _DEFAULT:
                            value = field.get_default()
                        params.append(field.get_db_prep_save(value, db))
            groups = tuple((run[0].model, len(run)) for run in statement)
            cursor.execute(_insert_sql(alias, groups), params)


_DEFAULT = object()
