"""A small fake Lerian Access Manager: a real HTTP server on a free loopback port, in a thread.

It speaks the lib-auth protocol (`POST /v1/authorize` -> `{"authorized": bool, "timestamp"}`)
and can misbehave on demand. `mode` is one of:

* `allow` / `deny`: a 200 with `authorized` true / false;
* `slow`: answers after `slow_seconds` (longer than the service's timeout);
* `trickle`: the status line and headers at once, then an `allow` body one byte every
  `trickle_seconds`; `trickle-headers`: the whole answer, headers included, that way (each
  byte arrives well within a per-read timeout; the whole answer takes far longer than the
  service's bound);
* `garbage`: a 200 whose body is not JSON; `500`: an internal error with a coded JSON body;
* `status:NNN`: that status with a coded JSON body (e.g. `status:401`);
* `down`: use `stop()`: nothing listens on the port any more (`start()` brings it back).

`deny_subjects` are refused even in `allow` mode. Every `/v1/authorize` call is counted and
kept (`calls`: body, `Authorization` and `traceparent` headers), and so is every connection
accepted (`connections_opened`). `GET /jwks.json` serves `jwks` (a JWKS document) for
signature-verification tests. Run as a script to use it by hand:
`python -m tests.fake_access_manager --port 4000 --mode allow`.
"""

import argparse
import contextlib
import datetime as dt
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Call:
    body: dict
    authorization: str
    traceparent: str = ""  # the W3C trace context header, when the service sent one


@dataclass
class FakeAccessManager:
    port: int = 0
    mode: str = "allow"
    slow_seconds: float = 1.0
    trickle_seconds: float = 1.0
    deny_subjects: set[str] = field(default_factory=set)
    jwks: dict | None = None
    calls: list[Call] = field(default_factory=list)
    connections_opened: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _connections: set = field(default_factory=set)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def call_count(self) -> int:
        with self._lock:
            return len(self.calls)

    def start(self) -> "FakeAccessManager":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the service's pooled client uses

            def log_message(self, *args) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                with fake._lock:
                    fake._connections.add(self.connection)
                    fake.connections_opened += 1

            def finish(self) -> None:
                with fake._lock:
                    fake._connections.discard(self.connection)
                super().finish()

            def _send(self, status: int, body: bytes, content_type="application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _trickle(self, body: bytes, *, headers_too: bool) -> None:
                """An `allow` answer written one byte at a time (bounded: the answer's length),
                until done or the client hangs up."""
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                self.close_connection = True
                try:
                    if not headers_too:
                        self.wfile.write(head)
                        head = b""
                    for byte in head + body:
                        self.wfile.write(bytes([byte]))
                        time.sleep(fake.trickle_seconds)
                except OSError:  # the client gave up: what the service should do
                    return

            def do_GET(self) -> None:
                if self.path == "/health":
                    self._send(200, b"healthy", "text/plain")
                elif self.path == "/jwks.json" and fake.jwks is not None:
                    self._send(200, json.dumps(fake.jwks).encode())
                else:
                    self._send(404, b'{"code":"404","message":"not found"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path != "/v1/authorize":
                    self._send(404, b'{"code":"404","message":"not found"}')
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"unreadable": raw.decode("utf-8", "replace")}
                with fake._lock:
                    fake.calls.append(
                        Call(
                            body,
                            self.headers.get("Authorization", ""),
                            self.headers.get("traceparent", ""),
                        )
                    )
                mode = fake.mode
                if mode == "slow":
                    time.sleep(fake.slow_seconds)
                    mode = "allow"
                if mode in ("trickle", "trickle-headers"):
                    now = dt.datetime.now(dt.UTC).isoformat()
                    body = json.dumps({"authorized": True, "timestamp": now}).encode()
                    self._trickle(body, headers_too=mode == "trickle-headers")
                    return
                if mode == "garbage":
                    self._send(200, b"<html>not a decision</html>", "text/html")
                    return
                if mode == "500":
                    self._send(500, b'{"code":"AUT-0500","message":"internal error"}')
                    return
                if mode.startswith("status:"):
                    status = int(mode.split(":", 1)[1])
                    self._send(status, json.dumps({"code": f"AUT-{status}"}).encode())
                    return
                authorized = mode == "allow" and body.get("sub") not in fake.deny_subjects
                now = dt.datetime.now(dt.UTC).isoformat()
                self._send(200, json.dumps({"authorized": authorized, "timestamp": now}).encode())

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Nothing listens on the port afterwards (connections are refused), and the kept-alive
        connections are cut, as when the process dies."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=4000)
    parser.add_argument("--mode", default="allow")
    parser.add_argument("--deny-subject", action="append", default=[])
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    args = parser.parse_args()
    fake = FakeAccessManager(
        port=args.port,
        mode=args.mode,
        slow_seconds=args.slow_seconds,
        deny_subjects=set(args.deny_subject),
    )
    fake.start()
    print(f"fake access manager on {fake.address} mode={fake.mode}", flush=True)
    try:
        while True:
            time.sleep(5)
            print(f"calls={fake.call_count}", flush=True)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
