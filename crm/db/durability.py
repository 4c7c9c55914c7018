"""Waiting until what a connection sees is on the synchronous standby (docs/high-availability.md).

A commit waits for the synchronous standby (`synchronous_commit=on` with
`synchronous_standby_names` set, as pg_auto_failover configures its primary) only when its
transaction wrote WAL. Reading rows writes none, so a reader can see, and pass on, a row whose
commit the primary has but the standby has not: a primary that crashed and restarted shows the
commits it flushed before the crash, whether or not the standby received them, until it is
demoted. After the failover those rows are gone, and whatever was said about them was said
about nothing. Two readers act on what they read: an idempotent replay (it locks the record it
replays, `crm.api.idempotency`, so its own commit waits) and the event relay, which publishes
rows it read in a transaction it commits only afterwards, and so asks `wait_for_standby`.

`wait_for_standby(connection)` commits, on a side connection with the same parameters, a
transaction that writes one WAL record and nothing else (a transactional logical message:
no table, nothing to clean up; logical decoding consumers see it under the prefix `crm`). Its
commit returns once the synchronous standby has flushed the WAL up to it, which includes every
commit the caller's snapshot shows, since each was written before it. A standby that does not
confirm within the connection's client timeout (`crm.db.postgresql`) raises `OperationalError`;
with no synchronous standby configured the commit does not wait. Elsewhere (SQLite) there is
no standby: it returns at once.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

from crm.db.postgresql.base import DeadlineConnection

BARRIER_SQL = "SELECT pg_logical_emit_message(true, 'crm', 'durability barrier')"


def wait_for_standby(connection: BaseDatabaseWrapper) -> None:
    """Return once every commit `connection` can see is on the synchronous standby."""
    if connection.vendor != "postgresql":
        return
    side = _side_connection(connection)
    try:
        with connection.wrap_database_errors:
            side.execute(BARRIER_SQL)
    except Exception:
        side.close()  # half-way through an exchange, or on a server that is going away
        raise


def _side_connection(connection: BaseDatabaseWrapper) -> DeadlineConnection:
    """`connection`'s autocommit side connection, with its bounds; the wrapper closes it with
    its own connection (`crm.db.postgresql.base.DatabaseWrapper.close`)."""
    side = connection.side_connection
    if side is not None and not side.closed:
        return side
    with connection.wrap_database_errors:
        side = DeadlineConnection.connect(**connection.get_connection_params(), autocommit=True)
    side.wait_timeout = connection.client_timeout
    connection.side_connection = side
    return side
