"""Read replicas: the registry's reads on a PostgreSQL hot standby, everything else on the primary.

Configured by `DATABASE_REPLICA_URLS` (config/settings/base.py, "Read replicas"): each URL
becomes a `DATABASES` entry `replica1`, `replica2`, … with the primary's OPTIONS (timeouts,
server-side binding), plus `ReplicaRouter` and `ReplicaMiddleware`. With no replica configured
neither is installed and everything runs on `default` exactly as before. See docs/scaling.md.

What goes to a replica: reads of the registry's own tables (holders, aliases, audit entries)
made while serving a `GET`/`HEAD` of `/v1/…` or of an admin changelist, when

- the caller has not written recently (read-your-writes): a `POST`/`PUT`/`PATCH`/`DELETE` by an
  organization (`X-Organization-Id`), or by a staff user in the admin, sends that
  organization's / user's reads to the primary for `DATABASE_REPLICA_STICKY_SECONDS` (default:
  the lag tolerance plus the check interval, so a replica inside the tolerance has replayed the
  write by then). The marks live in Django's cache: use a shared `CACHE_URL` (Redis, database)
  when several processes serve the API, or a worker only sees its own marks;
- the replica's replay lag is within `DATABASE_REPLICA_MAX_LAG_SECONDS`, measured on the
  replica itself (`now() - pg_last_xact_replay_timestamp()`, 0 when it has replayed all it
  received) at most every `DATABASE_REPLICA_CHECK_SECONDS` per process. A promoted standby that
  still takes no writes (pg_auto_failover keeps it read-only until the old primary is known to
  be down: it has every acknowledged write) is still read. An unreachable replica, or one that
  takes writes (promoted: a split brain is not a read source), counts as over the tolerance,
  and its connection is closed: the next check connects again, and a
  replica URL listing several hosts with `target_session_attrs=prefer-standby` then finds
  whichever is a standby now (after a failover, the old primary once it has rejoined);
- the read is not inside a transaction on the primary (`atomic()`: the services' reads before a
  write) and is not `select_for_update()` (Django routes it as a write).

Each worker thread has its own connection to a replica, and a replica URL with
`target_session_attrs=prefer-standby` lands on the primary when no standby is up (during a
failover, until the old primary has rejoined): before a request reads from a replica, the
thread's connection to it is closed if its server takes writes (the server reports
`in_hot_standby` and `default_transaction_read_only` to the client: no round trip), so the next
query connects again and finds the standby. Otherwise the standby's reads would die with the
primary at its next failure (issue 26: the reads refused in the failover test).

If a replica read fails anyway (the replica died between two checks, or this thread's connection
was to a server that has gone), the middleware measures the replica again over a new connection
and serves the same `GET` once more, from a replica that answers or else from the primary: a
client never sees it. Only a failure of the replica's own connection does that: a read of the
primary that fails (the primary is down) is the request's answer, and the replica stays in use
for everyone else. A read that no replica can take waits out the thread's primary reconnect
backoff, if any (`wait_out_primary_backoff`: at most a second), rather than being refused.

A `GET` served from a replica touches the primary for nothing else: the registry's records, their
versions and audit entries, and the API token of `PLUGIN_AUTH_ENABLED` are read there (a token
revoked on the primary is refused on reads once the replica has replayed it, within the lag
tolerance); the token's `last_used_at` is written on the primary at most once a minute, and a
failure to write it does not fail the read (crm/access/auth.py).

Everything else — writes, sessions, users, idempotency keys, content types, migrations
(`allow_migrate`: the primary only) — uses `default`. Relations between objects of any two
aliases are allowed: they are copies of one cluster.
"""

import contextlib
import contextvars
import functools
import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import ConnectionDoesNotExist
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("crm.db.replicas")

