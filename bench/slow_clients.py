"""`python -m bench.slow_clients --port N`: slow clients against a server on 127.0.0.1, and how
fast `/health` and `/v1` answer meanwhile (issue 25; docs/operations.md "Deploy: the reference
proxy").

`--clients` connections (default 50) each start a request and then send one byte every
`--interval` seconds (default 0.5) for at most `--seconds` (default 15): half of them a
`POST /v1/holders` whose headers are complete and whose declared 1000-byte body trickles, half
a request whose headers never end. Meanwhile `GET /health` and `GET /v1/holders` are asked
every `--probe-interval` seconds, each with a client deadline of `--deadline` seconds (default
1); the run prints each probe's latency summary, how many missed the deadline, and how many slow
connections the server cut off (and when).

`Trickle` and `probe` are the same thing for tests (tests/test_proxy.py,
tests/test_client_timeout.py).
"""

import argparse
import http.client
import selectors
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field

ORGANIZATION = "0196a3f4-1c2b-7cde-8f00-00000000000a"
HOST = "127.0.0.1"  # slow clients are only ever pointed at this machine
BODY_BYTES = 1000


def opening(index: int) -> bytes:
    """What slow client `index` sends at once: complete headers of a POST whose body will
    trickle (even), or the start of a request whose headers will trickle (odd)."""
    if index % 2 == 0:
        return (
            "POST /v1/holders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Organization-Id: {ORGANIZATION}\r\nContent-Length: {BODY_BYTES}\r\n\r\n{{"
        ).encode()
    return b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@dataclass
class Trickle:
    """`clients` slow connections to 127.0.0.1:`port`, fed by one thread until `stop()` or
    `seconds` have passed; `cut_off[i]` is when (seconds after the start) the server closed
    connection i, if it did."""

    port: int
    clients: int = 50
    interval: float = 0.5
    seconds: float = 15.0
    cut_off: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stopping = threading.Event()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, name="trickle", daemon=True)

    def __enter__(self) -> "Trickle":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.started = time.monotonic()
        for index in range(self.clients):
            sock = socket.create_connection((HOST, self.port), timeout=5)
            sock.sendall(opening(index))
            sock.setblocking(False)
            self._sockets.append(sock)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        for sock in self._sockets:
            sock.close()

    def open_connections(self) -> int:
        return self.clients - len(self.cut_off)

    def _run(self) -> None:
        deadline = self.started + self.seconds
        selector = selectors.DefaultSelector()
        for index, sock in enumerate(self._sockets):
            selector.register(sock, selectors.EVENT_READ, index)
        try:
            while not self._stopping.is_set() and time.monotonic() < deadline:
                for index, sock in enumerate(self._sockets):
                    if index not in self.cut_off:
                        try:
                            sock.send(b" ")
                        except OSError:  # reset or shut down by the server
                            self._closed(index, selector, sock)
                # Whatever the server sends before the request is complete is its way of
                # ending it (an error page, or end of stream): either way, cut off.
                for key, _ in selector.select(timeout=self.interval):
                    self._closed(key.data, selector, key.fileobj)
        finally:
            selector.close()

    def _closed(self, index: int, selector, sock) -> None:
        if index not in self.cut_off:
            self.cut_off[index] = time.monotonic() - self.started
            selector.unregister(sock)


@dataclass
class Probe:
    path: str
    status: int | None  # None: no answer within the deadline (or the connection failed)
    seconds: float


def probe(port: int, path: str, deadline: float) -> Probe:
    """`GET path` with the organization header; no answer within `deadline` seconds (per
    socket wait: connect, send, each read) counts as none."""
    started = time.monotonic()
    connection = http.client.HTTPConnection(HOST, port, timeout=deadline)
    try:
        connection.request("GET", path, headers={"X-Organization-Id": ORGANIZATION})
        response = connection.getresponse()
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException):
        status = None
    finally:
        connection.close()
    return Probe(path, status, time.monotonic() - started)


def summary(probes: list[Probe], deadline: float) -> str:
    answered = [p.seconds * 1000 for p in probes if p.status is not None]
    missed = len(probes) - len(answered)
    statuses = sorted({p.status for p in probes if p.status is not None})
    if not answered:
        return f"{len(probes)} probes, none answered within {deadline:g} s"
    return (
        f"{len(probes)} probes: p50 {statistics.median(answered):.1f} ms, "
        f"max {max(answered):.1f} ms, statuses {statuses}, {missed} missed the "
        f"{deadline:g} s deadline"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.slow_clients", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="the server on 127.0.0.1")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between bytes")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long they trickle")
    parser.add_argument("--deadline", type=float, default=1.0, help="each probe's deadline")
    parser.add_argument("--probe-interval", type=float, default=0.5)
    options = parser.parse_args(argv)
    if not (0 < options.clients <= 500 and 0 < options.seconds <= 120):
        parser.error("at most 500 clients for at most 120 s")

    probes: list[Probe] = []
    with Trickle(options.port, options.clients, options.interval, options.seconds) as trickle:
        time.sleep(options.interval * 2)  # every slow client has sent something
        while time.monotonic() < trickle.started + options.seconds:
            probes.append(probe(options.port, "/health", options.deadline))
            probes.append(probe(options.port, "/v1/holders?limit=10", options.deadline))
            time.sleep(options.probe_interval)
        cut = sorted(trickle.cut_off.values())
    print(
        f"{options.clients} slow clients, one byte every {options.interval:g} s for "
        f"{options.seconds:g} s"
    )
    for path in ("/health", "/v1/holders?limit=10"):
        print(f"  GET {path}: {summary([p for p in probes if p.path == path], options.deadline)}")
    if cut:
        print(f"  cut off by the server: {len(cut)}, after {cut[0]:.1f}-{cut[-1]:.1f} s")
    else:
        print("  cut off by the server: none")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
