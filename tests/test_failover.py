"""Losing the database primary (docs/high-availability.md): a pg_auto_failover formation under
load, its primary's postmaster killed, and nothing acknowledged lost.

The test starts a monitor and two nodes with the shipped commands (`tests.formation`,
`deploy/pg_auto_failover/formation.sh`) in temporary directories on free ports, migrates,
serves the application with gunicorn (`config/gunicorn.conf.py`, production settings) on the
formation's multi-host URI (`target_session_attrs=read-write`), reads from the standby through
`DATABASE_REPLICA_URLS` (the same hosts, `target_session_attrs=prefer-standby`), and runs the
change-event relay against the formation and the machine's RabbitMQ. Then, for each round
(`FAILOVER_ROUNDS`, default 2: a failover and the failover back):

* 8 writers create holders and PATCH their own holders, every request with an
  `Idempotency-Key`, each retried with the same key and body after a 503 until it is answered;
  2 readers read holders of an organization that never writes (served by the standby);
* the primary's postmaster is SIGKILLed mid-load, and its address held until the monitor has
  decided to fail over (`Formation.kill_primary`: left alone, pg_autoctl restarts a killed
  postmaster in place as often as not, and there is no failover); the load goes on until
  writes have succeeded again for a few seconds;
* the killed node rejoins as a standby (the shipped check passes again) before the next round.

Then `FAILOVER_NODE_ROUNDS` (default 1) rounds kill the whole primary node instead, as when its
machine dies (`Formation.kill_node`: its pg_autoctl keeper's process group and its postmaster,
SIGKILL; nothing restarts it): the monitor promotes the standby once the node has stopped
reporting for `node_considered_unhealthy_timeout` and failed its health checks, plus
`primary_demote_timeout`, the timing `formation.sh settings` ships (the defaults took 50 s).
The same load and the same checks, the 30 s bound on the RTO included; then its keeper is
started again and the node rejoins as a standby.

It checks: every request was answered within `DB_CLIENT_TIMEOUT_MS` + 1 s (the client's
deadline: no answer within it fails the test) with a 2xx or a JSON 503 CRM-0907 with
`Retry-After` — never a 500, never 409 CRM-0910 for a retry after a 503; writes succeeded
again within 30 s of the kill; on the final primary, every create is exactly one holder (the one
its answers named) and every holder carries the value of its last acknowledged PATCH; every
event in the outbox was published and nothing was published that the outbox does not have.
It prints, and writes to `artifacts/failover.json`, the time from each kill to the first
successful write (RTO) and to the last 503, the reads refused, and the counts checked.

No read from the standby is refused. The readers' organization last wrote before the sticky
window of read-your-writes, so its reads are the standby's, and a GET uses the primary for
nothing else (docs/high-availability.md, cause 8). At the instant the standby is promoted and
takes writes, the router stops reading from it (a replica that takes writes is no read source)
and reads go to the primary — the same node — through the worker thread's primary connection,
which can still be in its one-second reconnect backoff after a timed-out health check of the
old primary's connection: one read in 89 rounds was refused so, until such a read waited out
the backoff (`crm.db.replicas.wait_out_primary_backoff`). Each round reports the causes the
server logged for the writes and reads it refused (`refusal_reasons`).

The second test makes the two failures the issue reported happen on purpose, with a plain
synchronous primary/standby pair: a replay (and a relay) on an old primary that shows a commit
its standby lacks, and a key whose request died with the old primary.

Marked `failover`: it runs in a CI step of its own (`make test-failover`), not in the two
suite legs. `FAILOVER_ROUNDS=5 make test-failover` measures five failovers in a row.
"""

import contextlib
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pika
import psycopg
import pytest

from crm.api.idempotency import key_hash
from tests.formation import Formation, FormationError
from tests.servers import (
    ORG,
    ROOT,
    Answer,
    Cluster,
    app_environment,
    call,
    free_port,
    gunicorn,
    migrate,
    postgres_bin,
)

