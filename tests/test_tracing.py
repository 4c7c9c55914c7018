"""OpenTelemetry traces (docs/operations.md "Traces"), against OTLP receivers the tests start.

1. Production-like: gunicorn (`config/gunicorn.conf.py`, production settings, the suite's
   database) with `ENABLE_TELEMETRY=true`, the Access Manager on (the fake one), change events
   on, exporting over gRPC (the default protocol) to Midaz's scheme-less endpoint form
   (`127.0.0.1:PORT`). A holder with a recognisable name and CPF is created, then searched
   by document in the query string; `manage.py relay_events` publishes its event to RabbitMQ.
   The receiver gets: the request span (route template), its database spans and Access
   Manager span as children, the resource attributes, and the relay's publish span in the
   request's trace, whose id the published CloudEvent carries as `traceparent`. Nothing
   received, in any span, attribute or resource, holds the name, the CPF, the token, the
   subject or a query string.
2. In-process over `http/protobuf` (an HTTP receiver decoding `ExportTraceServiceRequest`): a
   database span holds the SQL text with its placeholders and never a parameter; the log
   filter's `trace_id` is the span's.
3. Off (the default): events carry no `traceparent` on the wire, and a request, a write and
   an event never import OpenTelemetry.
"""

import contextlib
import http.client
import http.server
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from concurrent import futures
from dataclasses import dataclass

import grpc
import pytest
from django.db import DatabaseError, connection
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2

from crm.observability import otel, tracing
from events.models import OutboxEvent
from events.relay import Relay, RelayOptions
from holders.models import Holder
from tests import test_events_relay
from tests.conftest import ORG_A
from tests.fake_access_manager import FakeAccessManager
from tests.servers import GUNICORN, ROOT, free_port
from tests.test_access_manager import user_token
from tests.test_events_relay import BROKER_URL, relay_command, relay_environment
from tests.test_logs import variants

NAME = "Quitéria Anastácia Trombetta"
DOCUMENT = "390.533.447-05"
SUBJECT_OWNER, SUBJECT_SUB = "lerian", "traced-user-7781"
TOKEN = user_token(owner=SUBJECT_OWNER, sub=SUBJECT_SUB)
HOLDER = {"type": "NATURAL_PERSON", "name": NAME, "document": DOCUMENT}
SERVICE = {"name": "crm-traces-test", "version": "9.8.7-test", "environment": "tracing-test"}
# A bounded wait for what another process does (never an assertion on time).
WAIT_SECONDS = 60
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
# A caller's own trace context, sent with the search.
CALLER = "00-5ca1ab1e0000000000000000c0ffee01-00000000decafbad-01"
queue = test_events_relay.queue  # the fixture: an exchange and a queue of the test's own


