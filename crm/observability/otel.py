"""The OpenTelemetry SDK behind `crm.observability.tracing`, imported only when telemetry is on.

One `Tracing` per process: a tracer provider with the service's resource (`service.name`,
`service.version`, `deployment.environment`), a `BatchSpanProcessor` (spans leave in the
background; a collector that is down or slow never holds a request: past the queue's bound,
`OTEL_BSP_MAX_QUEUE_SIZE`, spans are dropped) and the OTLP exporter of
`OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` (the default, as Midaz) or `http/protobuf`.

The provider is ours, not installed as OpenTelemetry's global one: every span of the service
is made here, and a test or a forked process can replace it. Context travels as W3C trace
context only (`traceparent`): baggage a client sends is neither read nor passed on.
"""

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

PROTOCOLS = ("grpc", "http/protobuf")
DEFAULT_PORTS = {"grpc": 4317, "http/protobuf": 4318}
KINDS = {
    "internal": SpanKind.INTERNAL,
    "server": SpanKind.SERVER,
    "client": SpanKind.CLIENT,
    "producer": SpanKind.PRODUCER,
}
# `db.system.name` of Django's vendors (OpenTelemetry's semantic conventions).
DB_SYSTEMS = {"postgresql": "postgresql", "sqlite": "sqlite"}
# The SQL text kept on a database span: the longest statement the services send (a create's
# multi-table INSERT) fits; a longer one is cut (it is placeholders and names, never values).
MAX_QUERY_TEXT = 4096
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
PROPAGATOR = TraceContextTextMapPropagator()


def collector_url(endpoint: str, protocol: str) -> str:
    """`OTEL_EXPORTER_OTLP_ENDPOINT` as a URL the exporter takes.

    Midaz's forms are accepted: `midaz-otel-lgtm:4317` (no scheme, the CRM `.env.example`) and
    `otlp://…` (v3.5) mean plaintext, like `http://…` (v3.8); `https://…` means TLS. Empty: the
    protocol's local default (`localhost:4317` / `:4318`). Over `http/protobuf` the traces'
    path `/v1/traces` is appended to the base, as the OpenTelemetry specification says for
    this variable."""
    endpoint = endpoint.strip() or f"localhost:{DEFAULT_PORTS[protocol]}"
    scheme = _SCHEME.match(endpoint)
    if scheme is None:
        endpoint = "http://" + endpoint
    elif scheme.group(1).lower() not in ("http", "https"):
        endpoint = "http://" + endpoint[scheme.end() :]
    if protocol == "http/protobuf":
        parts = urlsplit(endpoint)
        path = parts.path.rstrip("/")
        if not path.endswith("/v1/traces"):
            path += "/v1/traces"
        endpoint = urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
    return endpoint


def public_collector(url: str) -> str:
    """The collector's address for a log line: scheme, host and port only (no credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


def exporter(endpoint: str, protocol: str) -> SpanExporter:
    """The OTLP span exporter of `protocol`; the standard `OTEL_EXPORTER_OTLP_*` variables it
    reads itself (headers, timeout, compression, certificates) apply."""
    url = collector_url(endpoint, protocol)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=url)
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HTTPSpanExporter,
        )

        return HTTPSpanExporter(endpoint=url)
    raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL must be one of {', '.join(PROTOCOLS)}")


def resource(service_name: str, service_version: str, environment: str) -> Resource:
    """The service's resource. `deployment.environment` is the name Midaz's Go services send;
    `deployment.environment.name` the one of current semantic conventions: both, so either
    kind of dashboard finds it. `OTEL_RESOURCE_ATTRIBUTES` adds to them."""
    attributes = {"service.name": service_name, "service.version": service_version}
    if environment:
        attributes["deployment.environment"] = environment
        attributes["deployment.environment.name"] = environment
    return Resource.create(attributes)


class Tracing:
    """The tracer of one process and the operations `crm.observability.tracing` delegates."""

    def __init__(
        self,
        *,
        service_name: str,
        service_version: str,
        environment: str,
        endpoint: str,
        protocol: str,
    ) -> None:
        self.collector = public_collector(collector_url(endpoint, protocol))
        self.provider = TracerProvider(
            resource=resource(service_name, service_version, environment)
        )
        self.provider.add_span_processor(BatchSpanProcessor(exporter(endpoint, protocol)))
        self.tracer = self.provider.get_tracer("crm")

    def shutdown(self) -> None:
        self.provider.shutdown()

    # --- Spans ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        *,
        kind: str,
        attributes: Mapping[str, Any] | None,
        parent: Mapping[str, str] | None = None,
    ) -> Iterator[trace.Span]:
        """A current span around a block; `parent`: headers whose `traceparent` (if any) it
        continues. Exceptions mark it failed with their type, never their message (the SDK's
        own recording would copy the message, which can quote a value)."""
        context = PROPAGATOR.extract(parent) if parent is not None else None
        with self.tracer.start_as_current_span(
            name,
            context=context,
            kind=KINDS[kind],
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as current:
            try:
                yield current
            except BaseException as exc:
                self.fail(current, type(exc).__name__)
                raise

    def start_span(
        self, name: str, *, kind: str, traceparent: str, attributes: Mapping[str, Any] | None
    ) -> trace.Span:
        """A span the caller ends, child of the context `traceparent` names (a new trace when
        it is empty or malformed), not made current."""
        context = PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else Context()
        return self.tracer.start_span(
            name, context=context, kind=KINDS[kind], attributes=attributes
        )

    @staticmethod
    def fail(span: trace.Span, error_type: str) -> None:
        span.set_attribute("error.type", error_type)
        span.set_status(Status(StatusCode.ERROR))

    def database_call(self, execute, sql, params, many, context):
        """Django's `execute_wrapper` hook: one client span per statement, named by its first
        keyword, with the SQL text as Django hands it over (placeholders: `%s`). `params` is
        passed on untouched and never read."""
        connection = context["connection"]
        text = str(sql)
        words = text.split(None, 1)
        operation = words[0].upper() if words else "SQL"
        attributes = {
            "db.system.name": DB_SYSTEMS.get(connection.vendor, connection.vendor),
            "db.operation.name": operation,
            "db.query.text": text[:MAX_QUERY_TEXT],
            "crm.db.alias": connection.alias,
        }
        host, port = connection.settings_dict.get("HOST"), connection.settings_dict.get("PORT")
        if host and not str(host).startswith("/"):
            attributes["server.address"] = str(host)
            if str(port).isdigit():
                attributes["server.port"] = int(port)
        with self.span(operation, kind="client", attributes=attributes):
            return execute(sql, params, many, context)

    # --- Context ------------------------------------------------------------------------------

    @staticmethod
    def traceparent() -> str:
        carrier: dict[str, str] = {}
        PROPAGATOR.inject(carrier)
        return carrier.get("traceparent", "")

    @staticmethod
    def inject(headers: dict[str, str]) -> None:
        PROPAGATOR.inject(headers)

    @staticmethod
    def trace_id() -> str | None:
        context = trace.get_current_span().get_span_context()
        return format(context.trace_id, "032x") if context.is_valid else None