pytestmark = pytest.mark.failover

ROUNDS = int(os.environ.get("FAILOVER_ROUNDS", "2"))
# Then this many rounds that kill the whole primary node (keeper and PostgreSQL), as when its
# machine dies: the monitor's timing (formation.sh settings) decides how soon.
NODE_ROUNDS = int(os.environ.get("FAILOVER_NODE_ROUNDS", "1"))
WRITERS = 8
READERS = 2
LOAD_BEFORE_KILL = 2.0  # seconds of load on the healthy formation before each kill
LOAD_AFTER_RECOVERY = 3.0  # seconds of load once writes succeed again
RTO_BOUND = 30.0  # writes refused for at most this long after the kill (the target)
CLIENT_TIMEOUT_MS = 6000  # the application's DB_CLIENT_TIMEOUT_MS (its default)
DEADLINE = CLIENT_TIMEOUT_MS / 1000 + 1  # no request may wait longer (the target)
# The application's DATABASE_REPLICA_STICKY_SECONDS (its default: the lag tolerance 2 s plus
# the check interval 1 s), and a margin.
STICKY_SECONDS = 3.0 + 0.5
BROKER_URL = os.environ.get("CRM_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
WRITER_ORG = "0196a3f4-1c2b-7cde-8f00-0000000000f1"
READER_ORG = "0196a3f4-1c2b-7cde-8f00-0000000000f2"
WAIT_SECONDS = 120  # bound on waits for another process (never an assertion on time)


def holder_body(name: str) -> dict:
    return {"type": "NATURAL_PERSON", "name": name, "document": f"{uuid.uuid4().int:011d}"[:11]}


# --- The load ------------------------------------------------------------------------------------


@dataclass
class Operation:
    """One logical write, sent again with the same key and body after each 503."""

    method: str
    path: str
    body: dict
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    holder_id: str | None = None  # a PATCH's holder; a create's once answered
    counter: int = 0  # the value a PATCH writes
    answers: list[Answer] = field(default_factory=list)

    @property
    def final(self) -> Answer | None:
        return self.answers[-1] if self.answers else None

    @property
    def acknowledged(self) -> bool:
        return self.final is not None and self.final.status in (200, 201)


class Load:
    """Writers and readers against the service until `stop` is set."""

    def __init__(self, port: int, reader_ids: list[str]) -> None:
        self.port = port
        self.reader_ids = reader_ids
        self.operations: list[Operation] = []
        self.reads: list[Answer] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.own: dict[int, dict[str, int]] = defaultdict(dict)  # writer -> holder -> counter

    def start(self) -> None:
        self.stop.clear()
        self.threads = [
            *(threading.Thread(target=self.writer, args=(n,)) for n in range(WRITERS)),
            *(threading.Thread(target=self.reader) for _ in range(READERS)),
        ]
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        """Stop; each writer first gets an answer other than 503 for its operation in flight."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=WAIT_SECONDS)
        assert not any(thread.is_alive() for thread in self.threads), "a client never finished"

    def send(self, operation: Operation) -> Answer:
        return call(
            self.port,
            operation.method,
            operation.path,
            operation.body,
            organization=WRITER_ORG,
            timeout=DEADLINE,
            headers={"Idempotency-Key": operation.key},
        )

    def writer(self, number: int) -> None:
        rng = random.Random(number)
        own = self.own[number]
        while not self.stop.is_set():
            if len(own) < 3 or rng.random() < 0.4:
                operation = Operation("POST", "/v1/holders", holder_body(f"Writer {number}"))
            else:
                holder_id = rng.choice(sorted(own))
                counter = own[holder_id] + 1
                operation = Operation(
                    "PATCH",
                    f"/v1/holders/{holder_id}",
                    {"metadata": {"writer": str(number), "counter": counter}},
                    holder_id=holder_id,
                    counter=counter,
                )
            with self.lock:
                self.operations.append(operation)
            retry_until = time.monotonic() + WAIT_SECONDS
            while True:  # the same request again after a 503, until it is answered
                answer = self.send(operation)
                operation.answers.append(answer)
                if answer.status != 503 or time.monotonic() > retry_until:
                    break
                time.sleep(0.1)
            if answer.status == 201:
                operation.holder_id = answer.json()["id"]
                own[operation.holder_id] = 0
            elif answer.status == 200:
                own[operation.holder_id] = operation.counter
            elif answer.status != 503:
                return  # an answer the test refuses: nothing sensible to send next

    def reader(self) -> None:
        rng = random.Random()
        while not self.stop.is_set():
            holder_id = rng.choice(self.reader_ids)
            answer = call(
                self.port, "GET", f"/v1/holders/{holder_id}", organization=READER_ORG,
                timeout=DEADLINE,
            )  # fmt: skip
            with self.lock:
                self.reads.append(answer)
            time.sleep(0.05)

    def first_success_since(self, moment: float) -> Answer | None:
        """The write started after `moment` that succeeded first, if any."""
        done = [a for a in self.writes_since(moment) if a.status in (200, 201)]
        return min(done, key=lambda a: a.started + a.elapsed) if done else None

    def writes_since(self, moment: float) -> list[Answer]:
        with self.lock:
            return [
                answer
                for operation in self.operations
                for answer in list(operation.answers)
                if answer.started >= moment
            ]


# --- The stack -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def formation():
    try:
        formation = Formation()
    except FormationError as exc:
        pytest.fail(str(exc))
    try:
        formation.start()
        yield formation
    finally:
        formation.stop()


@contextlib.contextmanager
def event_queue():
    """An exchange of the test's own on the machine's RabbitMQ, and a queue of everything
    published to it: (name, channel)."""
    name = f"crm-test-failover-{uuid.uuid4().hex[:12]}"
    parameters = pika.URLParameters(BROKER_URL)
    # Idle for the whole scenario (minutes with FAILOVER_ROUNDS=5): a blocking connection sends
    # no heartbeats while unused, and the broker closed it (connection reset) after ~3 minutes.
    parameters.heartbeat = 0
    broker = pika.BlockingConnection(parameters)
    channel = broker.channel()
    channel.exchange_declare(name, exchange_type="topic", durable=True)
    channel.queue_declare(name)
    channel.queue_bind(name, name, routing_key="#")
    try:
        yield name, channel
    finally:
        channel.queue_delete(name)
        channel.exchange_delete(name)
        broker.close()


@pytest.fixture(scope="module")
def exchange():
    with event_queue() as declared:
        yield declared


@pytest.fixture(scope="module")
def stack(formation, exchange, tmp_path_factory):
    port = free_port()
    env = app_environment(formation.uri(), port)
    env.update(
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="16",
        DB_CLIENT_TIMEOUT_MS=str(CLIENT_TIMEOUT_MS),
        DATABASE_REPLICA_URLS=formation.uri(attrs="prefer-standby"),
        CACHE_URL=f"filecache://{tmp_path_factory.mktemp('cache')}",
        EVENTS_ENABLED="true",
        EVENTS_BROKER_URL=BROKER_URL,
        EVENTS_EXCHANGE=exchange[0],
    )
    migrate(env)
    logs = tmp_path_factory.mktemp("logs")
    relay_log = (logs / "relay.log").open("wb")
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "relay_events", "--poll-interval", "0.2",
         "--max-backoff", "2"],
        cwd=ROOT, env=env, stdout=relay_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        with gunicorn(env, logs) as server:
            wait_until(lambda: call(port, "GET", "/readyz").status == 200, "the service")
            yield port, server, relay, logs
    finally:
        relay.terminate()
        try:
            relay.wait(timeout=30)
        except subprocess.TimeoutExpired:
            relay.kill()
            relay.wait(timeout=10)
        relay_log.close()


def wait_until(condition, what: str, seconds: float = WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def refusal_reasons(log: Path, answers: list[Answer]) -> dict[str, int]:
    """How many of `answers`' 503s the server logged with each reason (its "database
    unavailable, answering 503: …" line, matched by request id); "not logged" for the rest."""
    logged = re.compile(r"request_id=(?P<id>\S+) database unavailable, answering 503: (?P<why>.*)")
    reasons = {
        match["id"]: match["why"].strip()
        for match in map(logged.search, log.read_text(errors="replace").splitlines())
        if match
    }
    counted: dict[str, int] = defaultdict(int)
    for answer in answers:
        counted[reasons.get(answer.headers.get("x-request-id", ""), "not logged")] += 1
    return dict(counted)


# --- The scenario --------------------------------------------------------------------------------


def test_the_primary_dies_and_nothing_acknowledged_is_lost(formation, stack, exchange):
    port, server, relay, logs = stack
    reader_ids = []
    for number in range(5):
        seeded = call(port, "POST", "/v1/holders", holder_body(f"Read {number}"), READER_ORG)
        assert seeded.status == 201, seeded.body[:300]
        reader_ids.append(seeded.json()["id"])
    # The readers' organization wrote just now: read-your-writes keeps its reads on the primary
    # for the sticky window (crm/db/replicas.py), and a kill inside it refused them. Past it,
    # its reads are the standby's.
    time.sleep(STICKY_SECONDS)
    load = Load(port, reader_ids)
    rounds = []
    kinds = ["postmaster"] * ROUNDS + ["node"] * NODE_ROUNDS
    for number, kind in enumerate(kinds, start=1):
        load.start()
        try:
            time.sleep(LOAD_BEFORE_KILL)
            killed = formation.kill_primary() if kind == "postmaster" else formation.kill_node()
            killed_at = time.monotonic()

            first = wait_until(
                lambda moment=killed_at: load.first_success_since(moment),
                "a successful write after the kill",
                RTO_BOUND,
            )
            time.sleep(LOAD_AFTER_RECOVERY)
        finally:
            load.finish()
        if kind == "node":
            formation.restart_node(killed.name)  # its machine is back: it rejoins as a standby
        refused = [a for a in load.writes_since(killed_at) if a.status == 503]
        with load.lock:
            refused_reads = [
                a
                for a in load.reads
                if a.status == 503 and a.started >= killed_at - LOAD_BEFORE_KILL
            ]
        reads_refused = [round(a.started - killed_at, 1) for a in refused_reads]
        promoted = formation.wait_stable()  # the killed node rejoined as a standby
        rounds.append(
            {
                "round": number,
                "kill": kind,
                "killed": killed.name,
                "promoted": promoted.name,
                "rto_seconds": round(first.started + first.elapsed - killed_at, 2),
                "last_503_seconds": round(
                    max((a.started + a.elapsed for a in refused), default=killed_at) - killed_at,
                    2,
                ),
                "writes_refused": len(refused),
                "writes_refused_because": refusal_reasons(logs / "gunicorn.log", refused),
                "reads_refused": len(reads_refused),
                "reads_refused_from_to": [min(reads_refused), max(reads_refused)]
                if reads_refused
                else [],
                # Why, in the server's words (its 503 log line, by request id): the cause of a
                # refused read is what a reader of this figure needs first.
                "reads_refused_because": refusal_reasons(logs / "gunicorn.log", refused_reads),
                "slowest_answer_seconds": round(
                    max(a.elapsed for a in load.writes_since(killed_at - LOAD_BEFORE_KILL)), 2
                ),
            }
        )
        print(f"round {number}: {rounds[-1]}")
        assert promoted.name != killed.name, "the monitor did not fail over"
    assert relay.poll() is None, "the relay exited"
    wait_until(lambda: outbox_drained(formation), "the relay to drain the outbox")
    findings = verify(formation, load, exchange)

    log = (logs / "gunicorn.log").read_text(errors="replace")
    figures = {
        "rounds": rounds,
        "final_primary": promoted.name,
        **{
            name: len(found) if isinstance(found, list) else found
            for name, found in findings.items()
        },
        "reads": len(load.reads),
        "reads_refused": sum(1 for a in load.reads if a.status == 503),
    }
    print(json.dumps(figures, indent=2))
    artifacts = ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "failover.json").write_text(json.dumps(figures, indent=2) + "\n")

    # Reads from the standby went on through every failover.
    assert figures["reads_refused"] == 0, [
        (r["round"], r["reads_refused_from_to"], r["reads_refused_because"]) for r in rounds
    ]
    # Every request was answered within the deadline: a 2xx, or a JSON 503 CRM-0907.
    assert findings["unanswered"] == [], findings["unanswered"][:5]
    assert findings["wrong_answers"] == [], findings["wrong_answers"][:5]
    # A retry after a 503 got the original answer or a fresh execution, never a stuck key.
    assert findings["unresolved"] == [], findings["unresolved"][:5]
    assert findings["creates_naming_two_holders"] == []
    # On the final primary: each create is exactly one holder, each PATCH's value is there.
    assert findings["lost_creates"] == [], findings["lost_creates"][:5]
    assert findings["extra_holders"] == [], findings["extra_holders"][:5]
    assert findings["lost_patches"] == [], findings["lost_patches"][:5]
    # The relay published every committed event, and none that the outbox does not have.
    assert findings["unpublished_events"] == [], len(findings["unpublished_events"])
    assert findings["published_but_lost"] == [], len(findings["published_but_lost"])
    assert "WORKER TIMEOUT" not in log
    assert server.poll() is None


