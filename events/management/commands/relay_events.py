"""`manage.py relay_events`: publish the change-event outbox to RabbitMQ (docs/events.md)."""

import datetime as dt
import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crm.observability import exposition, tracing
from events.metrics import RelayCollector
from events.relay import Relay, RelayOptions


def positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError(value)
    return number


def non_negative_float(value: str) -> float:
    number = float(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Publish pending change events from the outbox to RabbitMQ (CloudEvents 1.0, AMQP "
        "binary mode, durable topic exchange, routing key = event type, publisher confirms "
        "awaited once per batch), "
        "in order per record, and mark them sent. Runs until SIGTERM/SIGINT, which finish the "
        "batch in flight and exit 0. Retries a broker or database outage with exponential "
        "backoff; the outbox keeps accumulating meanwhile and drains when the broker returns. "
        "Several relays may run at once on PostgreSQL (SELECT ... FOR UPDATE SKIP LOCKED); on "
        "SQLite run one. Sent rows are deleted after --retention-hours. Log lines carry counts "
        "and event sequence numbers, never personal data. With METRICS_ENABLED=true and "
        "METRICS_RELAY_PORT set, its counters are served for Prometheus on "
        "METRICS_RELAY_HOST:METRICS_RELAY_PORT behind METRICS_TOKEN."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--broker-url",
            default=settings.EVENTS_BROKER_URL,
            help="AMQP URL (default: EVENTS_BROKER_URL), e.g. amqp://guest:guest@127.0.0.1:5672/",
        )
        parser.add_argument(
            "--exchange",
            default=settings.EVENTS_EXCHANGE,
            help="topic exchange, declared durable if missing (default: EVENTS_EXCHANGE, "
            "%(default)s)",
        )
        parser.add_argument(
            "--batch-size", type=int, default=100, help="events per batch (default %(default)s)"
        )
        parser.add_argument(
            "--poll-interval",
            type=positive_float,
            default=1.0,
            help="seconds between looks at an empty outbox (default %(default)s)",
        )
        parser.add_argument(
            "--batch-interval",
            type=non_negative_float,
            default=0.1,
            help="seconds to wait after a batch that was not full, so that events gather into "
            "fewer, larger batches (a full batch is followed at once; default %(default)s)",
        )
        parser.add_argument(
            "--max-backoff",
            type=positive_float,
            default=30.0,
            help="longest wait between retries after a broker failure, in seconds "
            "(default %(default)s)",
        )
        parser.add_argument(
            "--retention-hours",
            type=positive_float,
            default=settings.EVENTS_RETENTION_HOURS,
            help="hours sent events are kept before the purge (default: EVENTS_RETENTION_HOURS, "
            "%(default)s)",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="publish what is pending, purge, and exit (exit 1 if the broker is unreachable)",
        )

    def handle(self, *args, **options) -> None:
        if not options["broker_url"]:
            raise CommandError("No broker: set EVENTS_BROKER_URL or pass --broker-url.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        logging.getLogger("events.relay").setLevel(logging.INFO)
        # pika logs each failed connection attempt with a traceback; the relay's own line
        # ("broker unreachable (...); retrying in N s") says the same once.
        logging.getLogger("pika").setLevel(logging.CRITICAL)
        if not settings.EVENTS_ENABLED:
            self.stderr.write(
                "EVENTS_ENABLED is off: the service writes no new events; relaying what is left."
            )
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        relay = Relay(
            RelayOptions(
                broker_url=options["broker_url"],
                exchange=options["exchange"],
                batch_size=options["batch_size"],
                poll_interval=options["poll_interval"],
                batch_interval=options["batch_interval"],
                max_backoff=options["max_backoff"],
                retention=dt.timedelta(hours=options["retention_hours"]),
            ),
            stop=stop,
        )
        tracing.setup()  # ENABLE_TELEMETRY: a span per published event (docs/operations.md)
        listener = None
        if settings.METRICS_ENABLED and settings.METRICS_RELAY_PORT:
            listener = exposition.serve(
                [RelayCollector(relay.stats)],
                settings.METRICS_RELAY_HOST,
                settings.METRICS_RELAY_PORT,
                settings.METRICS_TOKEN,
            )
        try:
            try:
                stats = relay.run(once=options["once"])
            except ConnectionError as exc:
                raise CommandError(f"{exc}. Nothing more was sent.") from exc
            if options["once"]:
                relay.purge_sent()
        finally:
            tracing.shutdown()  # the spans still queued leave before the process does
            if listener is not None:
                listener.shutdown()
                listener.server_close()
        self.stdout.write(
            f"Relay stopped: {stats.published} published, {stats.refused} refused, "
            f"{stats.purged} purged."
        )
