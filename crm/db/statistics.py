"""Fresh planner statistics for the registry tables (docs/api.md §11, issue 10).

Without statistics PostgreSQL plans a selective filter as a walk of the whole organization (at
1M holders `?external_id=` went from 26 ms to 1,470 ms right after a bulk load, before anything
had analysed the table; autovacuum lags a bulk load, or is off). So every `migrate` ends with
`ANALYZE` of the registry tables (`post_migrate`, connected in `crm.apps`), SQLite also with
`PRAGMA optimize`, and bulk writers call `refresh_statistics()` when they are done. An operator
who changed many rows some other way runs `python manage.py migrate` (a no-op apart from this)
or `ANALYZE` in psql (README, "After a bulk change").
"""

import logging

from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)


def registry_tables() -> list[str]:
    """The tables of every registry kind and its parts, read from the models
    (`crm.lifecycle.kinds`; imported here because the lifecycle core itself uses `crm.db`)."""
    from crm.lifecycle.kinds import registry_models

    return [model._meta.db_table for model in registry_models()]


def refresh_statistics(using: str = "default") -> list:
    """ANALYZE the registry tables that exist on `using` (SQLite: then `PRAGMA optimize`);
    returns the tables analysed. Takes a second or two at a million rows (ANALYZE samples)."""
    connection = connections[using]
    existing = set(connection.introspection.table_names())
    analysed = [table for table in registry_tables() if table in existing]
    if not analysed:
        return []
    with connection.cursor() as cursor:
        for table in analysed:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA optimize")
    return analysed


def analyze_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """`post_migrate` receiver (sent once per app after the whole plan; connected for the
    kernel app only, so it runs once per migrate). A failure is logged, never fatal: the
    migration itself has succeeded."""
    try:
        refresh_statistics(using)
    except DatabaseError:
        logger.warning("ANALYZE after migrate failed on %s; run it by hand.", using, exc_info=True)
