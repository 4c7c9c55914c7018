"""What the service tells its operators about itself besides logs.

* `metrics` — the Prometheus series and the functions the kernel calls where something happens
  (an error answered, a replay, a refusal, an Access Manager call); imports no project module;
* `exposition` — `/metrics` (off → 404, bearer token) and the relay's own listener;
* `multiprocess` — prometheus_client's multiprocess directory for gunicorn's workers;
* `tracing` — OpenTelemetry's switch and the calls the rest of the code makes; `otel`, the SDK
  side, imported only when telemetry is on;
* `middleware` — the request span and the request metrics.

docs/operations.md ("Metrics", "Traces") lists the series, the alerts worth paging on, what is
traced and what never is.

May import: Django, prometheus_client and OpenTelemetry; `middleware` also `crm.api.middleware`
(the route template). `crm.api`, `crm.access` and `events` call `metrics` and `tracing`.
"""
