"""Every private or undocumented API of Django, DRF, psycopg, pika and gunicorn the code still
relies on (docs/internals.md, STYLE rule 14), exercised and compared with what the public path
gives, so that an upgrade that changes one fails here, by name, before anything subtler fails
elsewhere. After upgrading any of those libraries, run this file first.

The psycopg and PostgreSQL backend tests build a backend of their own against the machine's
PostgreSQL (`CRM_TEST_POSTGRES_URL`), and the pika test publishes to its RabbitMQ
(`CRM_TEST_AMQP_URL`), so both CI legs run them whatever the suite's database is."""

import contextlib
import datetime as dt
import inspect
import json
import os
import pathlib
import re
import socket
import uuid

import environ
import pika
import psycopg
import pytest
from django.db import OperationalError, connection, connections
from django.db.backends.postgresql import base as django_postgresql
from gunicorn.workers import gthread
from rest_framework import serializers

from crm.db import internals
from crm.db.postgresql.base import (
    DatabaseWrapper,
    DeadlineConnection,
    PreparedSQL,
    WritePreparingCursor,
)
from crm.models import ERASURE_COLUMNS
from events import broker
from events.relay import PendingEvent
from holders.models import Holder
from holders.serializers import HolderCreateSerializer
from tests.conftest import ORG_A
from tests.factories import HolderFactory

ROOT = pathlib.Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("CRM_TEST_POSTGRES_URL", "postgres://root@127.0.0.1:5432/postgres")
BROKER_URL = os.environ.get("CRM_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")

# Each private name and the only modules allowed to use it (docs/internals.md's table).
PRIVATE_NAMES = {
    "get_compiler": {"crm/db/internals.py"},
    "klass_info": {"crm/db/internals.py"},
    "get_converters": {"crm/db/internals.py"},
    "_WaitTimeout": {"crm/db/internals.py"},
    "ServerBindingCursor": {"crm/db/internals.py", "crm/db/postgresql/base.py"},
    "health_check_done": {"crm/db/postgresql/base.py"},
    "close_if_health_check_failed": {"crm/db/postgresql/base.py"},
    "_adapter_emit_data": {"events/broker.py"},
    "enqueue_req": {"config/gunicorn_worker.py"},
    # Removed for public paths; they must not come back unnoticed.
    "_kwargs": set(),
    "_validators": set(),
    "_declared_fields": set(),
    "_registry": set(),
    "sql_with_params": set(),
    "AutoFieldMixin": set(),
    "integerfield_type_map": set(),
    "has_native_uuid_field": set(),
    "_pk_constraint_sql": set(),
    "_remake_table": set(),  # the squashed migrations create the composite keys themselves
    "_close(": set(),
}


def test_private_names_appear_only_in_their_listed_modules():
    sources = [
        path
        for package in ("crm", "holders", "aliases", "events", "staff", "config")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    ]
    found: dict[str, set[str]] = {name: set() for name in PRIVATE_NAMES}
    for path in sources:
        text = path.read_text()
        for name in PRIVATE_NAMES:
            if re.search(rf"\b{re.escape(name)}", text):
                found[name].add(str(path.relative_to(ROOT)))
    assert found == PRIVATE_NAMES


# --- Django's SQL compiler (crm.db.internals.compile_read; crm.models.one_or_error) ------------


@pytest.mark.django_db
@pytest.mark.parametrize("columns", [(), ERASURE_COLUMNS], ids=["every column", "erasure"])
def test_compiled_read_gives_the_instance_the_orm_gives(columns):
    holder = HolderFactory(name="Compilada", contact={"primaryEmail": "c@example.com"})
    queryset = Holder.all_objects.filter(organization_id=ORG_A, id=holder.id).order_by("pk")[:1]
    if columns:
        queryset = queryset.only(*columns)
    compiler = queryset.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()  # sets up `select` and `klass_info`
    assert sql.startswith("SELECT") and {ORG_A, ORG_A.hex} & set(params)
    assert set(compiler.klass_info) >= {"model", "select_fields"}, "SQLCompiler.klass_info"
    assert all(len(item) == 3 for item in compiler.select), "SQLCompiler.select: 3-tuples"
    assert isinstance(compiler.get_converters([]), dict), "SQLCompiler.get_converters"

    compiled = internals.compile_read(connection, queryset)
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, compiled.params)
        ours = compiled.instance(connection, cursor.fetchone())
    public = queryset.get()

    assert type(ours) is Holder
    assert ours._state.adding is False and ours._state.db == public._state.db
    assert ours.get_deferred_fields() == public.get_deferred_fields()
    for field in Holder._meta.concrete_fields:
        if field.attname not in public.get_deferred_fields():
            assert getattr(ours, field.attname) == getattr(public, field.attname), field.name
    if not columns:
        assert ours.name == "Compilada"  # decrypted by the field's converter
        assert ours.contact == {"primaryEmail": "c@example.com"}


