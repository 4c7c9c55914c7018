"""Read replicas (crm/db/replicas.py): the registry's GET reads on a hot standby, writes and
read-your-writes on the primary, a lagging or dead standby never served from.

The first test runs against a REAL streaming replica that it starts on this machine: a primary
cluster (initdb, `wal_level=replica`, a replication line in pg_hba), `pg_basebackup -R` of it into
a temporary directory, started as a hot standby on another port, both as the `postgres` user;
the application is served by gunicorn with production settings (`DATABASE_URL` = primary,
`DATABASE_REPLICA_URLS` = standby) and a shared file cache, so read-your-writes holds across
its two workers. It uses no database of the suite's, so it runs in both CI legs. The standby is
made visibly different from the primary by pausing its replay (`pg_wal_replay_pause()`): what
a GET shows then says which server answered it.

The rest checks the mechanisms in-process: the settings block, the router's decisions, the
middleware's read-your-writes marks, lag and reachability checks and their cache, and the
retry of a failed replica read on the primary.
"""

import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from django.db import connections, router
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import resolve

from aliases.models import AliasAccount
from crm.db import replicas
from crm.models import ApiToken, AuditEntry, IdempotencyRecord, RecordVersion
from holders.models import Holder
from tests.servers import (
    ROOT,
    Cluster,
    app_environment,
    call,
    free_port,
    gunicorn,
    migrate,
    postgres_bin,
)

ORG_A = "0196a3f4-1c2b-7cde-8f00-0000000000a1"  # writes during the test
ORG_B = "0196a3f4-1c2b-7cde-8f00-0000000000b1"  # only reads after its seed
MAX_LAG = 6.0  # wide enough to observe the paused standby on a busy machine
CHECK = 0.2
STICKY = 1.0
WAIT_BOUND = 15.0  # any single wait for a server


def new_holder(name: str) -> dict:
    return {"type": "NATURAL_PERSON", "name": name, "document": f"{uuid.uuid4().int:011d}"[:11]}


def sql(conninfo: str, query: str, *params):
    with psycopg.connect(conninfo, autocommit=True, application_name="crm-replica-test") as conn:
        cursor = conn.execute(query, params or None)
        return cursor.fetchall() if cursor.description else []


def wait_for(what: str, predicate, seconds: float = WAIT_BOUND) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_replayed(primary: Cluster, standby: Cluster) -> None:
    """Until the standby has replayed everything the primary has written so far."""
    (lsn,) = sql(primary.conninfo, "SELECT pg_current_wal_lsn()::text")[0]
    wait_for(
        "the standby to replay",
        lambda: sql(standby.conninfo, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", lsn)[0][0],
    )


def holder_rows(cluster: Cluster, holder_id: str) -> int:
    return sql(cluster.conninfo, "SELECT count(*) FROM holders_holder WHERE id = %s", holder_id)[0][
        0
    ]


def get(port: int, path: str, organization: str):
    return call(port, "GET", path, organization=organization)


def listed(port: int, organization: str) -> set[str]:
    answer = get(port, "/v1/holders?limit=100", organization)
    assert answer.status == 200, answer.body[:200]
    return {item["id"] for item in answer.json()["items"]}


@pytest.fixture
def replicated_stack():
    bindir = postgres_bin()
    if bindir is None or not (bindir / "pg_basebackup").exists():
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are missing: see README"
        )
    primary = Cluster(bindir, prefix="crm-primary-")
    standby = Cluster(bindir, prefix="crm-standby-")
    scratch = Path(tempfile.mkdtemp(prefix="crm-replica-app-"))
    try:
        primary.start(replication=True)
        port = free_port()
        env = app_environment(primary.url, port)
        env.update(
            DATABASE_REPLICA_URLS=standby.url,
            DATABASE_REPLICA_MAX_LAG_SECONDS=str(MAX_LAG),
            DATABASE_REPLICA_CHECK_SECONDS=str(CHECK),
            DATABASE_REPLICA_STICKY_SECONDS=str(STICKY),
            CACHE_URL=f"filecache://{scratch / 'cache'}",  # shared by the two workers
            WEB_CONCURRENCY="2",
            GUNICORN_THREADS="4",
        )
        migrate(env)  # the primary only (allow_migrate); the standby gets it by the backup
        standby.replicate_from(primary)
        wait_replayed(primary, standby)
        with gunicorn(env, scratch) as process:
            deadline = time.monotonic() + 60
            while call(port, "GET", "/readyz").status != 200:
                assert process.poll() is None, "gunicorn exited during start-up"
                assert time.monotonic() < deadline, "the service did not become ready"
                time.sleep(0.2)
            yield primary, standby, port, process, scratch
    finally:
        standby.stop()
        primary.stop()
        log = scratch / "gunicorn.log"
        if log.exists():
            print(log.read_text(errors="replace")[-4000:])
        shutil.rmtree(scratch, ignore_errors=True)


