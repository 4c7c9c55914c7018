"""Change events, relay side, against the RabbitMQ running on this machine (127.0.0.1:5672;
`CRM_TEST_AMQP_URL` to point elsewhere): exactly one published event per committed change,
none for a rolled-back one, nothing lost when the relay is killed mid-batch, rows that
accumulate while the broker is away and drain when it returns, no personal data on the wire.

Each test declares its own exchange and queue, so parallel runs never see each other's
messages."""

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

import pika
import pytest
from django.db import connection, transaction
from django.utils import timezone

from events import relay as relay_module
from events.broker import Confirms, Publisher
from events.models import OutboxEvent
from events.relay import Relay, RelayOptions
from registry.importing import Importer, sample_bodies
from tests.conftest import ORG_A, OrgClient
from tests.factories import AliasFactory, HolderFactory
from tests.servers import ROOT, free_port
from tests.test_events_outbox import PERSONAL, alias_body, holder_body

BROKER_URL = os.environ.get("CRM_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
# A bounded wait for something another process or thread does (never an assertion on time).
WAIT_SECONDS = 120


@dataclass
class Message:
    routing_key: str
    headers: dict
    content_type: str
    body: bytes

    @property
    def event_id(self) -> str:
        return self.headers["cloudEvents_id"]


@dataclass
class Queue:
    exchange: str
    name: str
    channel: object

    def drain(self) -> list[Message]:
        """Every message now in the queue (the relay returns only once the broker has
        confirmed what it published, so nothing is in flight)."""
        messages = []
        while True:
            method, properties, body = self.channel.basic_get(self.name, auto_ack=True)
            if method is None:
                return messages
            messages.append(
                Message(method.routing_key, properties.headers, properties.content_type, body)
            )


@pytest.fixture
def queue():
    name = f"crm-test-events-{uuid.uuid4().hex[:12]}"
    broker = pika.BlockingConnection(pika.URLParameters(BROKER_URL))
    channel = broker.channel()
    channel.exchange_declare(name, exchange_type="topic", durable=True)
    channel.queue_declare(name)
    channel.queue_bind(name, name, routing_key="#")
    yield Queue(name, name, channel)
    channel.queue_delete(name)
    channel.exchange_delete(name)
    broker.close()


@pytest.fixture
def events_on(settings):
    settings.EVENTS_ENABLED = True


def options(queue: Queue, **overrides) -> RelayOptions:
    return RelayOptions(broker_url=BROKER_URL, exchange=queue.exchange, **overrides)


def assert_matches_outbox(messages: list[Message], *, exactly_once: bool) -> None:
    """Every committed event was published, with its own payload and envelope; in order per
    aggregate; each id once (`exactly_once`) or, after a crash, duplicates of the same event."""
    rows = {str(row.event_id): row for row in OutboxEvent.objects.all()}
    seen = defaultdict(list)
    for message in messages:
        row = rows[message.event_id]  # no event the outbox does not have
        assert message.routing_key == f"studio.lerian.{row.type}"
        assert message.headers["cloudEvents_type"] == message.routing_key
        assert message.headers["cloudEvents_subject"] == str(row.aggregate_id)
        assert message.headers["cloudEvents_tenantid"] == str(row.organization_id)
        assert message.content_type == "application/json"
        assert json.loads(message.body) == row.payload
        seen[message.event_id].append(message)
    assert set(seen) == set(rows)
    if exactly_once:
        assert all(len(copies) == 1 for copies in seen.values())
    # Per aggregate, first deliveries come in outbox order.
    first_seen: dict[uuid.UUID, list[int]] = defaultdict(list)
    delivered: set[str] = set()
    for message in messages:
        if message.event_id in delivered:
            continue
        delivered.add(message.event_id)
        row = rows[message.event_id]
        first_seen[row.aggregate_id].append(row.seq)
    for sequence in first_seen.values():
        assert sequence == sorted(sequence)


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def holder_bodies(count: int, seed: int) -> list[dict]:
    """`POST /v1/holders` bodies (the importer's samples without their aliases)."""
    return [
        {key: value for key, value in body.items() if key != "aliases"}
        for body in sample_bodies(count, seed=seed)
    ]


def pending() -> int:
    return OutboxEvent.objects.filter(sent_at__isnull=True).count()


# --- Exactly one event per committed change ------------------------------------------------------


def test_burst_of_mixed_writes_publishes_exactly_one_event_per_committed_change(
    api, events_on, queue
):
    holders = []
    for body in holder_bodies(12, seed=7):
        response = api.post("/v1/holders", body)
        assert response.status_code == 201
        holders.append(response.json()["id"])
    aliases = []
    for number, holder_id in enumerate(holders[:6]):
        body = alias_body(accountId=f"acct-{number}")
        response = api.post(f"/v1/holders/{holder_id}/aliases", body)
        assert response.status_code == 201
        aliases.append((holder_id, response.json()))
    for holder_id in holders:
        api.patch(f"/v1/holders/{holder_id}", {"externalId": f"X-{holder_id[-4:]}"})
    for holder_id, alias in aliases[:3]:
        url = f"/v1/holders/{holder_id}/aliases/{alias['id']}"
        party = alias["relatedParties"][0]["id"]
        assert api.delete(f"{url}/related-parties/{party}").status_code == 204
        assert api.patch(url, {"metadata": {"k": "v"}}).status_code == 200
        assert api.delete(url).status_code == 204
        assert api.delete(url + "?hard_delete=true").status_code == 204
    for holder_id in holders[8:]:
        assert api.delete(f"/v1/holders/{holder_id}").status_code == 204
    assert api.delete(f"/v1/holders/{holders[11]}?hard_delete=true").status_code == 204
    # Refused and rolled-back writes: no event.
    assert api.post("/v1/holders", {"type": "NATURAL_PERSON"}).status_code == 400
    assert api.delete(f"/v1/holders/{holders[5]}").status_code == 400  # CRM-0017: live alias
    with contextlib.suppress(RuntimeError), transaction.atomic():
        HolderFactory()
        raise RuntimeError("rolled back")

    committed = OutboxEvent.objects.count()
    # 12 holders created and updated, 6 aliases created, 3 of them with a party removed,
    # updated, deleted and erased, 4 holders soft-deleted, one of them erased.
    assert committed == 12 * 2 + 6 + 3 * 4 + 4 + 1
    stats = Relay(options(queue, batch_size=7)).run(once=True)
    assert stats.published == committed
    messages = queue.drain()
    assert len(messages) == committed
    assert_matches_outbox(messages, exactly_once=True)
    assert pending() == 0


def test_a_relay_run_twice_publishes_nothing_twice(events_on, queue, db):
    HolderFactory()
    Relay(options(queue)).run(once=True)
    Relay(options(queue)).run(once=True)
    assert len(queue.drain()) == 1


# --- Crash, outage, refusal ----------------------------------------------------------------------


def relay_command(queue: Queue, *args: str) -> list[str]:
    return [
        sys.executable,
        "manage.py",
        "relay_events",
        "--broker-url",
        BROKER_URL,
        "--exchange",
        queue.exchange,
        *args,
    ]


def relay_environment() -> dict[str, str]:
    """The test database (committed rows) for a relay in another process."""
    database = connection.settings_dict
    if connection.vendor == "postgresql":
        url = (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        )
    else:
        url = f"sqlite:///{database['NAME']}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": url,
        "EVENTS_ENABLED": "true",
    }


