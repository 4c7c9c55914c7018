"""No personal data in any log line (docs/api.md §7): not in our request line, not in Django's own
loggers, not in the servers' access or error logs.

1. In-process: a representative run of the API and the admin (creates with a distinctive name,
   document, e-mail and phone; filters by document, account, IBAN and related-party document
   in the query string; the admin's `?q=` search; 400, 404 and 409 errors; a hard delete) with
   every logger captured at DEBUG; no record's message, arguments or traceback holds any of
   those values, in any common formatting.
2. runserver (`make run`) and gunicorn (production), as subprocesses: their output holds none
   of the values sent in query strings, malformed request lines or headers, and still holds
   our one line per request with the route template.
"""

import contextlib
import json
import logging
import re
import socket
import subprocess
import sys
import time
import traceback
import urllib.parse
import uuid
from pathlib import Path

import pytest
from django.urls import reverse

from tests.conftest import ORG_A
from tests.servers import GUNICORN, ROOT, app_environment, call, free_port, migrate

NAME = "Zoraide Quintanilha Vasconcelos"
MOTHER = "Ermelinda Quintanilha"
DOCUMENT = "529.982.247-25"
EMAIL = "zoraide.quintanilha@example.net"
PHONE = "+5511987651234"
ACCOUNT = "7654390-2"
IBAN = "BR9700360305000010009795493P1"
PARTICIPANT = "61.186.680/0001-74"
PARTY_DOCUMENT = "703.405.212-09"
PARTY_NAME = "Teodoro Brandimarte"
PERSONAL = [NAME, MOTHER, DOCUMENT, EMAIL, PHONE, ACCOUNT, IBAN, PARTICIPANT, PARTY_DOCUMENT]
PERSONAL += [PARTY_NAME]


def variants(value: str) -> set[str]:
    """The value as a log could show it: as typed, digits only, without separators, URL- and
    JSON-encoded, and each distinctive word of a name."""
    found = {value, urllib.parse.quote(value), urllib.parse.quote_plus(value)}
    found.add(json.dumps(value)[1:-1])
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 7:
        found.add(digits)
        found.add(digits[-9:])  # a phone without country and area code
    found.add(re.sub(r"[\s.\-/]", "", value))
    found.update(word for word in value.split() if len(word) >= 6)
    found.add(value.split("@")[0])
    return {variant.lower() for variant in found if len(variant) >= 6}


NEEDLES = sorted(set().union(*(variants(value) for value in PERSONAL)))


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [needle for needle in NEEDLES if needle in lowered]


HOLDER = {
    "type": "NATURAL_PERSON",
    "name": NAME,
    "document": DOCUMENT,
    "contact": {"primaryEmail": EMAIL, "mobilePhone": PHONE},
    "naturalPerson": {"motherName": MOTHER},
}
ALIAS = {
    "ledgerId": "ledger-logs",
    "accountId": "account-logs-1",
    "bankingDetails": {"branch": "0001", "account": ACCOUNT, "iban": IBAN},
    "regulatoryFields": {"participantDocument": PARTICIPANT},
    "relatedParties": [
        {
            "document": PARTY_DOCUMENT,
            "name": PARTY_NAME,
            "role": "LEGAL_REPRESENTATIVE",
            "startDate": "2024-01-01",
        }
    ],
}


