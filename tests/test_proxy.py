"""Slow clients and chunked bodies, with the reference proxy and without it (issue 25;
docs/operations.md "Deploy: the reference proxy").

1. nginx with deploy/nginx/ in front of gunicorn, started by `deploy.serve_prod.Stack` (what
   `make serve-prod` runs): 50 clients trickling their requests leave `/health` and `/v1`
   answering within a 1 s client deadline; chunked bodies arrive; bodies over the limit get
   the application's own 413 from nginx itself, the limit being MAX_REQUEST_BODY_BYTES as the
   launcher renders it; `/metrics` is not routed; the HTTPS server sets X-Forwarded-Proto;
   gunicorn gone is a 503 in the contract's shape.
2. gunicorn alone (config/gunicorn.conf.py, `config.gunicorn_worker`): stalled clients, more
   of them than threads, are cut off within GUNICORN_CLIENT_TIMEOUT and `/health` answers
   again within that bound + 1 s; a request slower than the bound once received is served;
   chunked bodies work, over the limit 413, in the usual order of checks.
3. In process: `crm.api.request_body.BufferedRequestBody`'s rules, and the timeout setting.

Every server runs on the suite's database vendor (a scratch database: SQLite file, or a
PostgreSQL database next to the suite's), with production settings (tests.servers).
"""

import datetime as dt
import errno
import http.client
import io
import ipaddress
import json
import re
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jwt
import pytest
from django.conf import settings

from bench.slow_clients import Trickle, probe
from config.gunicorn_worker import DEFAULT_CLIENT_TIMEOUT_SECONDS, client_timeout_seconds
from crm.api.request_body import BufferedRequestBody, IncompleteBody
from deploy.serve_prod import TLS, Stack, free_port
from tests.fake_access_manager import FakeAccessManager
from tests.servers import ORG, ROOT, app_environment, gunicorn, migrate, scratch_database

LIMIT = 1024 * 1024  # MAX_REQUEST_BODY_BYTES's default, docs/api.md §4
# What the application answers for a body over the limit (docs/api.md §6.2), written by hand.
TOO_LARGE = {
    "code": "CRM-0905",
    "title": "Request Entity Too Large",
    "message": "The request body exceeds the maximum allowed size.",
}
CLIENT_TIMEOUT = 2.0  # GUNICORN_CLIENT_TIMEOUT of the gunicorn-alone server below


def holder_body(name: str) -> dict:
    """A valid create with a document of its own (a CPF with valid check digits)."""
    digits = [int(d) for d in f"{uuid.uuid4().int % 10**9:09d}"]
    for size in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(size + 1, 1, -1), strict=True))
        digits.append((total * 10 % 11) % 10)
    return {"type": "NATURAL_PERSON", "name": name, "document": "".join(map(str, digits))}


# --- Raw HTTP: what the test clients send ------------------------------------------------------


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """A migrated scratch database of the suite's vendor for every server of this module."""
    with scratch_database(tmp_path_factory.mktemp("proxy-db"), "proxy") as (url, _connect):
        migrate(app_environment(url, 0))
        yield url


def send(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    chunked: bool = False,
    headers: dict[str, str] | None = None,
    tls: Path | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request (a chunked body in 64 KiB chunks when `chunked`; over HTTPS trusting the
    certificate `tls`): status, headers, body."""
    if tls is not None:
        context = ssl.create_default_context(cafile=str(tls))
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=20, context=context)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    headers = {"X-Organization-Id": ORG, "Content-Type": "application/json", **(headers or {})}
    try:
        if chunked:
            pieces = [body[i : i + 65536] for i in range(0, len(body or b""), 65536)]
            headers["Transfer-Encoding"] = "chunked"
            connection.request(method, path, iter(pieces), headers, encode_chunked=True)
        else:
            connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def declared_only(port: int, length: int) -> tuple[int, bytes]:
    """A POST that declares `length` body bytes and sends none: the answer to the headers."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(
            f"POST /v1/holders HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Organization-Id: {ORG}\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n".encode()
        )
        sock.shutdown(socket.SHUT_WR)  # no body will follow: no server need wait for one
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def access_log_lines(stack: Stack, request_id: str, count: int = 1) -> list[str]:
    """nginx's access-log lines of `request_id`, once there are `count` (nginx writes a line
    when it is done with the connection's request, which may be just after the answer)."""
    deadline = time.monotonic() + 10
    while True:
        lines = (stack.run_dir / "logs" / "access.log").read_text().splitlines()
        found = [line for line in lines if f"request_id={request_id} " in line]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, lines[-5:]
            return found


