"""Requests, their latency and their database time (`crm_requests_total`,
`crm_request_duration_seconds`, `crm_request_database_seconds`).

`MetricsMiddleware` is in `MIDDLEWARE` only with `METRICS_ENABLED=true` (config/settings/base.py),
just inside `RequestIdMiddleware` and outside `ErrorContractMiddleware`: it sees the status the
client gets, error pages already in the contract's shape. With metrics off it is not there and
the request path costs nothing.
"""

import time
from contextlib import ExitStack

from django.db import connections
from django.http import HttpRequest, HttpResponse

from crm.api.middleware import RequestIdMiddleware
from crm.observability import metrics


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
