"""Which server session a connection is, and whether a session is still alive.

An idempotency key's reservation (`crm.api.idempotency`) records the session that made it, so
that a retry can tell a request still running from one that died with its connection: after a
failover (the reservation was replicated, the session was not), a primary's crash and restart,
or a gunicorn worker killed mid-request, the retry takes the key over at once instead of
answering 409 CRM-0910 until `IDEMPOTENCY_IN_PROGRESS_TIMEOUT_SECONDS` has passed
(docs/high-availability.md).

On PostgreSQL a session is `<server start>/<backend pid>`: `pg_postmaster_start_time()` names
the run of the server (a restart, or another server after a failover, has another one, and no
session of an earlier run survives it) and `pg_backend_pid()` the session within the run. It is
alive while that run of the server lists the pid in `pg_stat_activity` (every role sees every
pid there). Elsewhere (SQLite: one file, no server) a session is unknown: "".

Behind a pooler in transaction mode (PgBouncer) the server session outlives the client's: a
reservation then looks alive, and only the timeout frees it.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

SERVER_RUN_SQL = "SELECT extract(epoch FROM pg_postmaster_start_time())::text"
ALIVE_SQL = (
    "SELECT extract(epoch FROM pg_postmaster_start_time())::text = %s"
    " AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)"
)


def session_id(connection: BaseDatabaseWrapper) -> str:
    """This connection's server session, or "" where there is none. The server's start time is
    asked once per connection (one round trip), the pid is known to the driver."""
    if connection.vendor != "postgresql":
        return ""
    connection.ensure_connection()
    raw = connection.connection
    run = getattr(raw, "crm_server_run", None)
    if run is None:
        with connection.cursor() as cursor:
            cursor.execute(SERVER_RUN_SQL)
            run = cursor.fetchone()[0]
        raw.crm_server_run = run
    return f"{run}/{raw.info.backend_pid}"


def session_alive(connection: BaseDatabaseWrapper, session: str) -> bool | None:
    """Whether `session` (from `session_id`) still runs on the server `connection` is on;
    None when that cannot be known (no session recorded, or not PostgreSQL)."""
    run, _, pid = session.rpartition("/")
    if connection.vendor != "postgresql" or not run or not pid.isdigit():
        return None
    with connection.cursor() as cursor:
        cursor.execute(ALIVE_SQL, [run, int(pid)])
        return bool(cursor.fetchone()[0])
