"""A frozen database (alive, accepting connections, never answering) fails fast (docs/api.md §6).

The test starts a PostgreSQL cluster of its own (initdb in a temporary directory, a free port;
as the `postgres` user when run as root), serves the application from it with gunicorn and the
project's `config/gunicorn.conf.py`, and freezes the cluster with SIGSTOP while requests are in
flight. It runs in both legs of CI (SQLite and PostgreSQL): it never uses the suite's database.

While frozen: every /v1 call answers JSON 503 CRM-0907 with Retry-After, `/health` answers
200 (it never touches the database), `/readyz` answers 503 and logs the database error that
ended its probe, and no gunicorn worker is killed. After SIGCONT: writes succeed again and
every 201 given before or during the freeze can be read back (no acknowledged write lost).

No assertion here is on elapsed time (timing is measured by `make bench`, not the suite). That
the answers come at all is the client's bound (`tests.servers.CLIENT_TIMEOUT_SECONDS`, far
above the database bounds, below the 30 s hang the contract rules out): a call without an
answer within it has no status and fails the test. Which bound ends a wait on a frozen server
(the client timeout of `crm.db.postgresql`) is checked in-process below, by the error it raises.
"""

import logging
import os
import subprocess
import threading
import time
import uuid

import pytest

from tests.servers import (
    Answer,
    Cluster,
    app_environment,
    call,
    free_port,
    gunicorn,
    migrate,
    postgres_bin,
)

FREEZE_SECONDS = 8  # how long the scenario keeps the database frozen (not a bound)


def new_holder() -> dict:
    return {
        "type": "NATURAL_PERSON",
        "name": "Frozen Test",
        "document": f"{uuid.uuid4().int:011d}"[:11],
    }


def wait_until_ready(port: int, process: subprocess.Popen, deadline_seconds: float = 60) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited during start-up"
        if call(port, "GET", "/readyz").status == 200:
            return
        time.sleep(0.2)
    pytest.fail("the service did not become ready")


def assert_database_unavailable(answer: Answer, what: str) -> None:
    assert answer.status == 503, (what, answer.status, answer.error, answer.body[:200])
    assert answer.headers.get("content-type", "").startswith("application/json"), what
    assert answer.json()["code"] == "CRM-0907", (what, answer.body[:200])
    assert answer.headers.get("retry-after"), what


