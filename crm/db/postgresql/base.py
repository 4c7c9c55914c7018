"""Django's PostgreSQL backend with a client-side deadline on every wait for the server.

Why (docs/api.md §6, "frozen" database). Measured against a PostgreSQL 15 whose processes were
stopped with SIGSTOP: a `SELECT 1` on an open connection stayed blocked until killed (> 25 s)
with `statement_timeout`, TCP keepalives and `tcp_user_timeout` each set, and with all of them
together. `statement_timeout` is enforced by the frozen server itself; the server's kernel keeps
acknowledging every byte and every keepalive probe, so neither keepalives nor
`tcp_user_timeout` (which only counts *unacknowledged* data) ever fire. Only `connect_timeout`
bounds a *new* connection. A frozen server therefore has to be bounded by the client.

psycopg 3 routes every blocking exchange of a sync connection (queries, server-side cursor
fetches, COMMIT, ROLLBACK, Django's health check) through `Connection.wait()`, which takes a
timeout. This backend gives it one:

- `OPTIONS["client_timeout"]` (seconds; none by default): the longest the client waits for one
  exchange. Past it the connection is closed (it is mid-protocol, never reusable) and
  `psycopg.OperationalError` is raised; Django wraps it and `crm.api.errors` answers 503 CRM-0907.
  Keep it above `statement_timeout`, so that a slow but alive server reports its own error first.
- `OPTIONS["health_check_timeout"]` (seconds): the bound of Django's `SELECT 1` before it reuses a
  persistent connection (`CONN_HEALTH_CHECKS`), shorter than the client timeout.
- `OPTIONS["health_check_idle_seconds"]`: that `SELECT 1` is skipped when the server answered
  on the connection less than this long ago. Under load the check was a round trip
  on every request (14% of a `GET` by id) for a connection that had just worked; an idle
  connection, which a server restart or a failover may have cut, is still checked. A server
  restarted within that window costs the next request on the connection one 503 (the
  connection is then dropped and the following request reconnects).
- `OPTIONS["prepared_writes"]` (on by default): the statements marked `PreparedSQL` (the
  services' fixed-shape writes, `crm.db.rows.write_rows`: inserts, and a change's `UPDATE`
  by primary key with its index rows) are prepared on the server on first
  use and executed by name afterwards: PostgreSQL parses and plans a create's one multi-table
  statement once per connection instead of on every call (create holder in-process
  2.5 → 2.2 ms with `crm.db.rows.array_param`; docs/performance.md). The single-row reads by
  primary key (`crm.models.one_or_error`: every GET, PATCH and DELETE by id, an alias
  create's holder) are marked too: their plan is the key's index whatever the ids, and
  preparing them took the backend's CPU per `GET` holder from 120 to 33-67 µs, per PATCH
  from 463 to 327-373 µs (in-process, 3,000 calls). Nothing else is prepared: a prepared
  `SELECT` gets PostgreSQL's generic plan after five calls, chosen without the values, where
  the list filters' plans (`tests/test_query_plans.py`) depend on them (organizations and
  metadata values of very different sizes). An `INSERT` has no plan to get wrong. Behind
  PgBouncer in transaction mode this needs PgBouncer 1.22+ with `max_prepared_statements`
  set; otherwise set it off (`DB_PREPARED_WRITES=false`).
- `OPTIONS["target_session_attrs"]` `read-write` (the primary's default, config/settings/base.py)
  is libpq's: of the hosts of a multi-host URL, connect to the one that accepts writes. libpq
  checks it only when connecting; a connection whose server has become read-only since (a
  write refused with "read-only transaction", 503 CRM-0907 by `crm.api.errors`) is reported
  unusable by `is_usable`, so Django drops it after the request and the next connection finds
  the writable server (docs/high-availability.md).
- After the server failed to answer within one of these bounds (or `connect_timeout`), this
  connection wrapper (one per thread) refuses to reconnect for `UNRESPONSIVE_BACKOFF_SECONDS`:
  what is left of the request (a rollback's reconnect, an idempotency key's release) fails at
  once instead of waiting for `connect_timeout` again, and so does the thread's next request
  while the database is still unanswering.
"""

