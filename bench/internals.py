"""`python -m bench.internals`: what each private Django / psycopg / pika API the code still
uses buys, measured against the public path it stands in for (docs/internals.md).

    .venv/bin/python -m bench.internals                           # SQLite (a temporary file)
    DATABASE_URL=postgres://root@127.0.0.1:5432/wtlibs .venv/bin/python -m bench.internals

On PostgreSQL it works in a database of its own (`<name>_internals_bench`, created and dropped),
and measures the relay's frame batching against the RabbitMQ of `CRM_TEST_AMQP_URL` (the local
one by default) when it answers. Each figure is µs per call, the best of `--rounds` rounds in
which the variants alternate, so that a busy machine slows all of them alike.
"""

import argparse
import contextlib
import copy
import os
import sys
import timeit
import uuid
from collections.abc import Callable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
# No server-side statement timeout: dropping the benchmark's database may take longer than
# the API's 5 s on a busy machine.
os.environ.setdefault("DB_STATEMENT_TIMEOUT_MS", "0")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

ORG = uuid.UUID("0196a3f4-1c2b-7cde-8f00-00000000be01")
BODY = {
    "type": "NATURAL_PERSON",
    "name": "Maria Benchmark Silva",
    "document": "91315026015",
    "externalId": "EXT-001",
    "addresses": {
        "primary": {
            "line1": "Rua A, 1",
            "zipCode": "01000-000",
            "city": "São Paulo",
            "state": "SP",
            "country": "BR",
        }
    },
    "contact": {"primaryEmail": "maria@example.com", "mobilePhone": "+5511987654321"},
    "naturalPerson": {"birthDate": "1990-05-17", "motherName": "Ana Silva"},
    "metadata": {"segment": "retail", "tier": 2},
}
ALIAS_BODY = {
    "ledgerId": "ledger-1",
    "accountId": "account-1",
    "bankingDetails": {"branch": "0001", "account": "123-4", "iban": "BR97003603050000100097"},
    "relatedParties": [
        {
            "document": "11144477735",
            "name": "Ana",
            "role": "LEGAL_REPRESENTATIVE",
            "startDate": "2025-01-01",
        }
    ],
}


def best_of(variants: dict[str, Callable[[], object]], *, rounds: int, number: int) -> dict:
    """µs per call of each variant: the best round, variants alternating within each round."""
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(rounds):
        for name, call in variants.items():
            seconds = timeit.timeit(call, number=number)
            best[name] = min(best[name], seconds / number * 1e6)
    return best


def report(title: str, figures: dict[str, float]) -> None:
    print(f"\n{title}")
    for name, micros in figures.items():
        print(f"  {micros:9.1f} µs  {name}")


def by_id_read(rounds: int) -> None:
    """`crm.models.one_or_error` (the SQL compiled once, through the compiler's internals)
    against the ORM's public path for the same read."""
    from crm.models import one_or_error
    from holders.models import Holder
    from holders.services import holder_create

    holder = holder_create(organization_id=ORG, data={**BODY, "document": "52998224725"})

    def orm():
        found = Holder.all_objects.filter(organization_id=ORG, id=holder.id).live().first()
        assert found is not None

    report(
        f"GET by id, the read alone ({connection.vendor})",
        best_of(
            {
                "one_or_error (compiled once: SQLCompiler internals)": lambda: one_or_error(
                    Holder, "CRM-0006", organization_id=ORG, id=holder.id
                ),
                "QuerySet.filter(...).live().first() (public)": orm,
            },
            rounds=rounds,
            number=300,
        ),
    )


def body_validation(rounds: int) -> None:
    """`crm.api.serializers.unbound_copy` against DRF's deep copy of the declared fields."""
    from aliases.serializers import AliasCreateSerializer
    from crm.api import serializers as crm_serializers
    from holders.serializers import HolderCreateSerializer

    ours = crm_serializers.unbound_copy

    def validating(serializer_class, body, copier):
        def run():
            crm_serializers.unbound_copy = copier
            try:
                crm_serializers.validate_input(serializer_class, body)
            finally:
                crm_serializers.unbound_copy = ours

        return run

    report(
        "Validating a body (no database)",
        best_of(
            {
                "holder, unbound_copy (public attributes)": validating(
                    HolderCreateSerializer, BODY, ours
                ),
                "holder, copy.deepcopy (DRF's get_fields)": validating(
                    HolderCreateSerializer, BODY, copy.deepcopy
                ),
                "alias, unbound_copy (public attributes)": validating(
                    AliasCreateSerializer, ALIAS_BODY, ours
                ),
                "alias, copy.deepcopy (DRF's get_fields)": validating(
                    AliasCreateSerializer, ALIAS_BODY, copy.deepcopy
                ),
            },
            rounds=rounds,
            number=200,
        ),
    )