def outbox_drained(formation: Formation) -> bool:
    with formation.connect() as connection:
        return connection.execute(
            "SELECT count(*) = 0 FROM events_outboxevent WHERE sent_at IS NULL"
        ).fetchone()[0]


def verify(formation: Formation, load: Load, exchange) -> dict:
    """Every property the test holds, as lists of what breaks it (empty: holds), and the
    counts checked."""
    writes = [(operation, answer) for operation in load.operations for answer in operation.answers]
    answers = [(f"{o.method} {o.path}", a) for o, a in writes] + [("GET", a) for a in load.reads]
    creates = [operation for operation in load.operations if operation.method == "POST"]
    last_patch: dict[str, int] = {}
    for operation in load.operations:
        if operation.method == "PATCH" and operation.acknowledged:
            last_patch[operation.holder_id] = operation.counter
    with formation.connect() as connection:
        rows = dict(
            connection.execute(
                "SELECT id::text, metadata FROM holders_holder WHERE organization_id = %s",
                [WRITER_ORG],
            ).fetchall()
        )
        committed = {
            str(row[0])
            for row in connection.execute("SELECT event_id FROM events_outboxevent").fetchall()
        }
    published = drain(exchange[1], exchange[0])
    answered_ids = {operation.holder_id for operation in creates if operation.acknowledged}
    return {
        "requests": len(writes),
        "acknowledged_writes": sum(1 for _, a in writes if a.status in (200, 201)),
        "acknowledged_creates": len(answered_ids),
        "patched_holders": len(last_patch),
        "events_checked": len(committed),
        "unanswered": [(what, a.error) for what, a in answers if a.status is None],
        "wrong_answers": [
            (what, a.status, a.body[:200])
            for what, a in answers
            if a.status is not None and not answered_well(a)
        ],
        "unresolved": [
            (o.method, o.path, o.final.status if o.final else None)
            for o in load.operations
            if not o.acknowledged
        ],
        "creates_naming_two_holders": [
            o.key
            for o in creates
            if len({a.json()["id"] for a in o.answers if a.status == 201}) > 1
        ],
        "lost_creates": sorted(answered_ids - set(rows)),
        "extra_holders": sorted(set(rows) - answered_ids),
        "lost_patches": [
            (holder_id, rows.get(holder_id, {}).get("counter"), counter)
            for holder_id, counter in last_patch.items()
            if (rows.get(holder_id) or {}).get("counter") != counter
        ],
        "unpublished_events": sorted(committed - published),
        "published_but_lost": sorted(published - committed),
    }


