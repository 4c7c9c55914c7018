"""The request's span (in `MIDDLEWARE` only when `ENABLE_TELEMETRY` is on: off, a request passes
no tracing code at all; config/settings/base.py)."""

from django.http import HttpRequest, HttpResponse

from crm.api.middleware import RequestIdMiddleware
from crm.observability import tracing


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
