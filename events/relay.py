"""The relay: publishes pending outbox rows to the broker, in order per aggregate, and marks
them sent; retries with backoff; purges sent rows after their retention period.

At-least-once: a row is marked sent only after the broker confirmed it, so a relay killed
between the two publishes that row again on restart, with the same event id (consumers dedupe
on it). Several relays may run at once on PostgreSQL: each claims its batch with
`SELECT … FOR UPDATE SKIP LOCKED`. SQLite has no row locks: run one relay there.

Order per aggregate: a batch holds at most one event per aggregate, the aggregate's earliest
pending one (an aggregate with an earlier event still pending — claimed by another relay, or
waiting for a retry — has none in the batch). So the whole batch can be published at once and
its confirms awaited together (one broker round trip per batch), and a refused (nacked) event
never has a later event of its aggregate published, or marked sent, ahead of it: the rows the
broker confirmed are marked sent, a refused one is retried with backoff and its aggregate's
later events wait behind it, rows left unconfirmed by a lost connection stay pending.

Between batches that were not full the relay waits `batch_interval` (rows gather into fewer,
larger batches instead of one query-publish-mark cycle per row at the API's pace); a full
batch is followed at once by the next, so a backlog drains at full speed.
"""

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Exists, OuterRef, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from crm.db.durability import wait_for_standby
from crm.db.rows import relax_commit
from crm.observability import tracing
from events import catalogue
from events.broker import UNAVAILABLE, Publisher
from events.models import PENDING, OutboxEvent, PendingEvent

logger = logging.getLogger("events.relay")

PURGE_CHUNK = 1000


@dataclass
class RelayOptions:
    broker_url: str
    exchange: str
    batch_size: int = 100
    poll_interval: float = 1.0
    batch_interval: float = 0.1
    max_backoff: float = 30.0
    retention: dt.timedelta = dt.timedelta(days=7)
    purge_interval: float = 60.0


@dataclass
class RelayStats:
    """What this relay did since it started; its metrics listener serves these counts
    (`events.metrics.RelayCollector`)."""

    published: int = 0
    refused: int = 0
    purged: int = 0
    batches: int = 0
    broker_failures: int = 0
    database_failures: int = 0
    errors: list[str] = field(default_factory=list)


# What the claim selects, in `PendingEvent`'s order: the payload as the stored JSON text.
_CLAIMED_COLUMNS = [
    Cast(name, TextField()) if name == "payload" else name for name in PendingEvent._fields
]


def backoff(attempt: int, ceiling: float) -> float:
    """0.5 s, 1 s, 2 s, ... up to `ceiling`."""
    return min(ceiling, 0.5 * 2 ** max(0, attempt - 1))


