"""Serving the series: `/metrics` in the web process, and a listener of its own for a process
outside gunicorn (the change-event relay).

Protection is a bearer token, `METRICS_TOKEN`, compared in constant time; the start-up check
(`crm.access.settings_checks`) requires one of at least 32 characters whenever
`METRICS_ENABLED=true`, except with `DEBUG=true` (a laptop), where no token means no check.
A token rather than a separate listener for the web: Prometheus reaches the pods on the port it
already scrapes for the service, gunicorn's workers need no second server, and the reference
proxy (deploy/) never routes `/metrics`, so it is not reachable from outside anyway.

* `/metrics` with `METRICS_ENABLED` off: 404 CRM-0903, as for any route that does not exist;
  without the right token: 401 CRM-0901 (`WWW-Authenticate: Bearer`); other methods than
  GET/HEAD: 405 CRM-0904.
* In gunicorn (`PROMETHEUS_MULTIPROC_DIR` set, `crm.observability.multiprocess`) a scrape reads
  every worker's files: one answer, summed over all workers, whichever worker gives it.
  Without the variable (runserver, tests) it reads the process's own values.
* Collectors given by the URL configuration (the outbox backlog, `events.metrics`) are read at
  scrape time, in the worker that answers.
"""

import hmac
import json
import logging
import os
import threading
from collections.abc import Iterable, Sequence
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from crm.api.errors import CRMError, error_response
from crm.observability import metrics

logger = logging.getLogger("crm.observability")

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
AUTHENTICATE = 'Bearer realm="metrics"'


def token_matches(authorization: str, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, sent = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        sent.strip().encode("utf-8", "surrogateescape"), token.encode()
    )


def scrape_registry(collectors: Sequence[Collector] = ()) -> CollectorRegistry:
    """What one scrape reads: every worker's files or this process's values, then `collectors`."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        MultiProcessCollector(registry)
    else:
        registry.register(metrics.ProcessSeries())
    for collector in collectors:
        registry.register(collector)
    return registry


@csrf_exempt  # a POST is a 405, not a CSRF refusal
def metrics_view(request: HttpRequest, collectors: Sequence[Collector] = ()) -> HttpResponse:
    """`/metrics` (see the module docstring for its answers)."""
    if not settings.METRICS_ENABLED:
        return error_response(CRMError("CRM-0903"))
    if request.method not in ("GET", "HEAD"):
        response = error_response(CRMError("CRM-0904"))
        response["Allow"] = "GET, HEAD"
        return response
    token = settings.METRICS_TOKEN
    if token and not token_matches(request.headers.get("Authorization", ""), token):
        response = error_response(CRMError("CRM-0901"))
        response["WWW-Authenticate"] = AUTHENTICATE
        return response
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(scrape_registry(collectors)), content_type=content_type)


# --- A listener of its own (the relay) -------------------------------------------------------


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        """No access log line per scrape."""


def serve(collectors: Iterable[Collector], host: str, port: int, token: str) -> WSGIServer:
    """Serve `collectors` at `http://host:port/metrics` (any path, as prometheus_client does) in
    a daemon thread, behind the same bearer token as `/metrics`; call `shutdown()` to stop.
    prometheus_client's `start_http_server` has no authentication, hence this wrapper around
    its WSGI application."""
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    exposition = make_wsgi_app(registry)
    refusal = json.dumps(CRMError("CRM-0901").body()).encode()

    def guarded(environ, start_response):
        if token and not token_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "application/json"), ("WWW-Authenticate", AUTHENTICATE)],
            )
            return [refusal]
        return exposition(environ, start_response)

    server = make_server(host, port, guarded, _Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    logger.info("metrics listener on %s:%d", host, server.server_port)
    return server