# --- 1. Behind nginx ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(database, tmp_path_factory):
    """`make serve-prod`'s stack: nginx (deploy/nginx/) in front of gunicorn."""
    run_dir = tmp_path_factory.mktemp("serve-prod")
    env = app_environment(database, 0)
    # nginx reaches gunicorn from 127.0.0.1: the one proxy whose X-Forwarded-For is believed.
    env.update(WEB_CONCURRENCY="1", GUNICORN_THREADS="4", TRUSTED_PROXIES="127.0.0.1/32")
    with Stack(port=free_port(), run_dir=run_dir, env=env, log_dir=run_dir) as running:
        yield running


def test_slow_clients_behind_nginx_leave_health_and_v1_answering_within_1_s(stack):
    # 50 clients, each a byte every 0.5 s (bounded: 15 s at most), half of them in their
    # headers, half in a declared 1000-byte body: 25 slow bodies alone would hold every one
    # of gunicorn's 4 threads six times over.
    with Trickle(stack.port, clients=50, interval=0.5, seconds=15) as trickle:
        time.sleep(1.0)  # every slow client has sent more than its opening
        probes = []
        for _ in range(5):
            probes.append(probe(stack.port, "/health", deadline=1.0))
            probes.append(probe(stack.port, "/v1/holders?limit=10", deadline=1.0))
            time.sleep(0.3)
        still_trickling = trickle.open_connections()
    assert [(p.path, p.status) for p in probes] == [
        ("/health", 200),
        ("/v1/holders?limit=10", 200),
    ] * 5, probes
    assert still_trickling == 50  # the probes ran while all 50 were still at it


def test_chunked_create_through_nginx(stack):
    body = holder_body("Ana Chunked Proxy")
    status, _, created = send(
        stack.port, "POST", "/v1/holders", json.dumps(body).encode(), chunked=True
    )
    assert status == 201, created
    holder = json.loads(created)
    status, _, read = send(stack.port, "GET", f"/v1/holders/{holder['id']}")
    assert status == 200
    assert (json.loads(read)["name"], json.loads(read)["document"]) == (
        body["name"],
        body["document"],
    )


def test_oversized_bodies_get_the_applications_own_413_from_nginx(stack):
    nginx_status, nginx_body = declared_only(stack.port, LIMIT + 1)
    app_status, app_body = declared_only(stack.upstream_port, LIMIT + 1)  # gunicorn itself
    assert (nginx_status, json.loads(nginx_body)) == (413, TOO_LARGE)
    assert (nginx_status, nginx_body) == (app_status, app_body)

    request_id = f"proxy-413-{uuid.uuid4().hex[:8]}"
    status, headers, body = send(
        stack.port,
        "POST",
        "/v1/holders",
        b" " * (LIMIT + 1),
        chunked=True,
        headers={"X-Request-Id": request_id},
    )
    assert (status, json.loads(body)) == (413, TOO_LARGE)
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"] == request_id
    assert (headers["cache-control"], headers["x-content-type-options"]) == ("no-store", "nosniff")
    assert " upstream_status=- " in access_log_lines(stack, request_id)[0]  # gunicorn never saw it


def test_body_of_exactly_the_limit_passes_nginx(stack):
    assert settings.MAX_REQUEST_BODY_BYTES == LIMIT, "the reference config says 1m"
    reference = (ROOT / "deploy" / "nginx" / "crm-proxy.conf").read_text()
    assert re.findall(r"^client_max_body_size (\S+);", reference, re.M) == ["1m"]
    raw = json.dumps(holder_body("Ana Exactly The Limit")).encode()
    status, _, body = send(stack.port, "POST", "/v1/holders", raw + b" " * (LIMIT - len(raw)))
    assert status == 201, body


def test_metrics_is_not_routed_by_nginx(stack):
    request_id = f"proxy-metrics-{uuid.uuid4().hex[:8]}"
    for path in ("/metrics", "/metrics/", "//metrics"):
        status, headers, body = send(stack.port, "GET", path, headers={"X-Request-Id": request_id})
        assert (status, json.loads(body)["code"]) == (404, "CRM-0903"), path
        assert headers["content-type"] == "application/json"
    lines = access_log_lines(stack, request_id, count=3)
    assert all(" upstream_status=- " in line for line in lines), lines