class Relay:
    def __init__(
        self,
        options: RelayOptions,
        *,
        stop: threading.Event | None = None,
        publisher_factory: Callable[[str, str], Publisher] = Publisher,
    ) -> None:
        self.options = options
        self.stop = stop or threading.Event()
        self.publisher_factory = publisher_factory
        self.publisher: Publisher | None = None
        self.stats = RelayStats()
        self._last_purge: float | None = None

    # --- The loop ------------------------------------------------------------------------------

    def run(self, *, once: bool = False) -> RelayStats:
        """Relay until `stop` is set (SIGTERM), or with `once` until nothing is left to send
        (then return; a broker that cannot be reached ends it with `ConnectionError`)."""
        failures = 0
        try:
            while not self.stop.is_set():
                if not connection.in_atomic_block:  # a long run: drop a broken connection
                    close_old_connections()
                try:
                    publisher = self._publisher()
                    sent = self.relay_batch(publisher)
                    self._maybe_purge()
                    failures = 0
                except UNAVAILABLE as exc:
                    failures += 1
                    self.stats.broker_failures += 1
                    self._drop_publisher()
                    if once:
                        raise ConnectionError(f"broker unreachable ({type(exc).__name__})") from exc
                    wait = backoff(failures, self.options.max_backoff)
                    logger.warning(
                        "broker unreachable (%s); retrying in %.1f s", type(exc).__name__, wait
                    )
                    self.stop.wait(wait)
                    continue
                except DatabaseError as exc:
                    failures += 1
                    self.stats.database_failures += 1
                    connection.close()
                    if once:
                        raise
                    wait = backoff(failures, self.options.max_backoff)
                    logger.warning(
                        "database unavailable (%s); retrying in %.1f s", type(exc).__name__, wait
                    )
                    self.stop.wait(wait)
                    continue
                if sent == 0:
                    if once:
                        break
                    self._idle(self.options.poll_interval)
                elif sent < self.options.batch_size and not once:
                    self._idle(self.options.batch_interval)
        finally:
            self._drop_publisher()
        return self.stats

    def _publisher(self) -> Publisher:
        if self.publisher is None:
            self.publisher = self.publisher_factory(self.options.broker_url, self.options.exchange)
            logger.info("connected to the broker; exchange %s", self.options.exchange)
        return self.publisher

    def _drop_publisher(self) -> None:
        if self.publisher is not None:
            self.publisher.close()
            self.publisher = None

    def _idle(self, seconds: float) -> None:
        """Wait for new rows, answering heartbeats, waking at once on `stop`."""
        remaining = seconds
        while remaining > 0 and not self.stop.is_set():
            step = min(0.2, remaining)
            if self.publisher is not None:
                self.publisher.idle(step)
            else:
                self.stop.wait(step)
            remaining -= step

    # --- One batch -----------------------------------------------------------------------------

    def relay_batch(self, publisher: Publisher) -> int:
        """Claim, publish and mark one batch; returns the rows handled (sent or refused).
        With row locks (PostgreSQL) the claim, the publishing and the marking are one
        transaction; without them (SQLite) the batch is read, published, then marked, so API
        writers never wait for the broker. Rows the broker confirmed before it went away are
        marked sent before the failure is raised. The marking's commit does not wait for the
        disk (`relax_commit`): if the database crashes before it is flushed, the rows are pending
        again and are published again with the same event ids (at-least-once, as documented).
        A claimed batch is published only once the synchronous standby has its rows
        (`crm.db.durability`): no event goes out for a write a failover may still lose."""
        lock = connection.features.has_select_for_update_skip_locked
        with transaction.atomic() if lock else contextlib.nullcontext():
            if lock:
                relax_commit()  # a batch lost in a crash goes again, with the same event ids
            batch = self._claim(lock=lock)
            if batch:
                # Only rows the synchronous standby has: an old primary restarted after a
                # crash shows commits a failover then loses (docs/high-availability.md).
                wait_for_standby(connection)
            handled, failure = self._publish(publisher, batch)
        if failure is not None:
            raise failure
        return handled

    def _claim(self, *, lock: bool) -> list[PendingEvent]:
        """Up to `batch_size` due rows in `seq` order, each the earliest pending event of its
        aggregate (so at most one per aggregate), locked (`SKIP LOCKED`) with row locks."""
        now = timezone.now()
        earlier = OutboxEvent.objects.filter(
            PENDING, aggregate_id=OuterRef("aggregate_id"), seq__lt=OuterRef("seq")
        )
        due = (
            OutboxEvent.objects.filter(PENDING)
            .exclude(next_attempt_at__gt=now)
            .filter(~Exists(earlier))
            .order_by("seq")
        )
        if lock:
            due = due.select_for_update(skip_locked=True)
        rows = due.values_list(*_CLAIMED_COLUMNS)[: self.options.batch_size]
        return [PendingEvent(*values) for values in rows]

    def _publish(
        self, publisher: Publisher, batch: list[PendingEvent]
    ) -> tuple[int, BaseException | None]:
        """Publish the batch at once and wait for its confirms; mark the confirmed rows sent,
        schedule the refused ones for a retry, leave the unanswered ones pending. A lost
        broker is returned, to raise once the marking is committed."""
        if not batch:
            return 0, None
        spans = self._publish_spans(batch)
        try:
            confirms = publisher.publish(batch)
        except UNAVAILABLE as exc:
            self._end_spans(spans, [None] * len(batch), type(exc).__name__)
            return 0, exc
        lost = type(confirms.failure).__name__ if confirms.failure else "unconfirmed"
        self._end_spans(spans, confirms.outcomes, lost)
        sent = [row.seq for row, ok in zip(batch, confirms.outcomes, strict=True) if ok]
        refused = [row for row, ok in zip(batch, confirms.outcomes, strict=True) if ok is False]
        if sent:
            OutboxEvent.objects.filter(seq__any_of=sent).update(sent_at=timezone.now())
            self.stats.published += len(sent)
            self.stats.batches += 1
            logger.info("published %d event(s)", len(sent))
        for row in refused:
            self._retry_later(row)
        self.stats.refused += len(refused)
        return len(sent) + len(refused), confirms.failure

    def _publish_spans(self, batch: list[PendingEvent]) -> list:
        """Telemetry on: one producer span per event, a child of the write that appended it
        (the row's `traceparent`), so a request's trace goes on to the relay's publish; ended
        when the broker has answered (`_end_spans`). Off: none."""
        if not tracing.enabled():
            return []
        return [
            tracing.start_span(
                f"publish {catalogue.ce_type(row.type)}",
                kind="producer",
                traceparent=row.traceparent,
                attributes={
                    "messaging.system": "rabbitmq",
                    "messaging.operation.type": "send",
                    "messaging.destination.name": self.options.exchange,
                    "messaging.rabbitmq.destination.routing_key": catalogue.ce_type(row.type),
                    "messaging.message.id": str(row.event_id),
                    "cloudevents.event_id": str(row.event_id),
                    "cloudevents.event_type": catalogue.ce_type(row.type),
                    "crm.outbox.seq": row.seq,
                    "crm.organization_id": str(row.organization_id),
                },
            )
            for row in batch
        ]

    @staticmethod
    def _end_spans(spans: list, outcomes: list[bool | None], failure: str) -> None:
        """End the publish spans: a refused event's failed (`nack`), an unanswered one's failed
        with the connection's failure."""
        for span, confirmed in zip(spans, outcomes, strict=False):
            if confirmed is False:
                tracing.fail(span, "nack")
            elif confirmed is None:
                tracing.fail(span, failure)
            span.end()

    def _retry_later(self, row: PendingEvent) -> None:
        attempts = row.attempts + 1
        wait = backoff(attempts, self.options.max_backoff)
        OutboxEvent.objects.filter(seq=row.seq).update(
            attempts=attempts, next_attempt_at=timezone.now() + dt.timedelta(seconds=wait)
        )
        logger.warning(
            "broker refused event seq=%d (attempt %d); retrying in %.1f s", row.seq, attempts, wait
        )

    # --- Retention -----------------------------------------------------------------------------

    def _maybe_purge(self) -> None:
        now = time.monotonic()
        if self._last_purge is not None and now - self._last_purge < self.options.purge_interval:
            return
        self._last_purge = now
        self.purge_sent()

    def purge_sent(self) -> int:
        """Delete rows sent longer than the retention period ago, in chunks."""
        cutoff = timezone.now() - self.options.retention
        total = 0
        while True:
            chunk = list(
                OutboxEvent.objects.filter(sent_at__lt=cutoff).values_list("seq", flat=True)[
                    :PURGE_CHUNK
                ]
            )
            if not chunk:
                break
            OutboxEvent.objects.filter(seq__in=chunk).delete()
            total += len(chunk)
        if total:
            self.stats.purged += total
            logger.info("purged %d sent event(s) older than %s", total, self.options.retention)
        return total
