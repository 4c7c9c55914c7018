"""Database helpers shared by the services."""

from django.db import IntegrityError


def is_unique_violation(exc: IntegrityError, *, constraint: str, column: str) -> bool:
    """True when `exc` is the violation of `constraint` (PostgreSQL names it; SQLite names the
    columns instead)."""
    text = str(exc)
    return constraint in text or (f".{column}" in text and "UNIQUE" in text.upper())
