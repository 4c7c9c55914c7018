"""Gunicorn settings for production (`gunicorn -c config/gunicorn.conf.py config.wsgi`).

Worker model: gthread, WEB_CONCURRENCY processes (2 x cores) x GUNICORN_THREADS threads (4).
Why not `sync`, although it serialises CPU-bound list pages slightly faster (no GIL sharing):
a sync worker is one request at a time, so a database that stops answering (frozen, not down)
takes every worker out at once, `/health` included, and gunicorn then kills the workers at
`timeout` and the clients get no response at all (issue 9: 15-38 s stalls). With threads, a
request waiting on the database holds one thread, not the process: the others keep answering
`/health`, `/version` and `/readyz` (which probes on a connection of its own), and every
database wait is itself bounded (connect 3 s, statement 5 s, client 6 s: the `# --- Database`
block of config/settings/base.py), so a thread is back within seconds with a JSON 503. Two
processes per core keep both cores busy on CPU-bound serialisation despite the GIL; each
thread holds one persistent PostgreSQL connection, so keep workers x threads under the
server's `max_connections` (16 with the defaults).

Slow clients: behind the reference proxy (deploy/nginx/, docs/operations.md) nginx buffers each
whole request and gunicorn never waits on a client. Served alone, the worker class below cuts
off a client that has not sent its whole request (line, headers, body) within
GUNICORN_CLIENT_TIMEOUT seconds (default 10) of gunicorn handing its connection to a thread,
so a slow or stalled client holds a thread for that long at most (`config.gunicorn_worker`).
"""

import logging
import multiprocessing
import os
import re

from gunicorn.glogging import Logger

from crm.observability import multiprocess as metrics_directory

# Metrics (docs/operations.md "Metrics"): the workers write their values into one directory and
# a scrape sums them all. Named here, in the master, before prometheus_client is imported
# anywhere: PROMETHEUS_MULTIPROC_DIR when set, else a new directory under /tmp.
METRICS_DIRECTORY, METRICS_DIRECTORY_IS_OURS = metrics_directory.choose()


def on_starting(server):
    """Create the directory, and empty it: an earlier run's counters would add to this run's."""
    metrics_directory.start(METRICS_DIRECTORY)


def child_exit(server, worker):
    metrics_directory.process_exited(worker.pid, METRICS_DIRECTORY)


def on_exit(server):
    if METRICS_DIRECTORY_IS_OURS:
        metrics_directory.remove(METRICS_DIRECTORY)


bind = f"{os.environ.get('SERVER_HOST', '0.0.0.0')}:{os.environ.get('SERVER_PORT', '4003')}"  # noqa: S104 (containers listen on all interfaces)
# gthread plus a deadline on receiving each request (GUNICORN_CLIENT_TIMEOUT, default 10 s).
worker_class = "config.gunicorn_worker.ClientDeadlineWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A gthread worker's heartbeat comes from its main loop, not from the request threads; this is
# the bound for a worker that stops looping altogether. Well above every database bound, so it
# never fires on a slow or frozen database: those requests end with a 503 long before.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Worker recycling is off by default: worker memory stays flat under load (make bench: soak),
# and each recycle costs a burst of slow requests and dropped keep-alive connections.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# The app is loaded in each worker after the fork, never in the master: what it opens at start
# (database connections, the trace exporter's channel and thread: config/wsgi.py) is the worker's.
preload_app = False

# Request-line and header limits, set explicitly. Gunicorn enforces them itself, before Django
# runs, and answers with its own small *HTML* page (`Connection: close`), not the contract's
# JSON, which no Django code can change:
#   request line longer than limit_request_line              -> 414 URI Too Long
#   more header fields than limit_request_fields             -> 431 Request Header Fields Too Large
#   a header field longer than limit_request_field_size      -> 431 Request Header Fields Too Large
#   a malformed request line, method, version or header      -> 400 Bad Request
# 4 KiB of URL fits every route with every list filter; 8 KiB per header fits a large JWT.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Logs: no access log of gunicorn's own. It prints the query string (`?document=...`), which
# carries personal data; the application logs one line per request instead (route template,
# status, duration, request id, organization: crm.api.middleware.RequestIdMiddleware).
accesslog = None
errorlog = "-"


class RedactClientInput(logging.Filter):
    """Gunicorn's error log quotes what a client sent when it refuses a request ("Invalid
    request from ip=...: Invalid HTTP request line: 'GET /v1/holders?document=...'"): drop the
    quoted text and any query string, keep the reason."""

    QUOTED = re.compile(r"b?'[^']*'|b?\"[^\"]*\"")
    QUERY = re.compile(r"\?\S*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.QUERY.sub("?<redacted>", self.QUOTED.sub("'<redacted>'", message))
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class RedactingLogger(Logger):
    """Gunicorn's logger with `RedactClientInput` on its error log, and that log's lines as JSON
    objects too with `LOG_FORMAT=json` (crm/api/log_format.py), like the application's."""

    def setup(self, cfg):
        super().setup(cfg)
        if not any(isinstance(f, RedactClientInput) for f in self.error_log.filters):
            self.error_log.addFilter(RedactClientInput())
        if os.environ.get("LOG_FORMAT", "text").lower() == "json":
            from crm.api.log_format import JsonLineFormatter

            for handler in self.error_log.handlers:
                handler.setFormatter(JsonLineFormatter())


logger_class = RedactingLogger


def worker_exit(server, worker):
    """A worker that stops sends the spans it still holds (telemetry on; bounded by the
    exporter's timeout, well inside `graceful_timeout`)."""
    from crm.observability import tracing

    tracing.shutdown()