READ_METHODS = frozenset({"GET", "HEAD"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MARK_PREFIX = "crm:replicas:wrote:"

# Whether the replica may be read (a standby, or a server that takes no writes: during a
# failover pg_auto_failover promotes the standby and keeps it read-only until the old primary
# is known to be down), and its replay lag in seconds: 0 when it has replayed everything it
# received (an idle primary sends no new transactions, so `pg_last_xact_replay_timestamp()`
# alone would grow) or is no longer replaying at all (promoted).
LAG_SQL = (
    "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only')::bool, CASE"
    " WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


def replica_aliases() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICA_ALIASES", ()))


def _max_lag() -> float:
    return float(getattr(settings, "DATABASE_REPLICA_MAX_LAG_SECONDS", 2.0))


def _check_interval() -> float:
    return float(getattr(settings, "DATABASE_REPLICA_CHECK_SECONDS", 1.0))


def _sticky_seconds() -> float:
    default = _max_lag() + _check_interval()
    return float(getattr(settings, "DATABASE_REPLICA_STICKY_SECONDS", None) or default)


# --- Where this request's reads go -------------------------------------------------------------


@dataclass
class ReadState:
    alias: str | None = None  # the replica chosen for this request; None: the primary
    used: set[str] = field(default_factory=set)  # replicas a query was actually sent to
    failed: set[str] = field(default_factory=set)  # replicas known to have failed a read
    retry: bool = False  # the request is served again (a replica read failed)


_state: contextvars.ContextVar[ReadState | None] = contextvars.ContextVar(
    "crm_replica_reads", default=None
)


@contextlib.contextmanager
def reading_from(alias: str | None) -> Iterator[ReadState]:
    """Route the registry's reads inside the block to `alias` (None: the primary). The
    middleware uses it per request; scripts and tests may too."""
    state = ReadState(alias)
    token = _state.set(state)
    try:
        yield state
    finally:
        _state.reset(token)


@functools.cache
def _eligible_models() -> frozenset:
    """The registry's kinds and their parts (`crm.lifecycle.kinds`, imported here because the
    lifecycle core itself uses `crm.db`), their versions (`…/versions`, `?as_of=`), the audit
    trail the admin lists, and the API tokens every `/v1` read authenticates with."""
    from crm.lifecycle.kinds import registry_models
    from crm.models import ApiToken, AuditEntry, RecordVersion

    return frozenset([*registry_models(), RecordVersion, AuditEntry, ApiToken])


def replica_eligible(model) -> bool:
    return model in _eligible_models()


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        state = _state.get()
        if state is None or state.alias is None or not replica_eligible(model):
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:  # reads that precede a write
            return DEFAULT_DB_ALIAS
        state.used.add(state.alias)
        return state.alias

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS  # also select_for_update() and get_or_create()

    def allow_relation(self, obj1, obj2, **hints):
        same_cluster = {DEFAULT_DB_ALIAS, *replica_aliases()}
        if obj1._state.db in same_cluster and obj2._state.db in same_cluster:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


# --- Replica health: replay lag, reachability (cached per process) -----------------------------


@dataclass
class Health:
    checked_at: float
    lag: float | None  # None: unreachable, not a standby, or unknown


_health: dict[str, Health] = {}
_health_lock = threading.Lock()


def measure_lag(alias: str) -> float | None:
    """The replica's replay lag in seconds, or None when it cannot serve reads. Never raises.
    Every replica is PostgreSQL: start-up refuses any other (crm/access/settings_checks.py).
    A connection this thread already had that fails or is to a server taking writes is
    replaced, and the new one measured, before the replica is given up."""
    connection = connections[alias]
    reused = connection.connection is not None
    try:
        connection.ensure_connection()  # bounded by connect_timeout
        raw = connection.connection
        bound = getattr(connection, "health_check_timeout", None)
        deadline = raw.deadline(bound) if bound and hasattr(raw, "deadline") else None
        with deadline or contextlib.nullcontext(), connection.cursor() as cursor:
            cursor.execute(LAG_SQL)
            readable, lag = cursor.fetchone()
    except Exception as exc:  # a check never fails a request
        with contextlib.suppress(Exception):
            connection.close()
        if reused:  # a connection to a server that has gone: measured again over a new one
            return measure_lag(alias)
        logger.warning(
            "replica %s unreachable, reading from the primary: %s", alias, type(exc).__name__
        )
        return None
    if not readable:
        # Reconnect: with several hosts in its URL and target_session_attrs=prefer-standby, a
        # new connection finds a standby if one is up (the old primary rejoined after a
        # failover). This thread's connection may date from before the failover, made to the
        # standby since promoted: then a new one is measured at once, or every reader would go
        # to the primary until the next check (and die with it if it fails then).
        connection.close()
        if reused:
            return measure_lag(alias)
        logger.warning("replica %s takes writes (promoted?), not reading from it", alias)
        return None
    return float(lag) if lag is not None else None


def replica_lag(alias: str) -> float | None:
    """`measure_lag`, at most once per `DATABASE_REPLICA_CHECK_SECONDS` per process."""
    now = time.monotonic()
    with _health_lock:
        known = _health.get(alias)
        if known is not None and now - known.checked_at < _check_interval():
            return known.lag
        # Others keep using the previous answer while this thread measures.
        _health[alias] = Health(now, known.lag if known else None)
    lag = measure_lag(alias)
    with _health_lock:
        _health[alias] = Health(time.monotonic(), lag)
    return lag


def recheck(alias: str) -> None:
    """Drop this thread's connection to `alias` and what is known of its health: the next
    `replica_lag` measures it over a new connection."""
    connection = _connection(alias)
    if connection is not None:
        with contextlib.suppress(Exception):
            connection.close()
    with _health_lock:
        _health.pop(alias, None)


def forget_health() -> None:
    with _health_lock:
        _health.clear()


def choose_replica() -> str | None:
    """A replica within the lag tolerance (randomly among several), or None."""
    candidates = replica_aliases()
    random.shuffle(candidates)
    for alias in candidates:
        lag = replica_lag(alias)
        if lag is not None and lag <= _max_lag():
            return alias
    return None


def release_if_writable(alias: str) -> None:
    """Close this thread's connection to `alias` if its server takes writes (see the module
    docstring): the next query connects again, and `prefer-standby` finds the standby."""
    connection = _connection(alias)
    if connection is None or connection.connection is None or connection.in_atomic_block:
        return
    read_only = getattr(connection, "server_read_only", None)
    if read_only is not None and not read_only():
        connection.close()


def wait_out_primary_backoff() -> None:
    """A read that no replica can take goes to the primary. If this thread's primary connection
    is in its reconnect backoff (`crm.db.postgresql`: its server stopped answering it less
    than `UNRESPONSIVE_BACKOFF_SECONDS` ago), the read waits the rest of it and then connects
    anew, instead of being refused at once. In a failover that is the instant the standby is
    promoted: it takes writes, so it is no read source any more, and the thread's connection
    to the old primary has just failed its health check (issue 26: the one read the failover
    test saw refused in 89 rounds, in 1 ms, in that second). Writes and reads that were never
    the replicas' keep the backoff as it is."""
    backoff_left = getattr(connections[DEFAULT_DB_ALIAS], "backoff_left", None)
    left = backoff_left() if backoff_left is not None else 0.0
    if left > 0:
        time.sleep(left)


def failed_replicas(state: ReadState) -> set[str]:
    """The replicas this request read from whose connection failed: Django flags a connection on
    which a query or the connect raised a database error (other than a data or an integrity
    error) until it is reconnected, and `used` names only replicas this request connected to
    or reused."""
    return state.failed | {
        alias
        for alias in state.used
        if (connection := _connection(alias)) is not None and connection.errors_occurred
    }


def _connection(alias: str):
    """This thread's connection wrapper for `alias`, None for an alias with no database (the
    router's tests name one)."""
    try:
        return connections[alias]
    except ConnectionDoesNotExist:
        return None


# --- Read-your-writes marks --------------------------------------------------------------------


def _writer_keys(request: HttpRequest) -> list[str]:
    keys = []
    value = request.headers.get("X-Organization-Id")
    if value:
        with contextlib.suppress(ValueError):
            keys.append(f"{MARK_PREFIX}org:{uuid.UUID(value)}")
    if request.path.startswith("/admin/"):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            keys.append(f"{MARK_PREFIX}user:{user.pk}")
    return keys


def remember_write(request: HttpRequest) -> None:
    keys = _writer_keys(request)
    if not keys:
        return
    sticky = _sticky_seconds()
    try:
        cache.set_many(dict.fromkeys(keys, time.time()), timeout=int(sticky) + 2)
    except Exception:
        logger.warning("could not record a write for read-your-writes", exc_info=True)


def wrote_recently(request: HttpRequest) -> bool:
    keys = _writer_keys(request)
    if not keys:
        return False
    try:
        marks = cache.get_many(keys)
    except Exception:  # unknown: the primary is always right
        return True
    now = time.time()
    return any(now - stamp < _sticky_seconds() for stamp in marks.values())


class ReplicaMiddleware:
    """Chooses where a request's reads go (see the module docstring). Last in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response
        backend = settings.CACHES.get("default", {}).get("BACKEND", "")
        if replica_aliases() and backend.endswith("LocMemCache"):
            logger.warning(
                "read replicas with a per-process cache (CACHE_URL): read-your-writes only "
                "holds within one worker; set CACHE_URL to a shared cache"
            )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in WRITE_METHODS:
            try:
                return self.get_response(request)
            finally:
                remember_write(request)
        if request.method not in READ_METHODS:
            return self.get_response(request)  # OPTIONS: neither a read nor a write
        with reading_from(None) as state:
            response = self.get_response(request)
            failed = failed_replicas(state) if response.status_code >= 500 else set()
            if failed:
                # A replica read failed mid-request: its server died since the last check, or
                # this thread's connection was to a server that has gone since (a failover).
                # Measured again at once over a new connection: the same request is served once
                # more from a replica that answers, or from the primary.
                for alias in failed:
                    recheck(alias)
                state.alias = choose_replica()
                logger.warning(
                    "a replica read failed; serving the request again from %s",
                    state.alias or "the primary",
                )
                state.used.clear()
                state.failed.clear()
                state.retry = True
                response = self.get_response(request)
            return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        state = _state.get()
        if state is None or state.retry or request.method not in READ_METHODS:
            return None  # a write, or the retry of a failed replica read
        if self.serves_from_replica(request) and not wrote_recently(request):
            state.alias = choose_replica()
            if state.alias is not None:
                release_if_writable(state.alias)
            else:
                wait_out_primary_backoff()
        return None

    @staticmethod
    def serves_from_replica(request: HttpRequest) -> bool:
        if request.path.startswith("/v1/"):
            return True
        match = getattr(request, "resolver_match", None)
        url_name = getattr(match, "url_name", None) or ""
        return request.path.startswith("/admin/") and url_name.endswith("_changelist")
