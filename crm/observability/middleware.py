"""The two observability middlewares, each in `MIDDLEWARE` only when its switch is on
(config/settings/base.py): off, a request passes none of their code.

* `TracingMiddleware` (`ENABLE_TELEMETRY`): outermost; the request's span.
* `MetricsMiddleware` (`METRICS_ENABLED`): just inside `RequestIdMiddleware` and outside
  `ErrorContractMiddleware`, so it sees the status the client gets, error pages already in the
  contract's shape: requests, their latency and their database time (`crm_requests_total`,
  `crm_request_duration_seconds`, `crm_request_database_seconds`).
"""

import time
from contextlib import ExitStack

from django.db import connections
from django.http import HttpRequest, HttpResponse

from crm.api.middleware import RequestIdMiddleware
from crm.observability import metrics, tracing


class TracingMiddleware:
    """Outermost: one server span per request, named `<method> <route template>`
    (`POST /v1/holders`, `GET /v1/holders/{id}`), with the database calls made while it runs as
    its children (`tracing.database_spans`) and the access-log line inside it (its `trace_id`).

    Attributes: `http.request.method`, `http.route` (the template, never the path as sent nor
    the query string, which carry documents), `http.response.status_code`, and
    `crm.organization_id` when `X-Organization-Id` is a valid UUID (an organization is not a
    person; it lets an operator find one tenant's traces). A 5xx marks the span failed. A
    caller's W3C `traceparent` is continued. The probes (`UNTRACED`) are not traced."""

    # Probes a load balancer or Prometheus calls every few seconds: a trace each would be noise.
    UNTRACED = frozenset({"/health", "/readyz", "/metrics"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in self.UNTRACED:
            return self.get_response(request)
        method = request.method if request.method in RequestIdMiddleware.METHODS else "_OTHER"
        with tracing.server_span(method, request.headers) as span, tracing.database_spans():
            response = self.get_response(request)
            route = RequestIdMiddleware.route_template(request)
            span.update_name(f"{method} {route}")
            attributes = {
                "http.request.method": method,
                "http.route": route,
                "http.response.status_code": response.status_code,
            }
            organization = RequestIdMiddleware.organization(request)
            if organization not in ("-", "<invalid>"):
                attributes["crm.organization_id"] = organization
            span.set_attributes(attributes)
            if response.status_code >= 500:
                tracing.fail(span, str(response.status_code))
        return response


class DatabaseTimer:
    """A `connection.execute_wrapper`: adds up the time of every statement run inside it."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


class MetricsMiddleware:
    """Labels: the route *template* (`RequestIdMiddleware.route_template`: `/v1/holders/{id}`;
    `<unmatched>` for every path no route serves), the method (`OTHER` for one Django does not
    know), the status; with `METRICS_ORGANIZATION_LABELS` also the organization as the access
    log shows it (a canonical UUID, `-` or `<invalid>`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timer = DatabaseTimer()
        started = time.perf_counter()
        with ExitStack() as wrappers:
            for connection in connections.all():
                wrappers.enter_context(connection.execute_wrapper(timer))
            response = self.get_response(request)
        method = request.method if request.method in RequestIdMiddleware.METHODS else "OTHER"
        metrics.request_answered(
            route=RequestIdMiddleware.route_template(request),
            method=method,
            status=response.status_code,
            organization=RequestIdMiddleware.organization(request),
            seconds=time.perf_counter() - started,
            database_seconds=timer.seconds,
        )
        return response