# --- psycopg: Connection.wait(timeout=...) and _WaitTimeout (crm.db.postgresql) ----------------


def _postgres_wrapper(alias: str, **options) -> DatabaseWrapper:
    database = environ.Env.db_url_config(POSTGRES_URL)
    database.update(ENGINE="crm.db.postgresql", CONN_MAX_AGE=60, OPTIONS=options)
    database.update(CONN_HEALTH_CHECKS=True)
    settings_dict = connections.configure_settings({"default": database})["default"]
    return DatabaseWrapper(settings_dict, alias)


@pytest.fixture
def postgres(django_db_blocker):
    """A backend of this project's against the machine's PostgreSQL (never the suite's
    database): client deadline, server-side binding and prepared writes on."""
    with django_db_blocker.unblock():
        wrapper = _postgres_wrapper(
            "private-apis",
            client_timeout=0.5,
            options="-c statement_timeout=0",
            server_side_binding=True,
            prepared_writes=True,
            health_check_idle_seconds=3600,
        )
        try:
            yield wrapper
        finally:
            wrapper.close()


def test_psycopg_wait_takes_a_timeout_and_raises_its_private_timeout(postgres):
    assert "timeout" in inspect.signature(psycopg.Connection.wait).parameters
    assert issubclass(internals.WaitTimeout, psycopg.OperationalError)

    with pytest.raises(OperationalError) as raised, postgres.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(5)")

    ours = raised.value.__cause__  # Django's wrapper around the backend's OperationalError
    assert "did not answer within 0.5 s" in str(ours)
    assert isinstance(ours.__context__, internals.WaitTimeout)  # what psycopg raised
    assert postgres.connection.closed


def test_django_opens_plain_psycopg_connections_the_deadline_subclass_replaces(postgres):
    params = postgres.get_connection_params()
    plain = django_postgresql.DatabaseWrapper.get_new_connection(postgres, params)
    try:
        assert type(plain) is psycopg.Connection  # what the class swap takes over
    finally:
        plain.close()
    assert DeadlineConnection.__bases__ == (psycopg.Connection,)
    postgres.ensure_connection()
    assert type(postgres.connection) is DeadlineConnection
    with postgres.cursor() as cursor:
        cursor.execute("SELECT %s::int + 1", [1])
        assert cursor.fetchone() == (2,)


def test_server_binding_cursor_prepares_only_the_marked_statements(postgres):
    params = postgres.get_connection_params()
    assert params["cursor_factory"] is WritePreparingCursor
    assert issubclass(WritePreparingCursor, django_postgresql.ServerBindingCursor)
    assert internals.ServerBindingCursor is django_postgresql.ServerBindingCursor
    marked = PreparedSQL("SELECT %s::int + 40")
    with postgres.cursor() as cursor:
        for _ in range(2):
            cursor.execute(marked, [2])
            assert cursor.fetchone() == (42,)
            cursor.execute("SELECT %s::int + 41", [1])
            assert cursor.fetchone() == (42,)
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert [statement for statement in prepared if "+ 40" in statement] != []
    assert [statement for statement in prepared if "+ 41" in statement] == []


def test_django_runs_the_health_check_through_the_hook_the_backend_overrides(postgres, monkeypatch):
    checks = []
    real = django_postgresql.DatabaseWrapper.is_usable

    def counted(self):
        checks.append(True)
        return real(self)

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", counted)
    with postgres.cursor() as cursor:
        cursor.execute("SELECT 1")
    for idle_seconds, expected in ((3600, []), (0, [True])):
        postgres.health_check_idle_seconds = idle_seconds
        postgres.close_if_unusable_or_obsolete()  # Django, as a request starts
        assert postgres.health_check_done is False
        with postgres.cursor() as cursor:  # Django: close_if_health_check_failed()
            cursor.execute("SELECT 2")
        assert postgres.health_check_done is True
        assert checks == expected  # skipped by ours; Django's own check otherwise
        checks.clear()