def answered_well(answer: Answer) -> bool:
    """A 2xx, or a JSON 503 CRM-0907 with Retry-After."""
    if answer.status in (200, 201):
        return True
    return (
        answer.status == 503
        and answer.headers.get("content-type", "").startswith("application/json")
        and answer.json().get("code") == "CRM-0907"
        and bool(answer.headers.get("retry-after"))
    )


def drain(channel, queue: str) -> set[str]:
    """Every event id in the queue."""
    seen = set()
    while True:
        method, properties, _ = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return seen
        seen.add(properties.headers["cloudEvents_id"])


# --- The two causes, deterministically -----------------------------------------------------------


@pytest.fixture
def synchronous_pair(tmp_path):
    """A primary whose commits wait for its streaming standby (plain PostgreSQL, clusters of
    the test's own: `tests.servers.Cluster`), both stopped at the end."""
    bindir = postgres_bin()
    if bindir is None or not (bindir / "pg_ctl").exists():
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) are not installed: see README")
    primary, standby = Cluster(bindir, "crm-sync-primary-"), Cluster(bindir, "crm-sync-standby-")
    try:
        primary.settings["synchronous_commit"] = "on"  # the clusters' test default is off
        primary.start(replication=True)
        standby.replicate_from(primary)
        with psycopg.connect(primary.conninfo, autocommit=True) as connection:
            # pg_basebackup -R names no application: the standby streams as "walreceiver".
            connection.execute("ALTER SYSTEM SET synchronous_standby_names = 'walreceiver'")
            connection.execute("SELECT pg_reload_conf()")
        wait_until(lambda: synchronous(primary), "the standby to be synchronous")
        yield primary, standby
    finally:
        standby.stop()
        primary.stop()


