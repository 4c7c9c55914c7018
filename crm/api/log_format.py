"""`LOG_FORMAT=json`: every log line one JSON object (python-json-logger's formatter).

Each object holds `time` (ISO 8601, UTC), `level`, `logger`, `message`, `request_id` (`-`
outside a request) and `trace_id` (set by the OpenTelemetry log filter when tracing is on, null
otherwise); the access line (crm.api.middleware.RequestIdMiddleware) adds the fields of
`REQUEST_FIELDS`, passed with `extra=`. An exception is rendered into `exc_info` as one string:
JSON escapes its line breaks, so a traceback is still one line.

Only the fields named here are written. Anything else a library attaches to a record is
dropped: Django's `django.request` attaches the request (its repr holds the path with the query
string, which carries documents), `django.db.backends` the SQL parameters. A new structured
field is added to `REQUEST_FIELDS` or `OPTIONAL_FIELDS` once it is known to carry no personal
data (docs/api.md §7.4).

Imports nothing of Django: gunicorn's master process uses it too (config/gunicorn.conf.py).
"""

from typing import Any

from pythonjsonlogger.json import JsonFormatter

ALWAYS_FIELDS = ("time", "level", "logger", "message", "request_id", "trace_id")
REQUEST_FIELDS = (
    "method",
    "route",
    "status",
    "duration_ms",
    "organization",
    "client_address",
)
OPTIONAL_FIELDS = ("span_id", "exc_info", "stack_info")
_KEPT = frozenset(REQUEST_FIELDS + OPTIONAL_FIELDS)


class JsonLineFormatter(JsonFormatter):
    """One JSON object per record, with the fields above and no others."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s %(request_id)s %(trace_id)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        kept = {name: log_data.get(name) for name in ALWAYS_FIELDS}
        kept["request_id"] = kept["request_id"] or "-"  # gunicorn's lines have no filter
        kept.update((name, value) for name, value in log_data.items() if name in _KEPT)
        return kept
