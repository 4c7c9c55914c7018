"""Fresh planner statistics for the registry tables (docs/api.md §11, issue 10).

Without statistics PostgreSQL plans a selective filter as a walk of the whole organization (at
1M holders `?external_id=` went from 26 ms to 1,470 ms right after a bulk load, before anything
had analysed the table; autovacuum lags a bulk load, or is off). So every `migrate` ends with
`ANALYZE` of the registry tables (`post_migrate`, connected in `crm.apps`), SQLite also with
`PRAGMA optimize`, and bulk writers call `refresh_statistics()` when they are done. An operator
who changed many rows some other way runs `python manage.py migrate` (a no-op apart from this)
or `ANALYZE` in psql (README, "After a bulk change").

Between bulk loads, autovacuum analyses a table once a fraction of its rows changed: 10% by
PostgreSQL's default. An organization that grows through the API in a large table stays unknown
to the planner until then (a new tenant's 57,000 aliases in a table of 1.08M were 5%), and an
admin search arm scoped to it (`crm.admin.searching`) was planned as a backward walk of the
organization's whole index range with a filter: 13 to 48 ms per arm instead of 0.05 ms. So
`migrate` also sets `ANALYZE_SCALE_FACTOR` on the registry tables (PostgreSQL).
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


# Autovacuum analyses a registry table after this fraction of its rows changed (plus its
# base threshold of 50): 20,000 rows at a million holders.
ANALYZE_SCALE_FACTOR = 0.02


def keep_statistics_current(using: str = "default") -> list:
    """PostgreSQL: set `autovacuum_analyze_scale_factor` to `ANALYZE_SCALE_FACTOR` on the
    registry tables that exist and do not have it yet (a storage parameter; its lock only
    waits for a running VACUUM or ANALYZE); returns the tables set. Elsewhere nothing."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = ANY(%s)"
            " AND NOT coalesce(reloptions, '{}') @> %s",
            [registry_tables(), [f"autovacuum_analyze_scale_factor={ANALYZE_SCALE_FACTOR}"]],
        )
        tables = sorted(row[0] for row in cursor.fetchall())
        for table in tables:
            cursor.execute(
                f"ALTER TABLE {connection.ops.quote_name(table)}"
                f" SET (autovacuum_analyze_scale_factor = {ANALYZE_SCALE_FACTOR})"
            )
    return tables


def analyze_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """`post_migrate` receiver (sent once per app after the whole plan; connected for the
    kernel app only, so it runs once per migrate): the analyse threshold, then `ANALYZE`. A
    failure is logged, never fatal: the migration itself has succeeded."""
    try:
        keep_statistics_current(using)
    except DatabaseError:
        logger.warning("Setting the analyse threshold failed on %s.", using, exc_info=True)
    try:
        refresh_statistics(using)
    except DatabaseError:
        logger.warning("ANALYZE after migrate failed on %s; run it by hand.", using, exc_info=True)