import time
from collections.abc import Callable
from contextlib import contextmanager

import psycopg
from django.db.backends.postgresql import base

from crm.db.internals import ServerBindingCursor, WaitTimeout

CLIENT_OPTIONS = (
    "client_timeout",
    "health_check_timeout",
    "health_check_idle_seconds",
    "prepared_writes",
)
UNRESPONSIVE_BACKOFF_SECONDS = 1.0
# `target_session_attrs` values that ask for a server that accepts writes.
WRITABLE_ATTRS = frozenset({"read-write", "primary"})
# The connection's prepare threshold with `prepared_writes`: never reached, since the cursor
# passes `prepare=False` for every unmarked statement; not None, which would disable
# preparing altogether.
PREPARE_ONLY_MARKED = 2**31


class NoAnswer(psycopg.OperationalError):
    """The server did not answer one exchange within the client's bound (a frozen or lost
    server); the connection was closed."""


class NotReconnecting(psycopg.OperationalError):
    """This thread's connection saw the server not answering a moment ago
    (`UNRESPONSIVE_BACKOFF_SECONDS`): no new connection is tried yet."""


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose waits for the server end after `wait_timeout` seconds.

    Private psycopg API (docs/internals.md, `tests/test_private_apis.py`): `wait()` and its
    `timeout` are undocumented, and so is the `WaitTimeout` it raises. Gain: a frozen server
    answers 503 within `client_timeout` instead of holding the request > 25 s; cost: none
    measurable (bench: a `SELECT 1` 570 µs without the deadline, 557 µs with it)."""

    wait_timeout: float | None = None
    on_timeout: Callable[[], None] | None = None
    answered_at: float = 0.0  # monotonic time of the server's last complete answer

    def wait(self, gen, *args, **kwargs):
        timeout = self.wait_timeout
        if not timeout or kwargs.get("timeout") is not None or len(args) > 1:
            result = super().wait(gen, *args, **kwargs)  # no bound, or the caller's own
            self.answered_at = time.monotonic()
            return result
        kwargs["timeout"] = timeout
        try:
            result = super().wait(gen, *args, **kwargs)
            self.answered_at = time.monotonic()
            return result
        except WaitTimeout:
            # The exchange stopped half-way: the connection cannot be used again. `close()` does
            # not take the connection lock, which the calling cursor holds.
            self.close()
            if self.on_timeout is not None:
                self.on_timeout()
            raise NoAnswer(f"the database did not answer within {timeout:g} s") from None

    @contextmanager
    def deadline(self, seconds: float | None):
        """Use another bound for the waits inside the block."""
        previous, self.wait_timeout = self.wait_timeout, seconds
        try:
            yield
        finally:
            self.wait_timeout = previous


class PreparedSQL(str):
    """Statement text to prepare on the server (see `prepared_writes`): mark only statements
    of a fixed shape that run again and again, never a one-off (preparing costs a round
    trip) and never a query whose plan depends on its values."""

    __slots__ = ()


class WritePreparingCursor(ServerBindingCursor):
    """Prepares `PreparedSQL` statements on the server and nothing else (psycopg's automatic
    preparation, which its connection's `prepare_threshold` would start, is off for every
    other statement)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        if prepare is None:
            prepare = isinstance(query, PreparedSQL)
        return super().execute(query, params, prepare=prepare, binary=binary)