# --- DRF: what `bind` sets, which crm.api.serializers.unbound_copy resets ----------------------


@pytest.mark.parametrize(
    "make",
    [
        serializers.CharField,
        lambda: serializers.CharField(source="other", label="Other"),
        lambda: serializers.ListField(child=serializers.CharField()),
        HolderCreateSerializer,
    ],
    ids=["char", "char with source", "list", "serializer"],
)
def test_drf_bind_sets_only_the_attributes_unbound_copy_resets(make):
    field = make()
    before = dict(vars(field))

    field.bind(field_name="some_name", parent=serializers.Serializer())

    after = vars(field)
    changed = {name for name in after if name not in before or after[name] is not before[name]}
    assert changed <= {"field_name", "parent", "label", "source", "source_attrs"}


# --- pika: Connection._adapter_emit_data (events.broker.BatchingConnection) --------------------


def test_pika_emits_every_frame_through_the_hook_the_relay_batches(monkeypatch):
    assert list(inspect.signature(pika.SelectConnection._adapter_emit_data).parameters) == [
        "self",
        "data",
    ]
    emitted: list[bytes] = []
    real = pika.SelectConnection._adapter_emit_data

    def counted(self, data):
        emitted.append(data)
        return real(self, data)

    monkeypatch.setattr(pika.SelectConnection, "_adapter_emit_data", counted)
    exchange = f"crm-test-private-{uuid.uuid4().hex[:12]}"
    publisher = broker.Publisher(BROKER_URL, exchange)
    payload = json.dumps({"id": str(uuid.uuid4())})
    rows = [
        PendingEvent(
            seq=number,
            event_id=uuid.uuid4(),
            type="holder.created",
            aggregate_id=uuid.uuid4(),
            organization_id=ORG_A,
            payload=payload,
            occurred_at=dt.datetime.now(dt.UTC),
            attempts=0,
        )
        for number in range(3)
    ]
    try:
        emitted.clear()
        with monkeypatch.context() as unbatched:  # pika alone: a call per frame
            unbatched.setattr(broker.BatchingConnection, "batching", _no_batching)
            assert publisher.publish(rows).outcomes == [True] * 3
        frames = len(emitted)
        emitted.clear()
        assert publisher.publish(rows).outcomes == [True] * 3  # batched: one call
        batched = list(emitted)
    finally:
        publisher.channel.exchange_delete(exchange)
        publisher.close()
    assert frames == 3 * len(rows)  # method, header and body frame per message
    assert len(batched) == 1 and len(batched[0]) > 3 * len(payload)


@contextlib.contextmanager
def _no_batching(self):
    yield


# --- gunicorn's gthread worker (config.gunicorn_worker.ClientDeadlineWorker) -------------------


def test_gunicorn_gthread_serves_each_request_through_the_methods_the_client_deadline_wraps():
    """The client deadline wraps `ThreadWorker.enqueue_req(conn)` (the clock starts) and
    `handle(conn)` (a thread reads the request), and shuts `conn.sock` down. It holds only if
    the pool runs nothing but `handle`, handed over by `enqueue_req` alone, and a connection
    keeps its socket as `sock`; tests/test_proxy.py checks the behaviour end to end."""
    for name in ("enqueue_req", "handle"):
        parameters = inspect.signature(getattr(gthread.ThreadWorker, name)).parameters
        assert list(parameters) == ["self", "conn"], name
    module = inspect.getsource(gthread)
    assert module.count("tpool.submit(") == 1
    assert "self.tpool.submit(self.handle, conn)" in inspect.getsource(
        gthread.ThreadWorker.enqueue_req
    )
    for caller in ("accept", "on_client_socket_readable", "on_pending_socket_readable"):
        assert "self.enqueue_req(conn)" in inspect.getsource(getattr(gthread.ThreadWorker, caller))
    ours, theirs = socket.socketpair()
    with ours, theirs:
        conn = gthread.TConn(None, ours, ("127.0.0.1", 1), ("127.0.0.1", 2))
        assert conn.sock is ours