def wait_until(condition, what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


# --- What a receiver got -------------------------------------------------------------------------


@dataclass
class Span:
    resource: dict
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict
    status_code: int


def _value(any_value) -> object:
    return getattr(any_value, any_value.WhichOneof("value"))


def _attributes(key_values) -> dict:
    return {item.key: _value(item.value) for item in key_values}


class Received:
    """The `ExportTraceServiceRequest`s a receiver got, as they came, and their spans."""

    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.lock = threading.Lock()

    def add(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def spans(self) -> list[Span]:
        with self.lock:
            requests = list(self.requests)
        found = []
        for request in requests:
            for resource_spans in request.resource_spans:
                resource = _attributes(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        found.append(
                            Span(
                                resource,
                                span.name,
                                span.kind,
                                span.trace_id.hex(),
                                span.span_id.hex(),
                                span.parent_span_id.hex(),
                                _attributes(span.attributes),
                                span.status.code,
                            )
                        )
        return found

    def named(self, name: str) -> list[Span]:
        return [span for span in self.spans() if span.name == name]

    def wire_text(self) -> str:
        """Everything received, as bytes on the wire (names, attributes, events, links,
        resources), decoded leniently and lowered: what a search for a value must not find."""
        with self.lock:
            raw = b"".join(request.SerializeToString() for request in self.requests)
        return raw.decode("utf-8", errors="replace").lower()


@pytest.fixture
def grpc_receiver():
    """An OTLP/gRPC trace receiver on a free loopback port (the port chosen by the server)."""
    received = Received()

    class Servicer(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            received.add(request)
            return trace_service_pb2.ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield received, port
    finally:
        server.stop(grace=None)


@pytest.fixture
def http_receiver():
    """An OTLP/HTTP (protobuf) trace receiver: `POST /v1/traces` decoded as an
    `ExportTraceServiceRequest`."""
    received = Received()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path != "/v1/traces":
                self.send_response(404)
                self.end_headers()
                return
            received.add(trace_service_pb2.ExportTraceServiceRequest.FromString(body))
            answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield received, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


# --- 1. gunicorn + relay, over gRPC --------------------------------------------------------------


def send(
    port: int, method: str, path: str, body: dict | None = None, **headers: str
) -> tuple[int, dict]:
    """One request with the organization and the bearer token (and `headers`); never hangs
    (socket bound)."""
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection_.request(
            method,
            path,
            body=json.dumps(body) if body is not None else None,
            headers={
                "X-Organization-Id": str(ORG_A),
                "Authorization": f"Bearer {TOKEN}",
                "Content-Type": "application/json",
                **headers,
            },
        )
        response = connection_.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection_.close()


def telemetry_environment(port: int) -> dict[str, str]:
    """Midaz's variables, the endpoint in its scheme-less form; a short batch delay so that the
    spans leave within the test's wait."""
    return {
        "ENABLE_TELEMETRY": "true",
        "OTEL_RESOURCE_SERVICE_NAME": SERVICE["name"],
        "OTEL_RESOURCE_SERVICE_VERSION": SERVICE["version"],
        "OTEL_RESOURCE_DEPLOYMENT_ENVIRONMENT": SERVICE["environment"],
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"127.0.0.1:{port}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }


@contextlib.contextmanager
def gunicorn(env: dict[str, str], port: int, log_path):
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*GUNICORN, "--no-control-socket", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:

            def healthy() -> bool:
                assert process.poll() is None, log_path.read_text(errors="replace")[-3000:]
                with contextlib.suppress(OSError):
                    probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    probe.request("GET", "/health")
                    return probe.getresponse().status == 200
                return False

            wait_until(healthy, "gunicorn to answer /health")
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_request_database_access_manager_and_relay_spans_reach_the_collector(
    grpc_receiver, queue, transactional_db, tmp_path
):
    received, collector_port = grpc_receiver
    access_manager = FakeAccessManager().start()
    port = free_port()
    env = {
        **relay_environment(),  # the suite's database, its keys
        **telemetry_environment(collector_port),
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DEBUG": "false",
        "SERVER_HOST": "127.0.0.1",
        "SERVER_PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        "PLUGIN_AUTH_ENABLED": "true",
        "PLUGIN_AUTH_ADDRESS": access_manager.address,
        "PLUGIN_AUTH_CACHE_SECONDS": "0",
    }
    try:
        with gunicorn(env, port, tmp_path / "gunicorn.log"):
            status, created = send(port, "POST", "/v1/holders", HOLDER)
            assert status == 201, created
            status, found = send(
                port, "GET", "/v1/holders?document=" + DOCUMENT, traceparent=CALLER
            )
            assert status == 200, found
            assert [item["id"] for item in found["items"]] == [created["id"]]
            relay = subprocess.run(
                relay_command(queue, "--once"),
                cwd=ROOT,
                env={**relay_environment(), **telemetry_environment(collector_port)},
                capture_output=True,
                text=True,
                timeout=WAIT_SECONDS,
                check=False,
            )
            assert relay.returncode == 0, relay.stderr
            wait_until(
                lambda: received.named("POST /v1/holders") and received.named("GET /v1/holders"),
                "the request spans",
            )
    finally:
        access_manager.stop()

    # The published event carries the trace context of the write.
    [message] = queue.drain()
    assert message.routing_key == "studio.lerian.holder.created"
    event_trace = TRACEPARENT.match(message.headers["cloudEvents_traceparent"])
    assert event_trace is not None, message.headers["cloudEvents_traceparent"]
    assert OutboxEvent.objects.get().traceparent == message.headers["cloudEvents_traceparent"]

    spans = received.spans()
    [create] = received.named("POST /v1/holders")
    assert create.kind == trace_pb2.Span.SPAN_KIND_SERVER
    assert create.attributes == {
        "http.request.method": "POST",
        "http.route": "/v1/holders",
        "http.response.status_code": 201,
        "crm.organization_id": str(ORG_A),
    }
    assert event_trace.groups() == (create.trace_id, create.span_id)

    # Its database calls are its children, the SQL text with placeholders.
    vendor = {"postgresql": "postgresql", "sqlite": "sqlite"}[connection.vendor]
    queries = [
        span
        for span in spans
        if span.parent_span_id == create.span_id and "db.query.text" in span.attributes
    ]
    assert queries, [span.name for span in spans]
    assert {span.attributes["db.system.name"] for span in queries} == {vendor}
    assert all(span.kind == trace_pb2.Span.SPAN_KIND_CLIENT for span in queries)
    assert all(span.trace_id == create.trace_id for span in queries)
    inserts = [span for span in queries if "events_outboxevent" in span.attributes["db.query.text"]]
    assert inserts, [span.attributes["db.query.text"] for span in queries]
    # Placeholders, positional or named (a PostgreSQL write's, `crm.db.rows.shared_values`),
    # never the values: the created holder's id is nowhere in the text.
    text = inserts[0].attributes["db.query.text"]
    assert re.search(r"%s|%\(p\d+\)s", text), text
    assert created["id"] not in text and created["id"].replace("-", "") not in text

    # The Access Manager call: a child client span, and the trace went on to the manager.
    [asked] = [
        span
        for span in spans
        if span.name == "access_manager authorize" and span.parent_span_id == create.span_id
    ]
    assert asked.kind == trace_pb2.Span.SPAN_KIND_CLIENT
    assert asked.attributes == {
        "http.request.method": "POST",
        "server.address": "127.0.0.1",
        "server.port": access_manager.port,
        "crm.access.resource": "holders",
        "crm.access.action": "post",
        "crm.access.decision": "allow",
    }
    sent = [TRACEPARENT.match(call.traceparent) for call in access_manager.calls]
    assert (create.trace_id, asked.span_id) in [m.groups() for m in sent if m], sent

    # The relay's publish: in the request's trace, a child of the request span.
    [publish] = received.named("publish studio.lerian.holder.created")
    assert publish.kind == trace_pb2.Span.SPAN_KIND_PRODUCER
    assert (publish.trace_id, publish.parent_span_id) == (create.trace_id, create.span_id)
    assert publish.attributes["messaging.destination.name"] == queue.exchange
    assert publish.attributes["messaging.message.id"] == message.event_id
    assert publish.status_code == trace_pb2.Status.STATUS_CODE_UNSET

    # The search by document: the route template only; the caller's trace continued.
    [search] = received.named("GET /v1/holders")
    assert (search.trace_id, search.parent_span_id) == TRACEPARENT.match(CALLER).groups()
    assert search.attributes["http.route"] == "/v1/holders"
    assert search.attributes["http.response.status_code"] == 200

    # The health probes (gunicorn's start was polled on /health) make no traces.
    assert [span for span in spans if span.name.endswith("/health")] == []

    # Every span, the service's and the relay's, names the service as configured.
    for span in spans:
        assert span.resource["service.name"] == SERVICE["name"]
        assert span.resource["service.version"] == SERVICE["version"]
        assert span.resource["deployment.environment"] == SERVICE["environment"]

    # Nothing personal, secret or typed by the client anywhere in what left the service.
    wire = received.wire_text()
    needles = variants(NAME) | variants(DOCUMENT) | {TOKEN.lower(), SUBJECT_SUB}
    needles |= {"document=", "holders?"}  # no query string, no URL with one
    assert sorted(needle for needle in needles if needle in wire) == []


# --- 2. In-process, over http/protobuf ------------------------------------------------------------


@pytest.fixture
def traced_over_http(settings, http_receiver):
    """Tracing set up in this process, exporting over `http/protobuf`; off again afterwards."""
    received, port = http_receiver
    settings.ENABLE_TELEMETRY = True
    settings.OTEL_EXPORTER_OTLP_PROTOCOL = "http/protobuf"
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = f"127.0.0.1:{port}"
    settings.OTEL_RESOURCE_SERVICE_NAME = SERVICE["name"]
    assert tracing.setup()
    try:
        yield received
    finally:
        tracing.shutdown()


def test_database_spans_keep_placeholders_and_never_a_parameter(traced_over_http, db):
    secret = f"EXT-{uuid.uuid4().hex}"
    with tracing.span("work"), tracing.database_spans():
        assert not Holder.objects.filter(external_id=secret).exists()
    tracing.shutdown()  # exports what is queued
    [work] = traced_over_http.named("work")
    [query] = [span for span in traced_over_http.spans() if span.parent_span_id == work.span_id]
    assert query.name == "SELECT"
    assert query.attributes["db.operation.name"] == "SELECT"
    assert "external_id" in query.attributes["db.query.text"]
    assert "%s" in query.attributes["db.query.text"]
    assert secret.lower() not in traced_over_http.wire_text()


def test_a_failed_query_marks_its_span_with_the_error_type_only(traced_over_http, db):
    secret = f"no_such_table_{uuid.uuid4().hex[:8]}"
    with (
        tracing.span("work"),
        tracing.database_spans(),
        pytest.raises(DatabaseError) as raised,
        connection.cursor() as cursor,
    ):
        cursor.execute(f"SELECT * FROM {secret} WHERE id = %s", ["a-secret-value"])
    tracing.shutdown()
    [query] = [span for span in traced_over_http.spans() if span.name == "SELECT"]
    assert query.status_code == trace_pb2.Status.STATUS_CODE_ERROR
    assert query.attributes["error.type"] == type(raised.value).__name__
    assert "a-secret-value" not in traced_over_http.wire_text()


def test_log_records_carry_the_current_trace_id(traced_over_http):
    log_filter = tracing.TraceIdLogFilter()
    record = logging.LogRecord("crm", logging.INFO, __file__, 1, "outside", None, None)
    log_filter.filter(record)
    assert record.trace_id is None
    with tracing.span("logged"):
        record = logging.LogRecord("crm", logging.INFO, __file__, 1, "inside", None, None)
        log_filter.filter(record)
    tracing.shutdown()
    [logged] = traced_over_http.named("logged")
    assert record.trace_id == logged.trace_id
    assert logged.resource["service.name"] == SERVICE["name"]


def test_the_stdout_handler_has_the_trace_id_filter():
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "stdout")
    assert any(isinstance(f, tracing.TraceIdLogFilter) for f in handler.filters)


def test_log_records_have_no_trace_id_when_telemetry_is_off():
    assert not tracing.enabled()
    record = logging.LogRecord("crm", logging.INFO, __file__, 1, "off", None, None)
    tracing.TraceIdLogFilter().filter(record)
    assert record.trace_id is None


@pytest.mark.parametrize(
    ("endpoint", "protocol", "url"),
    [
        ("midaz-otel-lgtm:4317", "grpc", "http://midaz-otel-lgtm:4317"),  # Midaz's .env.example
        ("otlp://midaz-otel-lgtm:4317", "grpc", "http://midaz-otel-lgtm:4317"),  # Midaz v3.5
        ("http://collector:4317", "grpc", "http://collector:4317"),
        ("https://collector:4317", "grpc", "https://collector:4317"),
        ("", "grpc", "http://localhost:4317"),
        ("collector:4318", "http/protobuf", "http://collector:4318/v1/traces"),
        ("https://c.example/otlp/", "http/protobuf", "https://c.example/otlp/v1/traces"),
        ("http://c:4318/v1/traces", "http/protobuf", "http://c:4318/v1/traces"),
        ("", "http/protobuf", "http://localhost:4318/v1/traces"),
    ],
)
def test_collector_endpoint_forms(endpoint, protocol, url):
    assert otel.collector_url(endpoint, protocol) == url


def test_an_unknown_protocol_stops_the_start():
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings.base"],
        cwd=ROOT,
        env={
            **os.environ,
            "ENABLE_TELEMETRY": "true",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "OTEL_EXPORTER_OTLP_PROTOCOL must be grpc or http/protobuf" in result.stderr


# --- 3. Off --------------------------------------------------------------------------------------


def test_with_telemetry_off_events_carry_no_traceparent(settings, api, queue):
    assert not settings.ENABLE_TELEMETRY and not tracing.enabled()
    settings.EVENTS_ENABLED = True
    assert api.post("/v1/holders", HOLDER).status_code == 201
    assert OutboxEvent.objects.get().traceparent == ""
    Relay(RelayOptions(broker_url=BROKER_URL, exchange=queue.exchange)).run(once=True)
    [message] = queue.drain()
    assert sorted(message.headers) == [
        "cloudEvents_id",
        "cloudEvents_source",
        "cloudEvents_specversion",
        "cloudEvents_subject",
        "cloudEvents_tenantid",
        "cloudEvents_time",
        "cloudEvents_type",
    ]


IMPORTED = """
import json, sys
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
import config.wsgi  # the start of a server: tracing.setup() and the rest
from events.broker import message
from events.models import OutboxEvent
answer = Client(HTTP_X_ORGANIZATION_ID=sys.argv[1]).post(
    "/v1/holders", data=sys.argv[2], content_type="application/json"
)
assert answer.status_code == 201, answer.content
message(OutboxEvent.objects.get())
from crm.observability import tracing
tracing.shutdown()
print(json.dumps(sorted(name for name in sys.modules if name.startswith("opentelemetry"))))
"""


@pytest.mark.parametrize("telemetry", [False, True])
def test_with_telemetry_off_opentelemetry_is_never_imported(
    telemetry, grpc_receiver, transactional_db
):
    """A start, a create (its write and event) and a message: no OpenTelemetry module loaded
    when off; the same run with it on loads the SDK (the check can see an import)."""
    _, collector_port = grpc_receiver
    env = {**relay_environment(), "ENABLE_TELEMETRY": "false"}
    if telemetry:
        env.update(telemetry_environment(collector_port))
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED, str(ORG_A), json.dumps(HOLDER)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    imported = json.loads(result.stdout.strip().splitlines()[-1])
    if telemetry:
        assert "opentelemetry.sdk.trace" in imported
    else:
        assert imported == []