def test_the_application_sees_the_clients_address_from_nginx_never_a_forged_one(stack):
    """The client connects from 127.0.0.2 and forges `X-Forwarded-For`; nginx replaces the
    header with the address it saw, gunicorn trusts nginx (TRUSTED_PROXIES), and the access
    log names the client, not nginx and not the forgery."""
    request_id = f"xff-{uuid.uuid4().hex[:12]}"
    connection = http.client.HTTPConnection(
        "127.0.0.1", stack.port, timeout=20, source_address=("127.0.0.2", 0)
    )
    try:
        headers = {"X-Forwarded-For": "203.0.113.9", "X-Request-Id": request_id}
        connection.request("GET", "/health", headers=headers)
        assert connection.getresponse().status == 200
    finally:
        connection.close()
    log = stack.run_dir / "gunicorn.log"
    deadline = time.monotonic() + 10
    while request_id not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    [line] = [line for line in log.read_text().splitlines() if request_id in line]
    assert line.endswith("client=127.0.0.2"), line
    assert "203.0.113.9" not in line


def test_nginx_passes_the_clients_request_id_or_makes_one(stack):
    _, headers, _ = send(stack.port, "GET", "/health", headers={"X-Request-Id": "trace.abc-1"})
    assert headers["x-request-id"] == "trace.abc-1"
    _, headers, _ = send(stack.port, "GET", "/health")
    made = headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)  # nginx's $request_id, used by the application
    assert " GET status=200 " in access_log_lines(stack, made)[0]


# --- 1b. HTTPS, the body limit from the environment, gunicorn gone -----------------------------


