"""What the service tells its operators about itself besides logs: Prometheus metrics.

* `metrics` — the series and the functions the kernel calls where something happens (an error
  answered, a replay, a refusal, an Access Manager call); imports no project module;
* `middleware` — requests by route template, their latency and database time;
* `exposition` — `/metrics` (off → 404, bearer token) and the relay's own listener;
* `multiprocess` — prometheus_client's multiprocess directory for gunicorn's workers.

docs/operations.md ("Metrics") lists the series and the alerts worth paging on.
"""