def synchronous(primary) -> bool:
    with psycopg.connect(primary.conninfo, autocommit=True) as connection:
        row = connection.execute("SELECT sync_state FROM pg_stat_replication").fetchone()
    return row is not None and row[0] == "sync"


def relay_once(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "relay_events", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )


@pytest.fixture
def events():
    with event_queue() as declared:
        yield declared


def test_a_retry_is_never_answered_from_what_the_standby_lacks(synchronous_pair, events, tmp_path):
    """The two ways a retry after a 503 went wrong across a failover, made to happen on
    purpose. A create's reservation reaches the standby, then its completion (the holder and
    the stored answer) commits on the primary but never reaches the standby (stopped
    meanwhile): the client gets a 503, as when the primary dies at that moment. The
    primary crashes and restarts, still the primary, as pg_autoctl restarts a killed one.

    * The retry, still on that primary, used to be answered 201 at once (a replay commits
      nothing, so nothing waited for the standby): after the failover that holder is gone.
      Now the replay's commit waits for the standby like a write's: 503.
    * The standby is promoted; the retry finds the reservation replicated but its request's
      session gone, takes it over and runs afresh: 201 (it used to be 409 CRM-0910 for the
      120 s of the in-progress timeout). One holder per create in the end."""
    primary, standby = synchronous_pair
    port = free_port()
    url = (
        f"postgres://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/crm"
        "?target_session_attrs=read-write"
    )
    env = app_environment(url, port)
    # A short client deadline keeps the test quick; a long lock_timeout lets the test hold the
    # create at its completion for as long as it needs.
    # One worker thread, one connection: once it has reconnected after a restart, the next
    # answer is the application's, not a stale connection's.
    env.update(WEB_CONCURRENCY="1", GUNICORN_THREADS="1")
    env.update(DB_CLIENT_TIMEOUT_MS="3000", DB_LOCK_TIMEOUT_MS="20000")
    env.update(EVENTS_ENABLED="true", EVENTS_BROKER_URL=BROKER_URL, EVENTS_EXCHANGE=events[0])
    migrate(env)

    def post(key: str, body: dict) -> Answer:
        return call(port, "POST", "/v1/holders", body, headers={"Idempotency-Key": key})

    with gunicorn(env, tmp_path) as server:
        wait_until(lambda: call(port, "GET", "/readyz").status == 200, "the service")
        first_body = holder_body("Replicated")
        first = post("k-first", first_body)
        assert first.status == 201, first.body[:300]

        # Hold the second create after its reservation has committed (its holder's INSERT
        # waits for a table lock), stop the standby, then let it complete: the completion
        # commits on the primary only, and the client's deadline answers 503.
        body = holder_body("Committed on the primary only")
        hashed = key_hash(uuid.UUID(ORG), "k-second")
        answers: list[Answer] = []
        sender = threading.Thread(target=lambda: answers.append(post("k-second", body)))
        with psycopg.connect(primary.conninfo) as blocker:
            with blocker.transaction():
                blocker.execute("LOCK TABLE holders_holder IN SHARE MODE")
                sender.start()
                wait_until(lambda: waiting_on_lock(primary), "the create to wait for the lock")
                standby.halt()  # nothing more reaches it
            sender.join(timeout=WAIT_SECONDS)
        assert answers and answers[0].status == 503, answers
        # The primary crashes and restarts before anyone demotes it (pg_autoctl restarts a
        # killed postmaster at once): its recovery makes the completion visible, which its
        # session kept invisible while waiting for the standby.
        primary.halt()
        primary.launch()
        with psycopg.connect(primary.conninfo, autocommit=True) as connection:
            assert connection.execute(
                "SELECT state FROM crm_idempotencyrecord WHERE key_hash = %s", [hashed]
            ).fetchone() == ("completed",)

        holder = f"/v1/holders/{first.json()['id']}"
        wait_until(lambda: call(port, "GET", holder).status == 200, "a read after the restart")
        retry_on_the_old_primary = post("k-second", body)
        assert retry_on_the_old_primary.status == 503, retry_on_the_old_primary.body[:300]
        # Nor does the relay publish the lost create's event from there: it waits for the
        # standby before publishing, and gives up.
        relayed = relay_once(env)
        assert relayed.returncode != 0, relayed.stdout
        assert "OperationalError" in relayed.stderr, relayed.stderr[-2000:]
        assert drain(events[1], events[0]) == set()

        primary.halt()  # the primary is lost; the standby comes back and is promoted
        standby.launch()
        standby.run(str(standby.bindir / "pg_ctl"), "-D", str(standby.data), "-w", "promote")

        retry = wait_until(lambda: answered(post("k-second", body)), "a write on the new primary")
        # Replays are the originals (a thread's first request after the failover may still
        # be a 503, on a connection to the old primary: then the client retries).
        again = wait_until(lambda: answered(post("k-first", first_body)), "a replay")
        assert retry.status == 201, retry.body[:300]
        assert retry.headers["idempotent-replayed"] == "false"  # ran afresh
        assert (again.status, again.body) == (201, first.body)
        assert server.poll() is None
        relayed = relay_once(env)
        assert relayed.returncode == 0, relayed.stderr[-2000:]
    with psycopg.connect(standby.conninfo, autocommit=True) as connection:
        holders = {
            str(row[0]) for row in connection.execute("SELECT id FROM holders_holder").fetchall()
        }
        committed = {
            str(row[0])
            for row in connection.execute("SELECT event_id FROM events_outboxevent").fetchall()
        }
    assert holders == {first.json()["id"], retry.json()["id"]}
    # Every committed event published, and nothing else (the lost create's event never).
    assert drain(events[1], events[0]) == committed and len(committed) == 2


def waiting_on_lock(primary) -> bool:
    with psycopg.connect(primary.conninfo, autocommit=True) as connection:
        return connection.execute(
            "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        ).fetchone()[0]


def answered(answer: Answer) -> Answer | None:
    """The answer, once it is not a 503 (the service reconnecting to the new primary)."""
    return None if answer.status == 503 else answer