def self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    address = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(address, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


SMALL_LIMIT = 4096


@pytest.fixture(scope="module")
def tls_stack(database, tmp_path_factory):
    """The stack with crm-tls.conf filled in, the HTTPS redirect on, and a 4 KiB body limit."""
    run_dir = tmp_path_factory.mktemp("serve-prod-tls")
    certificate, key = self_signed(run_dir)
    env = app_environment(database, 0)
    env.update(
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
        SECURE_SSL_REDIRECT="true",
        MAX_REQUEST_BODY_BYTES=str(SMALL_LIMIT),
    )
    tls = TLS(free_port(), certificate, key)
    with Stack(port=free_port(), run_dir=run_dir, env=env, tls=tls, log_dir=run_dir) as running:
        yield running


def test_https_server_tells_the_application_the_request_was_https(tls_stack):
    status, headers, _ = send(tls_stack.port, "GET", "/v1/holders?limit=1")
    assert status == 301 and headers["location"].startswith("https://")  # plain HTTP
    claimed = {"X-Forwarded-Proto": "https"}  # nginx replaces what a client claims
    assert send(tls_stack.port, "GET", "/v1/holders?limit=1", headers=claimed)[0] == 301
    assert (
        send(tls_stack.tls.port, "GET", "/v1/holders?limit=1", tls=tls_stack.tls.certificate)[0]
        == 200
    )


def test_body_limit_follows_max_request_body_bytes(tls_stack):
    request_id = f"proxy-limit-{uuid.uuid4().hex[:8]}"
    over = b"{" + b" " * SMALL_LIMIT + b"}"
    status, _, body = send(
        tls_stack.tls.port,
        "POST",
        "/v1/holders",
        over,
        headers={"X-Request-Id": request_id},
        tls=tls_stack.tls.certificate,
    )
    assert (status, json.loads(body)) == (413, TOO_LARGE)
    assert " upstream_status=- " in access_log_lines(tls_stack, request_id)[0]
    raw = json.dumps(holder_body("Ana Small Limit")).encode()
    status, _, body = send(
        tls_stack.tls.port,
        "POST",
        "/v1/holders",
        raw + b" " * (SMALL_LIMIT - len(raw)),
        tls=tls_stack.tls.certificate,
    )
    assert status == 201, body


def test_gunicorn_gone_is_503_crm_0907_from_nginx(tls_stack):
    """Last of the tests on `tls_stack`: it stops its gunicorn."""
    gunicorn_process = tls_stack.processes["gunicorn"]
    gunicorn_process.terminate()
    gunicorn_process.wait(timeout=30)
    status, headers, body = send(
        tls_stack.tls.port, "GET", "/v1/holders", tls=tls_stack.tls.certificate
    )
    assert (status, json.loads(body)) == (
        503,
        {
            "code": "CRM-0907",
            "title": "Service Unavailable",
            "message": "The service is unavailable. Please retry later.",
        },
    )
    assert headers["retry-after"] == "5"


# --- 2. gunicorn alone --------------------------------------------------------------------------


def bearer() -> str:
    """A token the service parses (unverified, as lib-auth) and the fake Access Manager allows."""
    claims = {"type": "normal-user", "owner": "lerian", "sub": "proxy-test"}
    return "Bearer " + jwt.encode(claims, "proxy-test-" + "k" * 32, algorithm="HS256")


@pytest.fixture(scope="module")
def access_manager():
    fake = FakeAccessManager().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def alone(database, access_manager, tmp_path_factory):
    """gunicorn with config/gunicorn.conf.py, no proxy: 1 worker x 4 threads, a 2 s client
    bound, access control through the fake Access Manager (which can be made slow)."""
    directory = tmp_path_factory.mktemp("gunicorn-alone")
    port = free_port()
    env = app_environment(database, port)
    env.update(
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="4",
        GUNICORN_CLIENT_TIMEOUT=str(CLIENT_TIMEOUT),
        PLUGIN_AUTH_ENABLED="true",
        PLUGIN_AUTH_ADDRESS=access_manager.address,
        PLUGIN_AUTH_TIMEOUT_SECONDS="8",
        PLUGIN_AUTH_CACHE_SECONDS="0",
    )
    with gunicorn(env, directory) as process:
        deadline = time.monotonic() + 60
        while probe(port, "/health", deadline=2.0).status != 200:
            assert process.poll() is None, (directory / "gunicorn.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield port, directory / "gunicorn.log"


def log_since(log: Path, offset: int) -> str:
    return log.read_bytes()[offset:].decode(errors="replace")


def test_stalled_clients_are_cut_off_and_health_answers_again_within_the_bound(alone):
    port, log = alone
    assert "Using worker: config.gunicorn_worker.ClientDeadlineWorker" in log.read_text()
    offset = log.stat().st_size
    # 9 connections (more than the 4 threads), each sending a byte every 0.5 s: a timeout
    # per read would never fire; the bound is on the whole request.
    with Trickle(port, clients=9, interval=0.5, seconds=15) as trickle:
        answer = probe(port, "/health", deadline=CLIENT_TIMEOUT + 1)
        deadline = time.monotonic() + CLIENT_TIMEOUT + 5
        while trickle.open_connections() and time.monotonic() < deadline:
            time.sleep(0.1)
        cut_off = dict(trickle.cut_off)
    assert answer.status == 200, answer
    assert sorted(cut_off) == list(range(9)), cut_off  # every stalled connection closed
    # The worker writes its line just after closing a socket: wait for them (bounded).
    deadline = time.monotonic() + 10
    while log_since(log, offset).count("Client timeout") < 9 and time.monotonic() < deadline:
        time.sleep(0.1)
    text = log_since(log, offset)
    assert text.count("Client timeout: no complete request within 2s") == 9, text[-3000:]
    assert "Traceback" not in text


def test_a_request_slower_than_the_bound_once_received_is_served(alone, access_manager):
    port, log = alone
    offset = log.stat().st_size
    access_manager.mode, access_manager.slow_seconds = "slow", CLIENT_TIMEOUT + 1.5
    try:
        status, _, body = send(
            port,
            "POST",
            "/v1/holders",
            json.dumps(holder_body("Ana Slow Decision")).encode(),
            headers={"Authorization": bearer()},
        )
    finally:
        access_manager.mode = "allow"
    assert status == 201, body
    assert "Client timeout" not in log_since(log, offset)


def test_chunked_bodies_directly_against_gunicorn(alone):
    port, _ = alone
    auth = {"Authorization": bearer()}
    body = holder_body("Ana Chunked Alone")
    status, _, created = send(
        port, "POST", "/v1/holders", json.dumps(body).encode(), chunked=True, headers=auth
    )
    assert status == 201, created
    status, _, read = send(port, "GET", f"/v1/holders/{json.loads(created)['id']}", headers=auth)
    assert (status, json.loads(read)["document"]) == (200, body["document"])

    status, _, refused = send(port, "POST", "/v1/holders", b"", chunked=True, headers=auth)
    assert (status, json.loads(refused)["code"]) == (400, "CRM-0004")
    over = b" " * (LIMIT + 1)
    status, _, refused = send(port, "POST", "/v1/holders", over, chunked=True, headers=auth)
    assert (status, json.loads(refused)) == (413, TOO_LARGE)
    # The usual order of checks (docs/api.md §3.1): the method first, then the size.
    status, _, refused = send(port, "PUT", "/v1/holders", over, chunked=True, headers=auth)
    assert (status, json.loads(refused)["code"]) == (405, "CRM-0904")


def test_a_body_cut_short_never_reaches_the_application(alone):
    port, log = alone
    offset = log.stat().st_size
    request_id = f"short-{uuid.uuid4().hex[:8]}"
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(
            f"POST /v1/holders HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Organization-Id: {ORG}\r\n"
            f"X-Request-Id: {request_id}\r\nContent-Length: 100\r\n\r\n{{}}".encode()
        )
        sock.shutdown(socket.SHUT_WR)  # the client is done: 2 bytes of 100
        answer = sock.recv(65536)
    assert answer == b""  # closed without an answer
    text = log_since(log, offset)  # the application logs a request before it answers
    assert request_id not in text  # no access-log line: the application never ran
    assert "Traceback" not in text


# --- 3. In process ------------------------------------------------------------------------------


def buffered(environ: dict, limit: int = 10) -> tuple[dict, list[str]]:
    """Run BufferedRequestBody over `environ`: what the application saw, and the order of
    events (`received`, `app`)."""
    events: list[str] = []
    seen: dict = {}

    def app(env, start_response):
        events.append("app")
        seen.update(env, position=env["wsgi.input"].tell())
        seen["body"] = env["wsgi.input"].read()
        return [b""]

    BufferedRequestBody(app, limit=limit, on_received=lambda: events.append("received"))(
        environ, None
    )
    return seen, events


TERMINATED = {"wsgi.input_terminated": True}


@pytest.mark.parametrize(
    ("environ", "sent", "body", "length", "buffered_here"),
    [
        pytest.param({"CONTENT_LENGTH": "5"}, b"hello world", b"hello", "5", True, id="declared"),
        # Over the limit: left alone, Django refuses the declared size without reading.
        pytest.param({"CONTENT_LENGTH": "11"}, b"hello world", None, "11", False, id="over"),
        pytest.param(TERMINATED, b"hello", b"hello", "5", True, id="chunked"),
        pytest.param(TERMINATED, b"0123456789", b"0123456789", "10", True, id="chunked-limit"),
        pytest.param(TERMINATED, b"hello world!", b"hello world", "11", True, id="chunked-over"),
        pytest.param(TERMINATED, b"", b"", "0", True, id="chunked-empty"),
        pytest.param({**TERMINATED, "CONTENT_LENGTH": ""}, b"abc", b"abc", "3", True, id="blank"),
        # A server that cannot say where the body ends: left alone (Django reads nothing).
        pytest.param({}, b"hello", None, None, False, id="unterminated"),
    ],
)
def test_buffered_body_rules(environ, sent, body, length, buffered_here):
    stream = io.BytesIO(sent)
    seen, events = buffered({**environ, "wsgi.input": stream})
    assert (seen["wsgi.input"] is not stream, seen.get("CONTENT_LENGTH")) == (buffered_here, length)
    if buffered_here:
        assert seen["body"] == body
    else:
        assert (seen["position"], seen["body"]) == (0, sent)  # nothing consumed before the app
    assert events == ["received", "app"]


def test_buffered_body_refuses_a_body_that_ends_early():
    with pytest.raises(IncompleteBody) as caught:
        buffered({"CONTENT_LENGTH": "8", "wsgi.input": io.BytesIO(b"abc")})
    assert isinstance(caught.value, ConnectionResetError)
    assert caught.value.errno == errno.ECONNRESET  # what gunicorn treats as a client reset


def test_client_timeout_setting(monkeypatch):
    monkeypatch.delenv("GUNICORN_CLIENT_TIMEOUT", raising=False)
    assert client_timeout_seconds() == DEFAULT_CLIENT_TIMEOUT_SECONDS == 10
    monkeypatch.setenv("GUNICORN_CLIENT_TIMEOUT", "2.5")
    assert client_timeout_seconds() == 2.5
    for bad in ("0", "-1", "ten", "nan"):
        monkeypatch.setenv("GUNICORN_CLIENT_TIMEOUT", bad)
        with pytest.raises(ValueError, match="GUNICORN_CLIENT_TIMEOUT"):
            client_timeout_seconds()


def test_serve_prod_help_explains_its_options():
    done = subprocess.run(
        [sys.executable, "deploy/serve_prod.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    for option in ("--port", "--run-dir", "--relay", "--tls-port", "EVENTS_ENABLED"):
        assert option in done.stdout
