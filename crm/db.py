"""Database helpers shared by the services."""

from django.db import IntegrityError, connection
from django.db.models import Lookup, UUIDField


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