def _seconds(value) -> float | None:
    return float(value) if value else None


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, settings_dict, alias="default"):
        super().__init__(settings_dict, alias)
        options = settings_dict.get("OPTIONS", {})
        self.client_timeout = _seconds(options.get("client_timeout"))
        self.health_check_timeout = _seconds(options.get("health_check_timeout"))
        self.health_check_idle_seconds = _seconds(options.get("health_check_idle_seconds")) or 0
        self.unresponsive_until = 0.0
        self.prepared_writes = bool(options.get("prepared_writes"))
        self.needs_writable = options.get("target_session_attrs") in WRITABLE_ATTRS
        self.side_connection: psycopg.Connection | None = None  # crm.db.durability's

    def close(self):
        try:
            super().close()
        finally:
            side, self.side_connection = self.side_connection, None
            if side is not None:
                side.close()

    def server_unresponsive(self) -> None:
        self.unresponsive_until = time.monotonic() + UNRESPONSIVE_BACKOFF_SECONDS

    def backoff_left(self) -> float:
        """Seconds before this thread's wrapper will try a new connection again (0: now)."""
        return max(0.0, self.unresponsive_until - time.monotonic())

    def connect(self):
        if time.monotonic() < self.unresponsive_until:
            raise NotReconnecting("the database is not answering; not reconnecting yet")
        try:
            super().connect()
        except psycopg.errors.ConnectionTimeout:
            self.server_unresponsive()
            raise

    def get_connection_params(self):
        params = super().get_connection_params()
        for name in CLIENT_OPTIONS:  # ours, not libpq's: libpq refuses unknown parameters
            params.pop(name, None)
        if self.prepared_writes and params.get("cursor_factory") is ServerBindingCursor:
            # psycopg prepares only on a connection with a threshold; the cursor decides which
            # statements (an explicit `prepare_threshold` in OPTIONS is left as it is).
            params["cursor_factory"] = WritePreparingCursor
            if params.get("prepare_threshold") is None:
                params["prepare_threshold"] = PREPARE_ONLY_MARKED
        return params

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        # Django opens it with `psycopg.connect()`, which takes no connection class: the
        # instance is given the subclass, which only overrides `wait()` and adds no state of
        # psycopg's (docs/internals.md; `tests/test_private_apis.py`).
        connection.__class__ = DeadlineConnection
        connection.wait_timeout = self.client_timeout
        connection.on_timeout = self.server_unresponsive
        return connection

    # Django's undocumented health-check hook and its `health_check_done` flag
    # (docs/internals.md): skipping the `SELECT 1` of a connection that answered a moment ago
    # saves a round trip per request (bench: 545 → 30 µs on a busy machine; quiet: 14% of a GET
    # by id under load).
    def close_if_health_check_failed(self):
        connection = self.connection
        if connection is not None and (
            time.monotonic() - getattr(connection, "answered_at", 0.0)
            < self.health_check_idle_seconds
        ):
            self.health_check_done = True  # the server answered on it a moment ago
            return
        super().close_if_health_check_failed()

    def is_usable(self):
        if self.needs_writable and self.server_read_only():
            return False  # reconnect: target_session_attrs finds the writable server
        if self.connection is None or self.health_check_timeout is None:
            return super().is_usable()
        with self.connection.deadline(self.health_check_timeout):
            return super().is_usable()

    def server_read_only(self) -> bool:
        """The server says this session is read-only now (PostgreSQL 14+ reports both settings
        to the client as they change, no round trip): a standby, or a primary made read-only
        while it is demoted. libpq checks `target_session_attrs` only when it connects."""
        if self.connection is None or self.connection.closed:
            return False  # a closed one (a client deadline, a lost server) is unusable anyway
        info = self.connection.info
        try:
            return "on" in (
                info.parameter_status("default_transaction_read_only"),
                info.parameter_status("in_hot_standby"),
            )
        except psycopg.OperationalError:  # closed under us (a frozen or lost server): not read-only
            return False

    def set_autocommit(self, autocommit, force_begin_transaction_with_broken_autocommit=False):
        # `transaction.atomic` restores autocommit when it exits, even after it has dropped a
        # broken connection: do not reconnect for that, a new connection starts in that mode.
        if self.connection is None and autocommit == self.settings_dict["AUTOCOMMIT"]:
            return
        super().set_autocommit(autocommit, force_begin_transaction_with_broken_autocommit)
