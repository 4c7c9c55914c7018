"""A small HTTP/1.1 load driver: asyncio, keep-alive connections, exact percentiles.

Why not locust: every figure here is a per-endpoint run of a few seconds at a fixed
concurrency, which needs exact p50/p99 and error counts per run, not a UI or user scenarios;
and a second process of locust (gevent) would take more of the two shared cores than this
loop does. wrk would be faster but cannot vary ids and bodies per request without Lua.
"""

import asyncio
import http.client
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

Request = tuple[str, str, dict[str, str], bytes]  # method, path, headers, body
ROOT = Path(__file__).resolve().parent.parent


def fresh_numbers(span: int = 10**6) -> Iterator[int]:
    """Numbers for the documents and account ids a run creates, distinct from those of runs
    started at another second (a database kept with --skip-load still holds them: a repeated
    document is a 409, not a create). `n % span` counts from 0 within the run, for values
    whose size should not change the work measured (a name's number: its index tokens)."""
    start = int(time.time()) % 10**6 * span
    return iter(range(start, start + span))


def holder_creator(organization: str, label: str, document_prefix: str) -> Callable[[], Request]:
    """Requests for `POST /v1/holders`, each a new legal person of `organization`: the
    document never repeats (`fresh_numbers` after `document_prefix`), the name is `label` and a
    number whose size does not grow with the run."""
    headers = {"X-Organization-Id": organization, "Content-Type": "application/json"}
    counter = fresh_numbers()

    def make() -> Request:
        n = next(counter)
        body = {
            "type": "LEGAL_PERSON",
            "name": f"{label} {n % 10**6}",
            "document": f"{document_prefix}{n:013d}",
        }
        return ("POST", "/v1/holders", headers, json.dumps(body).encode())

    return make


@dataclass
class Result:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: int = 0  # 5xx, unexpected status or a broken connection
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


async def _exchange(reader, writer, host: str, request: Request) -> int:
    method, path, headers, body = request
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length, close = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "connection" and value.strip().lower() == "close":
            close = True
    await reader.readexactly(length)
    if close:
        raise ConnectionResetError("server closed the connection")
    return status


async def _worker(host, port, make: Callable[[], Request], ok, result: Result, deadline):
    reader = writer = None
    while time.monotonic() < deadline:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            started = time.monotonic()
            status = await _exchange(reader, writer, host, make())
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status in ok:
                result.latencies.append(time.monotonic() - started)
            else:
                result.errors += 1
        except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def serve(env: dict, port: int) -> subprocess.Popen:
    """gunicorn as in production (`config/gunicorn.conf.py`) with `env`, on `port` of the
    loopback, once `/health` answers."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env={**env, "SERVER_PORT": str(port)},
    )
    for _ in range(150):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            connection.getresponse().read()
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def run(name, host, port, make, *, ok=(200,), concurrency=16, seconds=10.0) -> Result:
    """Drive `make()` requests at `concurrency` for `seconds`; successful statuses in `ok`."""
    result = Result(name, seconds)

    async def main():
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(_worker(host, port, make, ok, result, deadline) for _ in range(concurrency))
        )

    started = time.monotonic()
    asyncio.run(main())
    result.seconds = time.monotonic() - started
    return result
