"""The web process's Prometheus series (docs/operations.md "Metrics") and one function per event
that records it, called where the event happens: `crm.api.errors` (an error answered),
`crm.api.idempotency` (a replay), `crm.api.throttling` (a refusal), `crm.access.access_manager`
(a decision, a call, a failure) and `crm.observability.middleware` (every request).

* Nothing is recorded while `METRICS_ENABLED` is off: each function costs one settings lookup,
  and the request middleware is not even installed.
* Every series has a label, so prometheus_client creates no value until something is recorded;
  in multiprocess mode (gunicorn, `crm.observability.multiprocess`) that also means no file in
  `PROMETHEUS_MULTIPROC_DIR` from a process that records nothing (the relay, `manage.py`).
* Labels take bounded values only: route templates (never a path as sent), methods, statuses,
  error codes, outcomes. No personal data, and no organization id unless
  `METRICS_ORGANIZATION_LABELS=true` puts one on `crm_requests_total`.
"""

from collections.abc import Iterable

from django.conf import settings
from prometheus_client import Counter, Histogram, disable_created_metrics
from prometheus_client.metrics_core import Metric

# No `_created` samples: summed over gunicorn's workers (multiprocess mode) there are none, and a
# single process (runserver) answers the same series.
disable_created_metrics()

# Created outside any registry: `crm.observability.exposition` decides what a scrape reads
# (this process's values, or every worker's files in multiprocess mode).
REQUESTS = Counter(
    "crm_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
    registry=None,
)
REQUESTS_BY_ORGANIZATION = Counter(
    "crm_requests",
    "HTTP requests answered, by route template, method, status and organization.",
    ["route", "method", "status", "organization"],
    registry=None,
)
REQUEST_DURATION = Histogram(
    "crm_request_duration_seconds",
    "Time from the request reaching Django to its response, by route template and method.",
    ["route", "method"],
    registry=None,
)
REQUEST_DATABASE = Histogram(
    "crm_request_database_seconds",
    "Time spent in database statements while answering one request, by route template and method.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=None,
)
ERRORS = Counter(
    "crm_errors",
    "Error responses in the contract's shape, by CRM error code (docs/api.md §6).",
    ["code"],
    registry=None,
)
IDEMPOTENCY_REPLAYS = Counter(
    "crm_idempotency_replays",
    "Requests answered with the stored response of an earlier one (Idempotency-Key).",
    ["method"],
    registry=None,
)
RATE_LIMIT_REFUSALS = Counter(
    "crm_rate_limit_refusals",
    "Requests refused with 429 CRM-0906 by the rate limit (API_RATE_LIMIT), by scope.",
    ["scope"],
    registry=None,
)
ACCESS_MANAGER_DECISIONS = Counter(
    "crm_access_manager_decisions",
    "Access Manager decisions, by decision (allow, deny) and source (manager: asked; cache: "
    "the decision cache answered).",
    ["decision", "source"],
    registry=None,
)
ACCESS_MANAGER_DURATION = Histogram(
    "crm_access_manager_request_duration_seconds",
    "Duration of calls to the Access Manager, by outcome (allow, deny, unauthenticated, "
    "unavailable).",
    ["outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
    registry=None,
)
ACCESS_MANAGER_FAILURES = Counter(
    "crm_access_manager_failures",
    "Access Manager calls that gave no decision (answered 503 CRM-0908), by reason: timeout, "
    "unreachable, bad_answer (a status or body that is no decision).",
    ["reason"],
    registry=None,
)

_FLAT = [
    REQUEST_DURATION,
    REQUEST_DATABASE,
    ERRORS,
    IDEMPOTENCY_REPLAYS,
    RATE_LIMIT_REFUSALS,
    ACCESS_MANAGER_DECISIONS,
    ACCESS_MANAGER_DURATION,
    ACCESS_MANAGER_FAILURES,
]


def enabled() -> bool:
    return settings.METRICS_ENABLED


class ProcessSeries:
    """A collector of this process's own values (no multiprocess directory: runserver, tests,
    a single process). `crm_requests_total` is the variant the settings choose."""

    def collect(self) -> Iterable[Metric]:
        requests = REQUESTS_BY_ORGANIZATION if settings.METRICS_ORGANIZATION_LABELS else REQUESTS
        for metric in (requests, *_FLAT):
            yield from metric.collect()


# --- Recording -------------------------------------------------------------------------------


def request_answered(
    *,
    route: str,
    method: str,
    status: int,
    organization: str,
    seconds: float,
    database_seconds: float,
) -> None:
    """One request (called by `MetricsMiddleware`, which is installed only when enabled)."""
    if settings.METRICS_ORGANIZATION_LABELS:
        REQUESTS_BY_ORGANIZATION.labels(route, method, str(status), organization).inc()
    else:
        REQUESTS.labels(route, method, str(status)).inc()
    REQUEST_DURATION.labels(route, method).observe(seconds)
    REQUEST_DATABASE.labels(route, method).observe(database_seconds)


def error_answered(code: str) -> None:
    if enabled():
        ERRORS.labels(code).inc()


def idempotency_replayed(method: str) -> None:
    if enabled():
        IDEMPOTENCY_REPLAYS.labels(method).inc()


def rate_limit_refused(scope: str) -> None:
    if enabled():
        RATE_LIMIT_REFUSALS.labels(scope).inc()


def access_manager_decided(decision: str, *, source: str) -> None:
    if enabled():
        ACCESS_MANAGER_DECISIONS.labels(decision, source).inc()


def access_manager_called(outcome: str, seconds: float) -> None:
    if enabled():
        ACCESS_MANAGER_DURATION.labels(outcome).observe(seconds)


def access_manager_failed(reason: str) -> None:
    if enabled():
        ACCESS_MANAGER_FAILURES.labels(reason).inc()