def import_holders(count: int) -> None:
    payload = b"".join(json.dumps(body).encode() + b"\n" for body in sample_bodies(count))
    Importer(organization_id=ORG_A, workers=0, batch_size=500).run(io.BytesIO(payload))


def test_relay_killed_mid_batch_and_restarted_loses_nothing(events_on, queue, transactional_db):
    import_holders(3000)
    total = OutboxEvent.objects.count()
    assert total >= 3000
    process = subprocess.Popen(
        relay_command(queue, "--batch-size", "25"),
        cwd=ROOT,
        env=relay_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: OutboxEvent.objects.filter(sent_at__isnull=False).exists(), "a batch")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    marked = OutboxEvent.objects.filter(sent_at__isnull=False).count()
    assert 0 < marked < total  # killed mid-run
    restarted = subprocess.run(
        relay_command(queue, "--once"),
        cwd=ROOT,
        env=relay_environment(),
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert restarted.returncode == 0, restarted.stderr
    assert pending() == 0
    messages = queue.drain()
    assert_matches_outbox(messages, exactly_once=False)
    assert len({message.event_id for message in messages}) == total
    assert len(messages) - total <= 25  # at most the batch in flight is sent twice


class Forwarder:
    """A TCP port that forwards to the broker only while `up`: the broker "goes away" and
    "comes back" for a relay pointed at it."""

    def __init__(self, target_port: int = 5672) -> None:
        self.port = free_port()
        self.target_port = target_port
        self.server: socket.socket | None = None
        self.sockets: list[socket.socket] = []

    def start(self) -> None:
        self.server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


def test_broker_down_rows_accumulate_api_unaffected_then_drain(events_on, queue, transactional_db):
    forwarder = Forwarder()  # not started: a closed port
    relay = Relay(
        RelayOptions(
            broker_url=f"amqp://guest:guest@127.0.0.1:{forwarder.port}/%2F",
            exchange=queue.exchange,
            max_backoff=0.2,
            poll_interval=0.05,
        )
    )

    def run() -> None:
        try:
            relay.run()
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    try:
        wait_until(lambda: relay.stats.broker_failures >= 2, "the relay to meet the closed port")
        api = OrgClient(ORG_A)
        for body in holder_bodies(5, seed=3):
            assert api.post("/v1/holders", body).status_code == 201
        assert relay.stats.published == 0
        assert pending() == 5
        forwarder.start()  # the broker is back
        wait_until(lambda: pending() == 0, "the backlog to drain")
    finally:
        relay.stop.set()
        worker.join(timeout=30)
        forwarder.stop()
    assert not worker.is_alive()
    assert_matches_outbox(queue.drain(), exactly_once=True)


def test_once_with_an_unreachable_broker_fails_and_keeps_the_rows(events_on, db):
    HolderFactory()
    stale = RelayOptions(broker_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/", exchange="x")
    with pytest.raises(ConnectionError):
        Relay(stale).run(once=True)
    assert pending() == 1


def test_sigterm_ends_the_relay_gracefully(events_on, queue, transactional_db):
    HolderFactory()
    process = subprocess.Popen(
        relay_command(queue, "--poll-interval", "0.1"),
        cwd=ROOT,
        env=relay_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: pending() == 0, "the relay to publish")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Relay stopped: 1 published" in out
    assert "published 1 event(s)" in out + err
    for value in PERSONAL:
        assert value not in out + err
    assert len(queue.drain()) == 1


class RefusingPublisher:
    """Refuses the events of one aggregate, confirms the others (no broker); keeps each batch
    it was given."""

    def __init__(self, refused: uuid.UUID | None) -> None:
        self.refused = refused
        self.published: list[OutboxEvent] = []
        self.batches: list[list[OutboxEvent]] = []

    def publish(self, rows: list[OutboxEvent]) -> Confirms:
        self.batches.append(list(rows))
        outcomes = [row.aggregate_id != self.refused for row in rows]
        self.published += [row for row, ok in zip(rows, outcomes, strict=True) if ok]
        return Confirms(outcomes)


def test_a_refused_event_is_retried_later_and_holds_back_its_aggregate_only(events_on, db):
    refused = HolderFactory()
    other = HolderFactory()
    for holder in (refused, other):
        call_command_update(holder)
    relay = Relay(RelayOptions(broker_url="unused", exchange="unused"))
    publisher = RefusingPublisher(refused.pk)
    while relay.relay_batch(publisher):
        pass
    assert [row.aggregate_id for row in publisher.published] == [other.pk, other.pk]
    first = OutboxEvent.objects.filter(aggregate_id=refused.pk).order_by("seq").first()
    assert first.attempts == 1
    assert first.next_attempt_at > timezone.now()
    assert OutboxEvent.objects.filter(aggregate_id=refused.pk, sent_at__isnull=True).count() == 2
    # Once due, it goes first, then its successor.
    OutboxEvent.objects.update(next_attempt_at=None)
    publisher.refused = None
    while relay.relay_batch(publisher):
        pass
    assert [row.seq for row in publisher.published[2:]] == list(
        OutboxEvent.objects.filter(aggregate_id=refused.pk)
        .order_by("seq")
        .values_list("seq", flat=True)
    )


def test_a_nack_in_the_middle_of_a_batch_marks_the_others_and_retries_it_in_order(events_on, db):
    holders = [HolderFactory() for _ in range(5)]
    refused = holders[2]
    call_command_update(refused)  # a later event of the refused aggregate
    relay = Relay(RelayOptions(broker_url="unused", exchange="unused"))
    publisher = RefusingPublisher(refused.pk)
    relay.relay_batch(publisher)
    # One batch, one event per aggregate: the refused aggregate's update is not in it.
    assert [row.aggregate_id for row in publisher.batches[0]] == [h.pk for h in holders]
    # The confirmed rows before and after the refused one are marked sent; the refused one
    # waits for its retry, and its aggregate's update waits behind it.
    sent = set(
        OutboxEvent.objects.filter(sent_at__isnull=False).values_list("aggregate_id", flat=True)
    )
    assert sent == {h.pk for h in holders} - {refused.pk}
    created, updated = OutboxEvent.objects.filter(aggregate_id=refused.pk).order_by("seq")
    assert (created.sent_at, created.attempts) == (None, 1)
    assert created.next_attempt_at > timezone.now()
    assert updated.sent_at is None
    assert relay.relay_batch(publisher) == 0  # nothing due: the update is held back
    # Once due, the refused event goes, then (next batch) its successor.
    OutboxEvent.objects.update(next_attempt_at=None)
    publisher.refused = None
    while relay.relay_batch(publisher):
        pass
    assert [[row.seq for row in batch] for batch in publisher.batches[1:]] == [
        [created.seq],
        [updated.seq],
    ]
    assert pending() == 0
    assert relay.stats.refused == 1


def test_a_batch_refused_in_part_by_the_broker_marks_only_what_it_confirmed(events_on, db):
    """The real broker nacks what a full queue rejects (`x-overflow: reject-publish`): the
    first three of a batch of five are confirmed, the other two refused and retried."""
    name = f"crm-test-events-full-{uuid.uuid4().hex[:12]}"
    broker = pika.BlockingConnection(pika.URLParameters(BROKER_URL))
    channel = broker.channel()
    channel.exchange_declare(name, exchange_type="topic", durable=True)
    channel.queue_declare(name, arguments={"x-max-length": 3, "x-overflow": "reject-publish"})
    channel.queue_bind(name, name, routing_key="#")
    try:
        holders = [HolderFactory() for _ in range(5)]
        relay = Relay(RelayOptions(broker_url=BROKER_URL, exchange=name))
        stats = relay.run(once=True)
        assert (stats.published, stats.refused) == (3, 2)
        rows = list(OutboxEvent.objects.order_by("seq"))
        assert [row.sent_at is not None for row in rows] == [True] * 3 + [False] * 2
        assert [row.attempts for row in rows] == [0] * 3 + [1] * 2
        queue = Queue(name, name, channel)
        assert [m.event_id for m in queue.drain()] == [str(row.event_id) for row in rows[:3]]
        OutboxEvent.objects.update(next_attempt_at=None)  # due now
        assert (
            Relay(RelayOptions(broker_url=BROKER_URL, exchange=name)).run(once=True).published == 2
        )
        assert [m.event_id for m in queue.drain()] == [str(row.event_id) for row in rows[3:]]
        assert {row.aggregate_id for row in rows} == {h.pk for h in holders}
        assert pending() == 0
    finally:
        channel.queue_delete(name)
        channel.exchange_delete(name)
        broker.close()


def test_a_batch_reaches_the_socket_as_one_write_and_every_message_arrives(events_on, queue, db):
    """The publisher hands the transport a whole batch at once (`BatchingConnection`), not
    three frames per message; the broker still receives and confirms each message whole."""
    for _ in range(5):
        HolderFactory()
    rows = Relay(options(queue))._claim(lock=False)
    publisher = Publisher(BROKER_URL, queue.exchange)
    writes = []
    transport = publisher.connection._transport
    real_write = transport.write

    def counted_write(data: bytes) -> None:
        writes.append(data)
        real_write(data)

    transport.write = counted_write
    try:
        confirms = publisher.publish(rows)
        batch_writes = len(writes)
    finally:
        publisher.close()
    assert confirms.outcomes == [True] * 5
    assert batch_writes == 1
    assert [m.event_id for m in queue.drain()] == [str(row.event_id) for row in rows]


def call_command_update(holder) -> None:
    from holders.services import holder_update

    holder_update(organization_id=ORG_A, holder_id=holder.pk, patch={"externalId": "U"})


def test_backoff_doubles_up_to_the_ceiling():
    assert [relay_module.backoff(n, 5) for n in range(1, 6)] == [0.5, 1, 2, 4, 5]


def test_retention_purge_deletes_only_rows_sent_before_the_cutoff(events_on, db):
    old, recent, waiting = (HolderFactory() for _ in range(3))
    OutboxEvent.objects.filter(aggregate_id=old.pk).update(
        sent_at=timezone.now() - relay_module.dt.timedelta(days=8)
    )
    OutboxEvent.objects.filter(aggregate_id=recent.pk).update(sent_at=timezone.now())
    relay = Relay(RelayOptions(broker_url="unused", exchange="unused"))
    assert relay.purge_sent() == 1
    assert set(OutboxEvent.objects.values_list("aggregate_id", flat=True)) == {
        recent.pk,
        waiting.pk,
    }


# --- No personal data on the wire ----------------------------------------------------------------


def test_hard_delete_events_carry_no_personal_data(api, events_on, queue):
    holder_id = api.post("/v1/holders", holder_body()).json()["id"]
    alias = api.post(f"/v1/holders/{holder_id}/aliases", alias_body()).json()
    Relay(options(queue)).run(once=True)
    alias_url = f"/v1/holders/{holder_id}/aliases/{alias['id']}"
    assert api.delete(alias_url + "?hard_delete=true").status_code == 204
    assert api.delete(f"/v1/holders/{holder_id}?hard_delete=true").status_code == 204
    Relay(options(queue)).run(once=True)
    messages = queue.drain()
    assert [message.routing_key for message in messages] == [
        "studio.lerian.holder.created",
        "studio.lerian.alias.created",
        "studio.lerian.alias.deleted",
        "studio.lerian.holder.deleted",
    ]
    wire = json.dumps([[message.headers, message.body.decode()] for message in messages])
    stored = json.dumps(list(OutboxEvent.objects.values_list("payload", flat=True)))
    for value in PERSONAL:
        assert value not in wire
        assert value not in stored
    # The erased records' published events are gone from the outbox; their deletions remain
    # until the retention purge.
    assert list(OutboxEvent.objects.order_by("seq").values_list("type", flat=True)) == [
        "alias.deleted",
        "holder.deleted",
    ]


def test_relay_help_explains_its_options():
    result = subprocess.run(
        [sys.executable, "manage.py", "relay_events", "--help"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        capture_output=True,
        text=True,
        check=True,
    )
    for option in ("--broker-url", "--exchange", "--batch-size", "--retention-hours", "--once"):
        assert option in result.stdout
    assert "SKIP LOCKED" in result.stdout


# --- Several relays at once (row locks: PostgreSQL) ----------------------------------------------


@pytest.mark.postgresql  # SKIP LOCKED row locks: SQLite has one writer at a time
def test_concurrent_relays_never_send_an_event_twice(events_on, queue, transactional_db):
    holders = [HolderFactory() for _ in range(30)]
    for holder in holders:
        call_command_update(holder)
    AliasFactory(holder=holders[0])
    relays = [Relay(options(queue, batch_size=5)) for _ in range(3)]

    def run(relay: Relay) -> None:
        try:
            relay.run(once=True)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(relay,)) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_SECONDS)
    assert pending() == 0
    assert sum(relay.stats.published for relay in relays) == OutboxEvent.objects.count()
    assert_matches_outbox(queue.drain(), exactly_once=True)


def test_relay_without_a_broker_url_refuses_to_start(settings):
    settings.EVENTS_BROKER_URL = ""
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="EVENTS_BROKER_URL"):
        call_command("relay_events", "--broker-url", "")