def test_reads_from_a_real_streaming_replica(replicated_stack):
    primary, standby, port, process, scratch = replicated_stack
    app_backends = (
        "SELECT query FROM pg_stat_activity WHERE datname = 'crm'"
        " AND backend_type = 'client backend' AND application_name <> 'crm-replica-test'"
    )
    assert sql(standby.conninfo, "SELECT pg_is_in_recovery()")[0][0] is True

    # A holder of organization B, replicated; B then only reads.
    seed = call(port, "POST", "/v1/holders", new_holder("Replica Seed"), organization=ORG_B)
    assert seed.status == 201, seed.body[:200]
    h0 = seed.json()["id"]
    wait_replayed(primary, standby)
    time.sleep(STICKY + 0.2)  # B's own write no longer pins its reads to the primary

    # 1. GETs are served by the standby: its app connections ran the registry's query.
    assert get(port, f"/v1/holders/{h0}", ORG_B).status == 200
    assert h0 in listed(port, ORG_B)
    queries = [row[0] for row in sql(standby.conninfo, app_backends)]
    assert any("holders_holder" in query for query in queries), queries

    # 2. Replay paused (right after a fresh commit, so the lag starts near 0): the standby now
    #    visibly lags behind the primary.
    started = time.monotonic()
    sql(primary.conninfo, "CREATE TABLE IF NOT EXISTS replica_probe (at timestamptz)")
    sql(primary.conninfo, "INSERT INTO replica_probe VALUES (now())")
    wait_replayed(primary, standby)
    sql(standby.conninfo, "SELECT pg_wal_replay_pause()")
    wait_for(
        "replay to pause",
        lambda: sql(standby.conninfo, "SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused",
    )

    # Writes go to the primary (the standby is read-only and, paused, does not have it).
    created = call(port, "POST", "/v1/holders", new_holder("Replica New"), organization=ORG_A)
    assert created.status == 201, created.body[:200]
    wrote_at = time.monotonic()
    h1 = created.json()["id"]
    assert holder_rows(primary, h1) == 1
    assert holder_rows(standby, h1) == 0

    # Read-your-writes: A wrote a moment ago, so its reads go to the primary.
    assert get(port, f"/v1/holders/{h1}", ORG_A).status == 200
    assert h1 in listed(port, ORG_A)

    # Past the sticky window, within the lag tolerance: A's reads come from the standby, which
    # has not replayed h1; B's reads are served as before.
    time.sleep(max(0.0, wrote_at + STICKY + 0.3 - time.monotonic()))
    from_replica = get(port, f"/v1/holders/{h1}", ORG_A)
    replica_list = listed(port, ORG_A)
    b_read = get(port, f"/v1/holders/{h0}", ORG_B)
    # The standby's own lag, as the router measures it: if this machine was too slow for the
    # reads above to fall inside the tolerance, the failure says so (no wall-clock assertion).
    lag_now = sql(standby.conninfo, replicas.LAG_SQL)[0]
    assert from_replica.status == 404, (
        from_replica.body[:200],
        "standby (in recovery, lag)",
        lag_now,
    )
    assert h1 not in replica_list
    assert b_read.status == 200

    # 3. Lag over the tolerance: reads fall back to the primary, which has h1.
    time.sleep(max(0.0, started + MAX_LAG + CHECK + 0.5 - time.monotonic()))
    lag = sql(
        standby.conninfo, "SELECT EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
    )
    assert float(lag[0][0]) > MAX_LAG
    assert get(port, f"/v1/holders/{h1}", ORG_A).status == 200
    assert h1 in listed(port, ORG_A)

    # Replay resumed and caught up: the standby serves again, h1 included.
    sql(standby.conninfo, "SELECT pg_wal_replay_resume()")
    wait_replayed(primary, standby)
    time.sleep(CHECK + 0.1)
    assert get(port, f"/v1/holders/{h1}", ORG_A).status == 200
    assert h0 in listed(port, ORG_B)

    # 4. Standby down (at once, connections cut): every read still answers (within the
    #    client's bound), from the primary, and the service logged why it left the standby.
    standby.halt()
    answers = [get(port, f"/v1/holders/{h0}", ORG_B) for _ in range(6)]
    answers += [get(port, f"/v1/holders/{h1}", ORG_A) for _ in range(2)]
    assert [a.status for a in answers] == [200] * len(answers), [
        (a.error, a.body[:120]) for a in answers
    ]
    assert h0 in listed(port, ORG_B)
    assert h1 in listed(port, ORG_A)
    assert call(port, "POST", "/v1/holders", new_holder("After"), organization=ORG_B).status == 201
    assert process.poll() is None
    log = (scratch / "gunicorn.log").read_text(errors="replace")
    assert re.search(
        r"replica replica1 unreachable, reading from the primary"
        r"|a replica read failed; serving the request again from",
        log,
    ), log[-2000:]


# --- Settings ----------------------------------------------------------------------------------


def test_without_replicas_nothing_changes(settings):
    assert set(settings.DATABASES) == {"default"}
    assert settings.DATABASE_REPLICA_ALIASES == []
    assert settings.DATABASE_ROUTERS == []
    assert "crm.db.replicas.ReplicaMiddleware" not in settings.MIDDLEWARE
    assert router.db_for_read(Holder) == "default"


def test_replica_urls_become_databases_with_the_primarys_options():
    env = app_environment("postgres://app@db-primary:5432/crm", free_port())
    env.update(
        DATABASE_REPLICA_URLS="postgres://ro@db-r1:5432/crm,postgres://ro@db-r2:5433/crm",
        DB_STATEMENT_TIMEOUT_MS="2000",
    )
    script = (
        "import json; from django.conf import settings as s; d = s.DATABASES; "
        "primary = {k: v for k, v in d['default']['OPTIONS'].items() "
        "if k != 'target_session_attrs'}; print(json.dumps("
        "{'aliases': list(d), 'replicas': s.DATABASE_REPLICA_ALIASES, "
        "'routers': s.DATABASE_ROUTERS, 'last_middleware': s.MIDDLEWARE[-1], "
        "'engines': [d[a]['ENGINE'] for a in d], 'hosts': [d[a]['HOST'] for a in d], "
        "'same_options': all(d[a]['OPTIONS'] == primary for a in s.DATABASE_REPLICA_ALIASES), "
        "'attrs': [d[a]['OPTIONS'].get('target_session_attrs') for a in d], "
        "'binding': d['replica1']['OPTIONS']['server_side_binding'], "
        "'timeout': d['replica2']['OPTIONS']['client_timeout'], "
        "'mirror': d['replica2']['TEST'], 'health': d['replica1']['CONN_HEALTH_CHECKS']}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    built = json.loads(out.strip().splitlines()[-1])
    assert built == {
        "aliases": ["default", "replica1", "replica2"],
        "replicas": ["replica1", "replica2"],
        "routers": ["crm.db.replicas.ReplicaRouter"],
        "last_middleware": "crm.db.replicas.ReplicaMiddleware",
        "engines": ["crm.db.postgresql"] * 3,
        "hosts": ["db-primary", "db-r1", "db-r2"],
        "same_options": True,
        # New connections to the primary go to a server that accepts writes; a replica is
        # not given the primary's read-write (none is), only what its own URL asks for.
        "attrs": ["read-write", None, None],
        "binding": True,
        "timeout": 3.0,
        "mirror": {"MIRROR": "default"},
        "health": True,
    }


@pytest.mark.parametrize(
    ("primary", "replicas_", "message"),
    [
        (
            "postgres://app@db-primary:5432/crm",
            "sqlite:///replica.sqlite3",
            "DATABASE_REPLICA_URLS entry 1 is not a PostgreSQL URL",
        ),
        (
            "sqlite:///primary.sqlite3",
            "postgres://ro@db-r1:5432/crm",
            "DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL",
        ),
    ],
    ids=["sqlite-replica", "sqlite-primary"],
)
def test_a_replica_that_is_not_postgresql_is_refused_at_start(primary, replicas_, message):
    """Replicas are measured with PostgreSQL's recovery functions: a SQLite (or any other)
    replica, or replicas of a SQLite primary, stop the start-up with a message that says so."""
    env = app_environment(primary, free_port())
    env["DATABASE_REPLICA_URLS"] = replicas_

    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert message in started.stderr


# --- The router ----------------------------------------------------------------------------------

with_replica = override_settings(
    DATABASE_REPLICA_ALIASES=["replica1"],
    DATABASE_ROUTERS=["crm.db.replicas.ReplicaRouter"],
    DATABASE_REPLICA_MAX_LAG_SECONDS=2.0,
    DATABASE_REPLICA_CHECK_SECONDS=60.0,
    DATABASE_REPLICA_STICKY_SECONDS=0.3,
)


@pytest.fixture
def replica_settings():
    from django.core.cache import cache

    cache.clear()
    replicas.forget_health()
    with with_replica:
        yield
    replicas.forget_health()
    cache.clear()


def test_router_reads_registry_tables_from_the_chosen_replica(replica_settings):
    assert router.db_for_read(Holder) == "default"  # no request context: the primary
    with replicas.reading_from("replica1") as state:
        assert router.db_for_read(Holder) == "replica1"
        assert router.db_for_read(AliasAccount) == "replica1"
        assert router.db_for_read(AuditEntry) == "replica1"
        # A GET's every read: its versions and the caller's API token too (issue 26: with the
        # primary down, reads from the standby go on).
        assert router.db_for_read(RecordVersion) == "replica1"
        assert router.db_for_read(ApiToken) == "replica1"
        assert router.db_for_read(IdempotencyRecord) == "default"  # keys, sessions: primary
        assert Holder.objects.all().db == "replica1"
        assert Holder.objects.select_for_update().db == "default"
        assert router.db_for_write(Holder) == "default"
        assert state.used == {"replica1"}
    with replicas.reading_from(None):
        assert router.db_for_read(Holder) == "default"


def test_router_reads_inside_a_transaction_from_the_primary(replica_settings, monkeypatch):
    monkeypatch.setattr(connections["default"], "in_atomic_block", True)
    with replicas.reading_from("replica1") as state:
        assert router.db_for_read(Holder) == "default"
        assert state.used == set()


def test_router_migrates_the_primary_only_and_relates_copies(replica_settings):
    rr = replicas.ReplicaRouter()
    assert rr.allow_migrate("default", "holders") is True
    assert rr.allow_migrate("replica1", "holders") is False
    a, b = Holder(), AliasAccount()
    a._state.db, b._state.db = "replica1", "default"
    assert rr.allow_relation(a, b) is True
    b._state.db = "elsewhere"
    assert rr.allow_relation(a, b) is None


# --- The middleware ------------------------------------------------------------------------------


def serve(
    method: str,
    path: str,
    organization: str | None = ORG_A,
    fail_on_replica=False,
    user=None,
    fail_on_primary=False,
):
    """One request through ReplicaMiddleware (its __call__ and process_view, as Django's
    handler calls them); returns (response, the aliases a Holder read went to, per attempt)."""
    factory = RequestFactory()
    headers = {"HTTP_X_ORGANIZATION_ID": organization} if organization else {}
    request = getattr(factory, method.lower())(path, **headers)
    request.resolver_match = resolve(path)
    if user is not None:
        request.user = user
    attempts: list[str] = []

    def view(req):
        middleware.process_view(req, None, (), {})
        alias = router.db_for_read(Holder)
        attempts.append(alias)
        failed = fail_on_replica and alias != "default"
        if failed:  # as Django flags the replica's connection that raised
            replicas._state.get().failed.add(alias)
        return HttpResponse(status=503 if failed or fail_on_primary else 200)

    middleware = replicas.ReplicaMiddleware(view)
    return middleware(request), attempts


def test_middleware_reads_your_writes_per_organization(replica_settings, monkeypatch):
    monkeypatch.setattr(replicas, "measure_lag", lambda alias: 0.0)
    assert serve("GET", "/v1/holders")[1] == ["replica1"]
    assert serve("POST", "/v1/holders")[1] == ["default"]  # writes: no replica chosen
    assert serve("GET", "/v1/holders")[1] == ["default"]  # A wrote: A reads the primary
    assert serve("GET", "/v1/holders", organization=ORG_B)[1] == ["replica1"]
    time.sleep(0.35)  # DATABASE_REPLICA_STICKY_SECONDS
    assert serve("GET", "/v1/holders")[1] == ["replica1"]


def test_middleware_serves_admin_changelists_only_from_the_replica(replica_settings, monkeypatch):
    monkeypatch.setattr(replicas, "measure_lag", lambda alias: 0.0)
    assert serve("GET", "/admin/holders/holder/", None)[1] == ["replica1"]
    change = f"/admin/holders/holder/{uuid.uuid4()}/change/"
    assert serve("GET", change, None)[1] == ["default"]
    assert serve("GET", "/readyz", None)[1] == ["default"]


def test_admin_writes_pin_that_users_reads_to_the_primary(replica_settings, monkeypatch):
    monkeypatch.setattr(replicas, "measure_lag", lambda alias: 0.0)
    staff = SimpleNamespace(is_authenticated=True, pk=7)
    other = SimpleNamespace(is_authenticated=True, pk=8)
    changelist = "/admin/holders/holder/"
    assert serve("POST", changelist, None, user=staff)[1] == ["default"]
    assert serve("GET", changelist, None, user=staff)[1] == ["default"]
    assert serve("GET", changelist, None, user=other)[1] == ["replica1"]
    assert serve("OPTIONS", "/v1/holders")[1] == ["default"]  # neither read nor write
    assert serve("GET", "/v1/holders")[1] == ["replica1"]  # OPTIONS marked nothing


def test_lagging_or_unreachable_replica_is_not_read(replica_settings, monkeypatch):
    lags = iter([10.0, None, 1.5])
    calls = []

    def measure(alias):
        calls.append(alias)
        return next(lags)

    monkeypatch.setattr(replicas, "measure_lag", measure)
    with override_settings(DATABASE_REPLICA_CHECK_SECONDS=0.0):
        assert replicas.choose_replica() is None  # lag 10 s > 2 s
        assert replicas.choose_replica() is None  # unreachable
        assert replicas.choose_replica() == "replica1"  # 1.5 s: within the tolerance
    assert len(calls) == 3
    assert replicas.choose_replica() == "replica1"  # cached for CHECK_SECONDS (60 here)
    assert len(calls) == 3


def test_failed_replica_read_is_served_again_from_the_primary(replica_settings, monkeypatch):
    lags = iter([0.0, None])  # answering at the check; then dead, measured again at once
    monkeypatch.setattr(replicas, "measure_lag", lambda alias: next(lags))
    response, attempts = serve("GET", "/v1/holders", fail_on_replica=True)
    assert response.status_code == 200
    assert attempts == ["replica1", "default"]
    assert serve("GET", "/v1/holders", organization=ORG_B)[1] == ["default"]  # known down


def test_failed_replica_read_that_a_new_connection_serves_stays_on_the_replica(
    replica_settings, monkeypatch
):
    """The thread's replica connection was to a server that has gone (a failover); measured
    again over a new connection the replica answers: the request is served from it, and the
    primary (perhaps the server that went) is not asked."""
    measured = []
    monkeypatch.setattr(replicas, "measure_lag", lambda alias: measured.append(alias) or 0.0)
    failures = iter([True, False])
    state_failed = []

    def view(request):
        middleware.process_view(request, None, (), {})
        alias = router.db_for_read(Holder)
        state_failed.append(alias)
        if alias != "default" and next(failures):
            replicas._state.get().failed.add(alias)
            return HttpResponse(status=503)
        return HttpResponse(status=200)

    middleware = replicas.ReplicaMiddleware(view)
    request = RequestFactory().get("/v1/holders", HTTP_X_ORGANIZATION_ID=ORG_B)
    request.resolver_match = resolve("/v1/holders")
    assert middleware(request).status_code == 200
    assert state_failed == ["replica1", "replica1"]
    assert measured == ["replica1", "replica1"]  # at the check, then again after the failure


def test_a_failed_read_of_the_primary_leaves_the_replica_in_use(replica_settings, monkeypatch):
    """A GET that read from the replica and then failed on the primary (down: a failover) is not
    the replica's failure: it is not served again from that primary, and the replica is not
    marked down, so the other readers stay on it (issue 26)."""
    monkeypatch.setattr(replicas, "measure_lag", lambda alias: 0.0)
    response, attempts = serve("GET", "/v1/holders", fail_on_primary=True)
    assert response.status_code == 503
    assert attempts == ["replica1"]
    assert serve("GET", "/v1/holders", organization=ORG_B)[1] == ["replica1"]


@pytest.mark.parametrize(
    ("lag", "method", "waits"),
    [(None, "GET", True), (0.0, "GET", False), (None, "POST", False)],
    ids=["no-replica-usable", "replica-read", "write"],
)
def test_a_read_no_replica_takes_waits_out_the_primarys_backoff(
    replica_settings, monkeypatch, lag, method, waits
):
    """Issue 26: the instant the standby is promoted it takes writes and is no read source; a
    read then goes to the primary, and this thread's primary connection may be in its reconnect
    backoff (its old primary's connection failed the health check a moment ago), which refused
    the read at once (`NotReconnecting`). It waits out the backoff instead; a read the replica
    serves, and a write, do not wait. The backoff is the backend's (`backoff_left`), the refusal
    a view that answers 503 while it lasts, as the backend does."""
    backoff_until = time.monotonic() + 0.3
    left = lambda: max(0.0, backoff_until - time.monotonic())  # noqa: E731
    monkeypatch.setattr(connections["default"], "backoff_left", left, raising=False)
    monkeypatch.setattr(replicas, "measure_lag", lambda alias: lag)
    factory = RequestFactory()
    request = getattr(factory, method.lower())("/v1/holders", HTTP_X_ORGANIZATION_ID=ORG_B)
    request.resolver_match = resolve("/v1/holders")

    def view(req):
        middleware.process_view(req, None, (), {})
        alias = router.db_for_read(Holder)
        refused = alias == "default" and left() > 0
        return HttpResponse(status=503 if refused else 200, headers={"X-Read-From": alias})

    middleware = replicas.ReplicaMiddleware(view)
    response = middleware(request)

    read_from = "replica1" if (method == "GET" and lag is not None) else "default"
    assert response["X-Read-From"] == read_from
    assert response.status_code == (200 if waits or read_from == "replica1" else 503)


def test_measure_lag_of_a_primary_or_a_dead_server_is_none(
    replica_settings, django_db_blocker, caplog
):
    """Against real servers: a PostgreSQL that is not in recovery, and a closed port. Each is
    refused for its own reason, which the warning names."""
    import os

    import environ

    url = os.environ.get("CRM_TEST_POSTGRES_URL", "postgres://root@127.0.0.1:5432/postgres")
    dead = f"postgres://root@127.0.0.1:{free_port()}/postgres"
    databases = {
        name: {**environ.Env.db_url_config(address), "ENGINE": "crm.db.postgresql"}
        for name, address in (("not_a_standby", url), ("dead", dead))
    }
    for settings_dict in databases.values():
        settings_dict["OPTIONS"] = {"connect_timeout": 2}
    configured = connections.configure_settings({"default": {}, **databases})
    del configured["default"]
    from crm.db.postgresql.base import DatabaseWrapper

    reasons = {
        "not_a_standby": "replica not_a_standby takes writes (promoted?)",
        "dead": "replica dead unreachable, reading from the primary: OperationalError",
    }
    for name, settings_dict in configured.items():
        wrapper = DatabaseWrapper(settings_dict, name)
        connections[name] = wrapper
        try:
            caplog.clear()
            with (
                django_db_blocker.unblock(),  # servers of their own, not the suite's database
                caplog.at_level("WARNING", logger="crm.db.replicas"),
            ):
                assert replicas.measure_lag(name) is None
            # Closed: the next check connects again (a multi-host replica URL with
            # target_session_attrs=prefer-standby then finds whichever node is a standby).
            assert wrapper.connection is None
            messages = [r.getMessage() for r in caplog.records if r.name == "crm.db.replicas"]
            assert len(messages) == 1 and messages[0].startswith(reasons[name]), messages
        finally:
            wrapper.close()
            del connections[name]


@contextlib.contextmanager
def real_replica(name: str, **options):
    """`connections[name]`: this machine's PostgreSQL (not in recovery) as a replica alias,
    with `options` (libpq's) for its sessions; closed and removed on exit."""
    import os

    import environ

    from crm.db.postgresql.base import DatabaseWrapper

    url = os.environ.get("CRM_TEST_POSTGRES_URL", "postgres://root@127.0.0.1:5432/postgres")
    database = {**environ.Env.db_url_config(url), "ENGINE": "crm.db.postgresql"}
    database["OPTIONS"] = {"connect_timeout": 2, **options}
    settings_dict = connections.configure_settings({"default": {}, name: database})[name]
    wrapper = DatabaseWrapper(settings_dict, name)
    connections[name] = wrapper
    try:
        yield wrapper
    finally:
        wrapper.close()
        del connections[name]


READ_ONLY_SESSIONS = "-c default_transaction_read_only=on"


def test_a_promoted_replica_that_takes_no_writes_is_still_read(replica_settings, django_db_blocker):
    """During a failover pg_auto_failover promotes the standby and keeps it read-only until the
    old primary is known to be down (it has every acknowledged write): readers stay on it.
    Here a server that is not in recovery, with its session read-only as such a node's are."""
    with real_replica("fenced", options=READ_ONLY_SESSIONS), django_db_blocker.unblock():
        assert replicas.measure_lag("fenced") == 0.0


def test_a_threads_old_connection_to_a_promoted_server_is_measured_again(
    replica_settings, django_db_blocker
):
    """A thread's connection made to the standby before it was promoted now reaches a server
    that takes writes; a new connection (prefer-standby: the standby that rejoined) may not:
    the check measures one before giving the replica up for everyone (in the failover test
    that given-up second sent reads to the primary just before it was killed). Here new
    sessions are read-only and the thread's old one is made writable."""
    with (
        real_replica("was_standby", options=READ_ONLY_SESSIONS) as wrapper,
        django_db_blocker.unblock(),
    ):
        wrapper.ensure_connection()
        old = wrapper.connection
        old.execute("SET default_transaction_read_only = off")
        assert replicas.measure_lag("was_standby") == 0.0
        assert wrapper.connection is not old and old.closed


@pytest.mark.parametrize(
    ("options", "kept"), [({}, False), ({"options": READ_ONLY_SESSIONS}, True)]
)
def test_a_threads_replica_connection_to_a_writable_server_is_dropped_before_reading(
    django_db_blocker, options, kept
):
    """Each thread has its own replica connection; with `prefer-standby` it lands on the primary
    while no standby is up, and kept it until that primary died under the next failover (the
    reads refused in the failover test's later rounds). Before a read it is dropped if its
    server takes writes (the next query connects again and finds the standby); one to a
    read-only server is kept. No round trip: the server reports both settings."""
    with real_replica("thread_replica", **options) as wrapper, django_db_blocker.unblock():
        wrapper.ensure_connection()
        replicas.release_if_writable("thread_replica")
        assert (wrapper.connection is not None) is kept


def test_reads_from_the_standby_go_on_when_the_primary_is_gone(replicated_stack):
    """Issue 26, "reads from the standby uninterrupted": in the failover test a few reads of an
    organization that never writes were refused (503) right after the primary's postmaster
    was killed, with `AdminShutdown` on the PRIMARY's connection: some part of serving a GET
    besides the record read used `default`. Here the primary is stopped (fast: its open
    connections get `AdminShutdown`, as the failover's did) after every worker thread has used
    its primary connection, and each read the API offers a reader — a holder, the holder list,
    an alias, the alias list, a holder's versions — must still be answered 200 by the standby.
    What stays on the primary (a caller who wrote within the sticky window) is
    docs/scaling.md's read-your-writes, not tested here."""
    primary, standby, port, process, scratch = replicated_stack
    seed = call(port, "POST", "/v1/holders", new_holder("Standby Reader"), organization=ORG_B)
    assert seed.status == 201, seed.body[:200]
    holder_id = seed.json()["id"]
    alias = call(
        port, "POST", f"/v1/holders/{holder_id}/aliases",
        {"ledgerId": str(uuid.uuid4()), "accountId": str(uuid.uuid4())}, organization=ORG_B,
    )  # fmt: skip
    assert alias.status == 201, alias.body[:200]
    alias_id = alias.json()["id"]
    # Every worker thread (2 x 4) opens its connection to the primary with a write of A's.
    for number in range(16):
        written = call(port, "POST", "/v1/holders", new_holder(f"A {number}"), organization=ORG_A)
        assert written.status == 201, written.body[:200]
    wait_replayed(primary, standby)
    time.sleep(STICKY + CHECK + 0.2)  # B's writes no longer pin its reads to the primary
    paths = [
        f"/v1/holders/{holder_id}",
        "/v1/holders?limit=10",
        f"/v1/holders/{holder_id}/aliases/{alias_id}",
        f"/v1/aliases?holder_id={holder_id}",
        f"/v1/holders/{holder_id}/versions",
    ]
    before = [get(port, path, ORG_B) for path in paths]
    assert [a.status for a in before] == [200] * len(paths), [a.body[:200] for a in before]

    primary.halt("fast")
    answers = [(path, get(port, path, ORG_B)) for _ in range(4) for path in paths]
    refused = [(path, a.status, a.error, a.body[:200]) for path, a in answers if a.status != 200]
    log = (scratch / "gunicorn.log").read_text(errors="replace")
    assert refused == [], (refused, log[-6000:])
    assert process.poll() is None