def prepared_writes(rounds: int) -> None:
    """A holder create's one multi-table `INSERT` (`crm.db.rows.insert_rows`: the holder, its
    name tokens, metadata pairs and audit entry), prepared on the server (the backend's
    `ServerBindingCursor` subclass) and parsed and planned on every call, in a transaction
    rolled back at the end (no commit's disk flush in the figure)."""
    from django.db import transaction

    from crm.crypto.metadata_index import metadata_pair_rows
    from crm.db.rows import Row, insert_rows
    from crm.lifecycle import audit
    from holders.services import holder_build

    def rows_of(number: int) -> list:
        holder = holder_build(organization_id=ORG, data={**BODY, "document": f"doc-{number}"})
        entry = audit.entry_row(
            "create",
            object_type="holder",
            object_id=holder.pk,
            organization_id=ORG,
            changed_fields=("name",),
        )
        return [Row.of_new(holder), *holder.name_token_rows(), *metadata_pair_rows(holder), entry]

    number = 50
    batches = iter([rows_of(n) for n in range(2 * number * rounds + 2)])

    def with_prepared(on: bool):
        def run():
            if connection.prepared_writes != on:
                connection.close()  # the cursor class is chosen as the connection opens
                connection.prepared_writes = on
            with transaction.atomic():
                for _ in range(number):
                    insert_rows(next(batches))
                transaction.set_rollback(True)

        return run

    figures = best_of(
        {
            "INSERT prepared on the server (WritePreparingCursor)": with_prepared(True),
            "INSERT parsed and planned on every call (Django's cursor)": with_prepared(False),
        },
        rounds=rounds,
        number=1,
    )
    report(
        "A create's INSERT statement (PostgreSQL), per create",
        {name: micros / number for name, micros in figures.items()},
    )
    connection.close()
    connection.prepared_writes = True


def health_check(rounds: int) -> None:
    """The check Django runs before reusing a persistent connection: skipped when the
    server answered a moment ago (`close_if_health_check_failed`, `health_check_done`),
    against Django's `SELECT 1`."""
    connection.ensure_connection()
    saved = connection.health_check_idle_seconds

    def check(idle_seconds: float):
        def run():
            connection.health_check_idle_seconds = idle_seconds
            connection.health_check_enabled = True
            connection.health_check_done = False
            connection.close_if_health_check_failed()

        return run

    with contextlib.ExitStack() as restore:
        restore.callback(setattr, connection, "health_check_idle_seconds", saved)
        report(
            "Reusing a persistent connection (PostgreSQL)",
            best_of(
                {
                    "skipped: the server answered within the idle window": check(3600.0),
                    "Django's SELECT 1 (under the health-check deadline)": check(0.0),
                },
                rounds=rounds,
                number=300,
            ),
        )


def client_deadline(rounds: int) -> None:
    """What the client deadline (psycopg's `Connection.wait` overridden, `_WaitTimeout`
    caught) costs a query: its gain is that a frozen server answers 503 within the deadline
    instead of hanging (docs/reliability.md), not speed."""
    connection.ensure_connection()
    raw = connection.connection
    saved = raw.wait_timeout

    def select(timeout):
        def run():
            raw.wait_timeout = timeout
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()

        return run

    try:
        report(
            "SELECT 1 on an open connection (PostgreSQL)",
            best_of(
                {
                    "with the client deadline (DeadlineConnection.wait)": select(6.0),
                    "without (psycopg's wait, no timeout)": select(None),
                },
                rounds=rounds,
                number=300,
            ),
        )
    finally:
        raw.wait_timeout = saved


def relay_batching(rounds: int) -> None:
    """The relay publishing batches of 60 events with their frames written as one
    (`BatchingConnection`, through pika's `_adapter_emit_data`) and as pika writes them."""
    import datetime as dt
    import json

    import pika

    from events import broker
    from events.relay import PendingEvent

    url = os.environ.get("CRM_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    exchange = f"crm-bench-internals-{uuid.uuid4().hex[:8]}"
    try:
        publisher = broker.Publisher(url, exchange)
    except pika.exceptions.AMQPError as exc:
        print(f"\nRelay batching: no broker at {url} ({type(exc).__name__}), not measured")
        return
    payload = json.dumps({"id": str(uuid.uuid4()), "organizationId": str(ORG), "type": "x"})
    rows = [
        PendingEvent(
            seq=number,
            event_id=uuid.uuid4(),
            type="holder.created",
            aggregate_id=uuid.uuid4(),
            organization_id=ORG,
            payload=payload,
            occurred_at=dt.datetime.now(dt.UTC),
            attempts=0,
        )
        for number in range(60)
    ]
    held = broker.BatchingConnection.batching

    def publish(batching: bool):
        def run():
            broker.BatchingConnection.batching = held if batching else _unbatched
            try:
                confirms = publisher.publish(rows)
            finally:
                broker.BatchingConnection.batching = held
            assert all(confirms.outcomes), confirms

        return run

    try:
        figures = best_of(
            {
                "frames of a batch written as one (_adapter_emit_data)": publish(True),
                "each frame written as pika writes it": publish(False),
            },
            rounds=rounds,
            number=20,
        )
    finally:
        with contextlib.suppress(Exception):
            publisher.channel.exchange_delete(exchange)
        publisher.close()
    report(
        "Publishing a batch of 60 events and waiting for the confirms (RabbitMQ), per event",
        {name: micros / len(rows) for name, micros in figures.items()},
    )


@contextlib.contextmanager
def _unbatched(self):
    yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    rounds = parser.parse_args().rounds
    setup_test_environment()
    database = settings.DATABASES["default"]
    if connection.vendor == "postgresql":
        database.setdefault("TEST", {})["NAME"] = f"{database['NAME']}_internals_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"{connection.vendor}, Python {sys.version.split()[0]}, Django {django.__version__}")
        body_validation(rounds)
        by_id_read(rounds)
        if connection.vendor == "postgresql":
            prepared_writes(rounds)
            health_check(rounds)
            client_deadline(rounds)
            relay_batching(rounds)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
