"""Database helpers shared by the services."""

import functools
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
    """One row to insert without a model instance: its model and column values by field name
    (a field left out gets its Python default, as `Model()` would give it; an auto field is
    left to the database)."""

    model: type[Model]
    values: dict[str, Any]


def _written_fields(model: type[Model]) -> tuple:
    return tuple(
        field for field in model._meta.concrete_fields if not isinstance(field, AutoFieldMixin)
    )


@functools.lru_cache(maxsize=64)
def _insert_sql(alias: str, models: tuple[type[Model], ...]) -> str:
    """One statement inserting a row into each of `models` on database `alias`: on
    PostgreSQL the first ones as data-modifying CTEs (`WITH r0 AS (INSERT ...) INSERT ...`),
    which PostgreSQL runs whole whatever the outer statement reads."""
    quote = connections[alias].ops.quote_name
    inserts = []
    for model in models:
        fields = _written_fields(model)
        names = ", ".join(quote(field.column) for field in fields)
        marks = ", ".join(["%s"] * len(fields))
        table = quote(model._meta.db_table)
        inserts.append(f"INSERT INTO {table} ({names}) VALUES ({marks})")  # noqa: S608 (quoted)
    *first, last = inserts
    if not first:
        return last
    ctes = ", ".join(f"r{number} AS ({sql})" for number, sql in enumerate(first))
    return f"WITH {ctes} {last}"


def insert_rows(rows: Sequence[Row]) -> None:
    """Insert `rows` (each value through its field's `get_db_prep_save`, as `save()` does) in
    one round trip on PostgreSQL, one statement per row elsewhere. For the rows every write
    appends (its audit entry, its change event): no instance, no `RETURNING`, nothing read
    back, so a write pays one statement for all of them."""
    if not rows:
        return
    alias = router.db_for_write(rows[0].model)
    db = connections[alias]
    groups = [rows] if db.vendor == "postgresql" else [[row] for row in rows]
    with db.cursor() as cursor:
        for group in groups:
            params = []
            for row in group:
                for field in _written_fields(row.model):
                    value = (
                        row.values[field.name] if field.name in row.values else field.get_default()
                    )
                    params.append(field.get_db_prep_save(value, db))
            sql = _insert_sql(alias, tuple(row.model for row in group))
            cursor.execute(sql, params)
