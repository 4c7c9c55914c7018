"""Database helpers shared by the services."""

from django.db import IntegrityError, connection


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