@pytest.fixture
def every_log_record(caplog):
    """caplog, fed by every logger at DEBUG, those that do not propagate included."""
    caplog.set_level(logging.DEBUG)
    loggers = [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        if not logger.propagate:
            logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        for logger, level, _ in saved:
            logger.setLevel(level)
            if caplog.handler in logger.handlers:
                logger.removeHandler(caplog.handler)


def record_texts(record: logging.LogRecord) -> list[str]:
    texts = [record.getMessage(), str(record.msg), repr(record.args)]
    if record.exc_info:
        texts.append("".join(traceback.format_exception(*record.exc_info)))
    if record.exc_text:
        texts.append(record.exc_text)
    return texts


def test_no_personal_data_in_any_log_record(api, client, admin_client, every_log_record):
    created = api.post("/v1/holders", HOLDER)
    assert created.status_code == 201, created.content
    holder_id = created.json()["id"]
    aliases = f"/v1/holders/{holder_id}/aliases"
    alias = api.post(aliases, ALIAS)
    assert alias.status_code == 201, alias.content
    alias_id = alias.json()["id"]

    statuses = [
        # errors: duplicate (409), invalid (400), unknown (404), a document where an id goes
        api.post("/v1/holders", HOLDER).status_code,
        api.post("/v1/holders", {**HOLDER, "type": "ALIEN"}).status_code,
        api.post("/v1/holders", {**HOLDER, "naturalPerson": {"birthDate": DOCUMENT}}).status_code,
        api.post(aliases, ALIAS).status_code,
        api.get(f"/v1/holders/{uuid.uuid4()}").status_code,
        api.get(f"/v1/holders/{DOCUMENT}").status_code,
        api.get(f"{aliases}/{uuid.uuid4()}").status_code,
        api.get("/v1/no-such-route", {"document": DOCUMENT}).status_code,
        # filters in the query string
        api.get("/v1/holders", {"document": DOCUMENT}).status_code,
        api.get("/v1/holders", {"document": re.sub(r"\D", "", DOCUMENT)}).status_code,
        api.get("/v1/aliases", {"document": DOCUMENT}).status_code,
        api.get("/v1/aliases", {"banking_details_account": ACCOUNT}).status_code,
        api.get("/v1/aliases", {"banking_details_iban": IBAN}).status_code,
        api.get("/v1/aliases", {"regulatory_fields_participant_document": PARTICIPANT}).status_code,
        api.get("/v1/aliases", {"related_party_document": PARTY_DOCUMENT}).status_code,
        api.get("/v1/holders", {"limit": DOCUMENT}).status_code,
        api.patch(f"/v1/holders/{holder_id}", {"contact": {"otherPhone": PHONE}}).status_code,
    ]
    assert statuses == [409, 400, 400, 409, 404, 400, 404, 404] + [200] * 7 + [400, 200]
    # a document where the organization header goes
    assert client.get("/v1/holders", HTTP_X_ORGANIZATION_ID=DOCUMENT).status_code == 400

    holders_admin = reverse("admin:holders_holder_changelist")
    aliases_admin = reverse("admin:aliases_aliasaccount_changelist")
    for term in (DOCUMENT, "Quintanilha", EMAIL, PHONE, NAME):
        assert admin_client.get(holders_admin, {"q": term}).status_code == 200
    for term in (ACCOUNT, PARTY_DOCUMENT):
        assert admin_client.get(aliases_admin, {"q": term}).status_code == 200
    change = reverse("admin:holders_holder_change", args=[holder_id])
    assert admin_client.get(change).status_code == 200

    # erasure: the alias, then the holder, for good
    assert api.delete(f"{aliases}/{alias_id}?hard_delete=true").status_code == 204
    assert api.delete(f"/v1/holders/{holder_id}?hard_delete=true").status_code == 204

    records = every_log_record.records
    request_lines = [r.getMessage() for r in records if r.name == "crm.request"]
    assert len(request_lines) >= 30, "the request log was captured"
    assert any(line.startswith("GET /v1/holders/{id} 404") for line in request_lines)
    assert any(line.startswith("GET /admin/holders/holder/ 200") for line in request_lines)
    assert any(r.name == "django.request" for r in records), "Django's 4xx log was captured"
    found = {
        f"{record.name}: {text[:300]}": leaks(text)
        for record in records
        for text in record_texts(record)
        if leaks(text)
    }
    assert found == {}


def test_request_line_names_the_route_template_not_the_path(api, client, every_log_record):
    holder_id = uuid.uuid4()
    api.get(f"/v1/holders/{holder_id}/aliases/{uuid.uuid4()}?include_deleted=true")
    client.get(f"/v1/holders/{DOCUMENT}", HTTP_X_ORGANIZATION_ID="not-a-uuid")
    api.generic("FETCH", "/v1/holders")

    lines = [r.getMessage() for r in every_log_record.records if r.name == "crm.request"]
    assert lines[0].startswith("GET /v1/holders/{holder_id}/aliases/{alias_id} 404 ")
    assert lines[0].endswith(f" org={ORG_A} client=127.0.0.1")
    assert lines[1].startswith("GET /v1/holders/{id} 400 ")
    assert lines[1].endswith(" org=<invalid> client=127.0.0.1")
    assert lines[2].startswith("OTHER /v1/holders 405 ")
    assert not any(str(holder_id) in line for line in lines)


# --- The servers' own logs, as subprocesses ------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory):
    """Production settings on a migrated SQLite file of its own."""
    directory = tmp_path_factory.mktemp("logs-app")
    port = free_port()
    env = app_environment(f"sqlite:///{directory / 'db.sqlite3'}", port)
    env.update(WEB_CONCURRENCY="1", GUNICORN_THREADS="2")
    migrate(env)
    return env, port, directory


@contextlib.contextmanager
def server(command: list[str], env: dict[str, str], port: int, log: Path):
    """Start a server, wait for /health, yield; stop it and leave its whole output in `log`."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 60
            while call(port, "GET", "/health").status != 200:
                assert process.poll() is None, log.read_text(errors="replace")[-2000:]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def raw(port: int, data: bytes) -> bytes:
    """Send bytes as they are (malformed requests) and return the raw answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


DIGITS = re.sub(r"\D", "", DOCUMENT)
QUERY = f"/v1/holders?document={DIGITS}&related_party_document={urllib.parse.quote(NAME)}"


def exercise(port: int) -> None:
    assert call(port, "GET", QUERY).status == 200
    assert call(port, "GET", f"/health?document={DIGITS}").status == 200
    assert call(port, "GET", f"/v1/no-such-route?document={DIGITS}").status == 404


def assert_clean(output: str) -> None:
    assert leaks(output) == [], output[-3000:]
    assert "GET /v1/holders 200" in output, "our request line is the access log"


def test_runserver_prints_no_query_string(sqlite_app):
    env, port, directory = sqlite_app
    log = directory / "runserver.log"
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    with server(command, env, port, log):
        exercise(port)
        # http.server echoes a malformed request line in its error message
        raw(port, f"GET /v1/holders?document={DIGITS} HTTP/1.1 extra\r\n\r\n".encode())
    assert_clean(log.read_text(errors="replace"))


def test_gunicorn_prints_no_query_string_and_answers_oversized_requests_itself(sqlite_app):
    env, port, directory = sqlite_app
    log = directory / "gunicorn.log"
    with server([*GUNICORN, "--no-control-socket", "config.wsgi"], env, port, log):
        exercise(port)
        # What gunicorn answers itself, before Django, in HTML (config/gunicorn.conf.py).
        line = f"GET /v1/holders?document={DIGITS}&pad={'x' * 5000} HTTP/1.1\r\n\r\n"
        assert raw(port, line.encode()).startswith(b"HTTP/1.1 414 ")
        header = f"GET /health HTTP/1.1\r\nHost: x\r\nX-Doc: {DIGITS}{'x' * 9000}\r\n\r\n"
        assert raw(port, header.encode()).startswith(b"HTTP/1.1 431 ")
        many = "".join(f"X-H{i}: {DIGITS}\r\n" for i in range(150))
        assert raw(port, f"GET /health HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode()).startswith(
            b"HTTP/1.1 431 "
        )
        bad_line = f"GET /v1/holders?document={DIGITS} HTTP/1.1 extra\r\n\r\n"
        assert raw(port, bad_line.encode()).startswith(b"HTTP/1.1 400 ")
        bad_header = f"GET /health HTTP/1.1\r\nHost: x\r\nX Doc {DIGITS}: y\r\n\r\n"
        assert raw(port, bad_header.encode()).startswith(b"HTTP/1.1 400 ")
    output = log.read_text(errors="replace")
    assert_clean(output)
    assert "Invalid request from ip=127.0.0.1" in output, "gunicorn's refusals are still logged"