def until_available(attempt, seconds: float = 30) -> Answer:
    """Repeat `attempt` while it answers 503 CRM-0907 (a thread may still be backing off from
    the frozen database, up to a second), for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        answer = attempt()
        if answer.status != 503 or time.monotonic() > deadline:
            return answer
        assert_database_unavailable(answer, "recovering")
        time.sleep(0.2)


@pytest.fixture
def frozen_stack():
    bindir = postgres_bin()
    if bindir is None or not (bindir / "pg_ctl").exists():
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are not installed: see README")
    cluster = Cluster(bindir)
    try:
        cluster.start()
        port = free_port()
        env = app_environment(cluster.url, port)
        # Enough threads that the concurrent calls below never queue behind one another:
        # what is measured is the database bounds, not the thread pool's size.
        env.update(WEB_CONCURRENCY="2", GUNICORN_THREADS="16")
        migrate(env)
        with gunicorn(env, cluster.dir) as process:
            wait_until_ready(port, process)
            yield cluster, port, process
    finally:
        cluster.stop()


def test_frozen_database_fails_fast_and_recovers(frozen_stack):
    cluster, port, process = frozen_stack
    seed = call(port, "POST", "/v1/holders", new_holder())
    assert seed.status == 201, seed.body
    holder_id = seed.json()["id"]
    calls = {
        "list": lambda: call(port, "GET", "/v1/holders"),
        "get": lambda: call(port, "GET", f"/v1/holders/{holder_id}"),
        "create": lambda: call(port, "POST", "/v1/holders", new_holder()),
    }
    answers: list[tuple[str, Answer]] = []
    created: list[str] = [holder_id]
    lock = threading.Lock()
    stop = threading.Event()

    def client(kind: str) -> None:
        while not stop.is_set():
            answer = calls[kind]()
            with lock:
                answers.append((kind, answer))
                if kind == "create" and answer.status == 201:
                    created.append(answer.json()["id"])

    clients = [threading.Thread(target=client, args=(kind,)) for kind in list(calls) * 2]
    try:
        for thread in clients:
            thread.start()
        time.sleep(0.5)  # requests in flight against a live database
        cluster.freeze()
        frozen_at = time.monotonic()

        time.sleep(0.5)  # the clients now wait on the frozen database
        health = [call(port, "GET", "/health") for _ in range(3)]
        ready = call(port, "GET", "/readyz")
        time.sleep(max(0.0, FREEZE_SECONDS - (time.monotonic() - frozen_at)))
        stop.set()
        for thread in clients:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in clients), "a client never got an answer"
    finally:
        stop.set()
        cluster.thaw()

    # /health answered while the database could answer nothing: it did not need it.
    for answer in health:
        assert answer.status == 200, (answer.status, answer.error, answer.body[:200])
        assert answer.body == b"healthy"
    # /readyz answered 503 because its probe got a database error (its connect or query bound
    # ended the wait on the frozen server), not because of anything else.
    assert ready.status == 503, (ready.status, ready.error, ready.body[:200])
    assert ready.json()["checks"]["database"]["status"] == "down"
    log = (cluster.dir / "gunicorn.log").read_text(errors="replace")
    assert "readiness check failed: OperationalError" in log

    timeline = [
        (kind, round(a.started - frozen_at, 2), round(a.elapsed, 2), a.status)
        for kind, a in answers
        if a.started + a.elapsed >= frozen_at
    ]
    print("kind, started after the freeze (s), took (s), status:", *timeline, sep="\n")
    during = [kind for kind, a in answers if a.started >= frozen_at]
    assert set(during) == set(calls), ("every endpoint was tried while frozen", timeline)
    for kind, answer in answers:
        # Every call was answered (within the client's bound: no hang, no dropped connection).
        assert answer.status is not None, (kind, answer.error, timeline)
        # Started while frozen: 503. In flight when it froze: done in time, or 503.
        if answer.started >= frozen_at or answer.status not in (200, 201):
            assert_database_unavailable(answer, kind)

    assert "WORKER TIMEOUT" not in log
    assert process.poll() is None

    # Thawed: the service recovers without a restart; nothing acknowledged was lost.
    recovered = until_available(lambda: call(port, "POST", "/v1/holders", new_holder()))
    assert recovered.status == 201, recovered.body[:200]
    created.append(recovered.json()["id"])
    for created_id in created:
        read = until_available(
            lambda created_id=created_id: call(port, "GET", f"/v1/holders/{created_id}")
        )
        assert read.status == 200, (created_id, read.body[:200])
        assert read.json()["id"] == created_id
    assert call(port, "GET", "/readyz").status == 200


# --- The mechanisms, in-process ------------------------------------------------------------


def test_health_never_touches_the_database(client, django_db_blocker):
    """Through the whole middleware stack: any database access would raise here."""
    with django_db_blocker.block():
        response = client.get("/health")

    assert response.status_code == 200
    assert response.content == b"healthy"


def test_client_timeout_ends_a_wait_the_server_does_not(django_db_blocker, caplog):
    """A server slower than `client_timeout` (here `pg_sleep`, with `statement_timeout` off)
    gets the connection closed and OperationalError, which the API answers 503 CRM-0907; the
    wrapper then refuses to reconnect for a moment, and reconnects after it. Runs in both CI
    legs against the machine's PostgreSQL (CRM_TEST_POSTGRES_URL), not the suite's database."""
    import environ
    from django.db import OperationalError, connections

    from crm.api.errors import to_crm_error
    from crm.db.postgresql.base import UNRESPONSIVE_BACKOFF_SECONDS, DatabaseWrapper

    url = os.environ.get("CRM_TEST_POSTGRES_URL", "postgres://root@127.0.0.1:5432/postgres")
    database = environ.Env.db_url_config(url)
    database.update(
        ENGINE="crm.db.postgresql",
        OPTIONS={"client_timeout": 0.5, "options": "-c statement_timeout=0"},
    )
    settings_dict = connections.configure_settings({"default": database})["default"]
    with django_db_blocker.unblock():  # not the suite's database: a server of its own
        slow = DatabaseWrapper(settings_dict, "slow")
        try:
            # The client's deadline ended the wait (its own message), not the server.
            with (
                pytest.raises(OperationalError, match=r"did not answer within 0\.5 s") as raised,
                slow.cursor() as cursor,
            ):
                cursor.execute("SELECT pg_sleep(5)")
            with caplog.at_level(logging.WARNING, logger="crm.api.errors"):
                assert to_crm_error(raised.value).code == "CRM-0907"
            assert slow.connection.closed
            assert 0 < slow.backoff_left() <= UNRESPONSIVE_BACKOFF_SECONDS

            slow.close()
            with pytest.raises(OperationalError, match="not reconnecting yet") as refused:
                slow.ensure_connection()
            with caplog.at_level(logging.WARNING, logger="crm.api.errors"):
                assert to_crm_error(refused.value).code == "CRM-0907"
            # Each refusal is logged once, with its cause in the service's words.
            assert [r.getMessage() for r in caplog.records if r.name == "crm.api.errors"] == [
                "database unavailable, answering 503: no answer within the client timeout "
                "(a frozen or lost server)",
                "database unavailable, answering 503: not reconnecting yet: the server did not "
                "answer this thread a moment ago",
            ]
            time.sleep(UNRESPONSIVE_BACKOFF_SECONDS)
            with slow.cursor() as cursor:
                cursor.execute("SELECT 1")
                assert cursor.fetchone() == (1,)
        finally:
            slow.close()
