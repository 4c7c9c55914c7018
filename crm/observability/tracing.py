"""OpenTelemetry traces, off by default (`ENABLE_TELEMETRY`, Midaz's variable names;
docs/operations.md "Traces"). This module is the switch and all that the rest of the code calls.

Off (the default), nothing here imports OpenTelemetry: every call below is a constant-time
no-op (a shared do-nothing span, no `traceparent`, `trace_id` None), so a request, a write and
the relay run exactly as without it and the events stay byte-identical. On, `setup()` (in each
gunicorn worker from `config/wsgi.py`, after the fork; in `manage.py relay_events`) builds the
SDK once per process (`crm.observability.otel`) and the calls become real spans:

* the request (`crm.observability.middleware.TracingMiddleware`, only in `MIDDLEWARE` when on);
* every database call made inside it (`database_spans`: Django's `execute_wrapper`, the SQL
  text with its placeholders; parameters are never read);
* the Access Manager call (`span`, and `inject` puts `traceparent` on its request);
* the relay's publish of each event (`start_span` with the event's stored `traceparent` as the
  parent), the event having captured the request's context when its outbox row was written
  (`traceparent`, `events.outbox.event_values`).

Span attributes carry methods, route templates, statuses, ids of organizations and events, SQL
text with placeholders: never a query string, a request body, a header value, a SQL parameter
or an exception message (which can quote a value).
"""

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings
from django.db import connections

logger = logging.getLogger("crm.observability")

# The SDK side (`crm.observability.otel.Tracing`) once `setup()` ran with telemetry on in this
# process; None means off. Typed loosely so that this module never imports OpenTelemetry.
_active: Any = None
_pid: int | None = None


class _NoSpan:
    """What the calls hand out when telemetry is off: accepts everything, records nothing."""

    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        pass

    def update_name(self, name: str) -> None:
        pass

    def end(self) -> None:
        pass


NO_SPAN = _NoSpan()
_NO_SPAN_CONTEXT = contextlib.nullcontext(NO_SPAN)  # reusable: nullcontext keeps no state


def enabled() -> bool:
    """Whether this process records spans (`setup()` ran with `ENABLE_TELEMETRY` on)."""
    return _active is not None


def setup() -> bool:
    """With `ENABLE_TELEMETRY` on: the tracer provider, its batching span processor and the OTLP
    exporter, from the settings, once per process (a forked child builds its own: the exporter's
    connection and the processor's thread do not survive a fork). Returns whether it is on."""
    global _active, _pid
    if not settings.ENABLE_TELEMETRY:
        return False
    if _active is not None and _pid == os.getpid():
        return True
    from crm.observability import otel  # only here: off, OpenTelemetry is never imported

    _active = otel.Tracing(
        service_name=settings.OTEL_RESOURCE_SERVICE_NAME,
        service_version=settings.OTEL_RESOURCE_SERVICE_VERSION,
        environment=settings.OTEL_RESOURCE_DEPLOYMENT_ENVIRONMENT,
        endpoint=settings.OTEL_EXPORTER_OTLP_ENDPOINT,
        protocol=settings.OTEL_EXPORTER_OTLP_PROTOCOL,
    )
    _pid = os.getpid()
    logger.info(
        "telemetry: on, traces to %s over %s as service %s",
        _active.collector,
        settings.OTEL_EXPORTER_OTLP_PROTOCOL,
        settings.OTEL_RESOURCE_SERVICE_NAME,
    )
    return True


def shutdown() -> None:
    """Export what is still queued (bounded by the exporter's timeout) and turn tracing off in
    this process: a gunicorn worker's exit, the relay's end, a test's teardown."""
    global _active, _pid
    active, _active, _pid = _active, None, None
    if active is not None:
        active.shutdown()


# --- Spans --------------------------------------------------------------------------------------


def span(
    name: str, *, kind: str = "internal", attributes: Mapping[str, Any] | None = None
) -> contextlib.AbstractContextManager:
    """A span around a block, the current one inside it (`kind`: internal, server, client,
    producer). An exception leaving the block marks it failed with the exception's type only."""
    if _active is None:
        return _NO_SPAN_CONTEXT
    return _active.span(name, kind=kind, attributes=attributes)


def server_span(
    name: str, headers: Mapping[str, str], attributes: Mapping[str, Any] | None = None
) -> contextlib.AbstractContextManager:
    """The span of an incoming request, continuing the caller's trace when its headers carry a
    W3C `traceparent` (nothing else of the headers is read)."""
    if _active is None:
        return _NO_SPAN_CONTEXT
    return _active.span(name, kind="server", attributes=attributes, parent=headers)


def start_span(
    name: str,
    *,
    kind: str = "internal",
    traceparent: str = "",
    attributes: Mapping[str, Any] | None = None,
) -> Any:
    """A span that is not made current and that the caller ends (`.end()`): its parent is the
    context `traceparent` names (a W3C `traceparent` value), a new trace when it is empty."""
    if _active is None:
        return NO_SPAN
    return _active.start_span(name, kind=kind, traceparent=traceparent, attributes=attributes)


def fail(span: Any, error_type: str) -> None:
    """Mark `span` failed, naming the kind of failure (an exception's type, a status), never
    its message."""
    if _active is not None and span is not NO_SPAN:
        _active.fail(span, error_type)


@contextlib.contextmanager
def database_spans() -> Iterator[None]:
    """Inside the block, every query on every database alias of this thread is a client span
    (the SQL text with placeholders; parameters are never read): Django's documented
    `connection.execute_wrapper`, so both backends and the replicas are covered."""
    if _active is None:
        yield
        return
    with contextlib.ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(_active.database_call))
        yield


# --- Context carried elsewhere -----------------------------------------------------------------


def traceparent() -> str:
    """The current span's W3C `traceparent` ("" when off or outside a span): what an outbox row
    keeps so that the relay's publish joins the trace of the write."""
    return "" if _active is None else _active.traceparent()


def inject(headers: dict[str, str]) -> dict[str, str]:
    """`headers` with the current span's `traceparent` added (unchanged when off): an outgoing
    call continues the trace."""
    if _active is not None:
        _active.inject(headers)
    return headers


def trace_id() -> str | None:
    """The current trace id in hex (32 digits), None when off or outside a span."""
    return None if _active is None else _active.trace_id()


class TraceIdLogFilter(logging.Filter):
    """Set `record.trace_id` (hex, or None outside a span or with telemetry off), so that a log
    line can be joined with its trace; on the stdout handler (`LOGGING`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = trace_id()
        return True
