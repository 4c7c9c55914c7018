"""`LOG_FORMAT=json` (crm/api/log_format.py): every log line one JSON object; the access line with
its fields (request id, trace id, method, route template, status, duration, organization,
client address); an exception rendered into one field of one line; nothing but the named
fields, so what a library attaches to a record (the request, SQL parameters) never reaches the
output.

The first test runs gunicorn with the production settings and reads what it printed; the
others format records in-process with the formatter `LOGGING` configures.
"""

import http.client
import io
import json
import logging
import re
import time
import uuid

import pytest
from django.conf import settings

from crm.api.log_format import JsonLineFormatter
from holders import views as holder_views
from tests.conftest import ORG_A
from tests.servers import app_environment, call, free_port, gunicorn, migrate

DOCUMENT = "52998224725"
FORWARDED_CLIENT = "198.51.100.7"


def _get(port: int, path: str, *, source: str, headers: dict[str, str]) -> int:
    """A GET from the loopback address `source` (127.0.0.1 is the trusted proxy here, 127.0.0.2
    a client connecting directly)."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=20, source_address=(source, 0)
    )
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_gunicorn_with_log_format_json_prints_one_json_object_per_line(tmp_path):
    port = free_port()
    env = app_environment(f"sqlite:///{tmp_path / 'db.sqlite3'}", port)
    env.update(
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
        LOG_FORMAT="json",
        TRUSTED_PROXIES="127.0.0.1/32",
    )
    migrate(env)
    holder = uuid.uuid4()
    organization = {"X-Organization-Id": str(ORG_A)}
    with gunicorn(env, tmp_path) as process:
        deadline = time.monotonic() + 60
        while call(port, "GET", "/health").status != 200:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        statuses = [
            _get(
                port,
                f"/v1/holders?document={DOCUMENT}",
                source="127.0.0.1",
                headers={
                    **organization,
                    "X-Request-Id": "req-json-1",
                    "X-Forwarded-For": FORWARDED_CLIENT,
                },
            ),
            _get(
                port,
                f"/v1/holders/{holder}?document={DOCUMENT}",
                source="127.0.0.2",
                headers={
                    **organization,
                    "X-Request-Id": "forged request_id=x",
                    "X-Forwarded-For": FORWARDED_CLIENT,
                },
            ),
        ]
    output = (tmp_path / "gunicorn.log").read_text()
    assert statuses == [200, 404]

    lines = [line for line in output.splitlines() if line.strip()]
    objects = [json.loads(line) for line in lines]  # every line, gunicorn's own included
    assert all(isinstance(item, dict) for item in objects)
    gunicorns = [item for item in objects if item["logger"] == "gunicorn.error"]
    assert gunicorns and all(item["request_id"] == "-" for item in gunicorns)
    requests = [item for item in objects if item["logger"] == "crm.request"]
    listed, missing = (next(i for i in requests if i["route"] == r) for r in ROUTES)
    assert set(listed) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "trace_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "organization",
        "client_address",
    }
    assert listed["request_id"] == "req-json-1"
    assert listed["trace_id"] is None  # no tracing here: the key is there, null
    assert (listed["level"], listed["method"], listed["status"]) == ("INFO", "GET", 200)
    assert listed["organization"] == str(ORG_A)
    assert listed["client_address"] == FORWARDED_CLIENT  # reported by the trusted proxy
    assert isinstance(listed["duration_ms"], float)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", listed["time"])
    assert missing["status"] == 404
    assert missing["client_address"] == "127.0.0.2"  # not a proxy: its header is ignored
    assert str(uuid.UUID(missing["request_id"])) == missing["request_id"]  # replaced
    assert DOCUMENT not in output and str(holder) not in output
    assert "forged" not in output


ROUTES = ("/v1/holders", "/v1/holders/{id}")


# --- In-process: the formatter LOGGING configures ---------------------------------------------


@pytest.fixture
def json_lines():
    """The handler `LOGGING` configures (`stdout`, on the root logger and `django.request`) with
    the formatter it names for `LOG_FORMAT=json`, writing into a buffer; the access line on
    (the test settings log WARNING and above). Yields the buffer."""
    assert settings.LOGGING["formatters"]["json"] == {"()": "crm.api.log_format.JsonLineFormatter"}
    (handler,) = [h for h in logging.getLogger().handlers if h.name == "stdout"]
    stream = io.StringIO()
    saved_stream, saved_formatter = handler.setStream(stream), handler.formatter
    handler.setFormatter(JsonLineFormatter())
    access = logging.getLogger("crm.request")
    saved_level = access.level
    access.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        access.setLevel(saved_level)
        handler.setFormatter(saved_formatter)
        handler.setStream(saved_stream)


def test_an_exception_is_one_field_of_one_line(api, json_lines, monkeypatch):
    def broken(self, request, *args, **kwargs):
        raise RuntimeError("boom\nsecond line of the message")

    monkeypatch.setattr(holder_views.HolderViewSet, "list", broken)

    response = api.get(f"/v1/holders?document={DOCUMENT}", HTTP_X_REQUEST_ID="req-boom")

    assert response.status_code == 500
    output = json_lines.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("crm.api.errors", "ERROR"),
        ("crm.request", "INFO"),
        ("django.request", "ERROR"),  # Django's, after the middleware
    ]
    failure, access, django_line = lines
    assert {line["request_id"] for line in lines} == {"req-boom"}
    assert failure["exc_info"].startswith("Traceback (most recent call last):")
    assert failure["exc_info"].endswith("RuntimeError: boom\nsecond line of the message")
    assert django_line["message"] == "Internal Server Error: /v1/holders"
    assert "request" not in django_line and "status_code" not in django_line
    assert (access["route"], access["status"]) == ("/v1/holders", 500)
    assert DOCUMENT not in output


def test_only_the_named_fields_are_written():
    """What Django's loggers attach (`request`, whose repr holds the path with the query string;
    `sql` and `params`) is dropped; a structured field we name is kept."""
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Failed", (), None)
    record.request = f"<WSGIRequest: GET '/v1/holders?document={DOCUMENT}'>"
    record.status_code = 500
    record.sql, record.params = "SELECT 1 WHERE document = %s", (DOCUMENT,)
    record.request_id = "-"
    record.span_id = "00f067aa0ba902b7"

    written = JsonLineFormatter().format(record)

    assert DOCUMENT not in written
    assert "\n" not in written
    assert list(json.loads(written)) == [
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "trace_id",
        "span_id",
    ]
