"""Write throughput with change events off vs on (issue 13's target: on >= 90 % of off).

`write_throughput(env, ...)` serves the app twice with gunicorn (production settings, the
benchmark's database), `EVENTS_ENABLED` false then true, and drives `POST /v1/holders` for
the same time at the same concurrency each time. With events on, `manage.py relay_events`
runs alongside when a broker answers at `EVENTS_BROKER_URL` (default the local RabbitMQ;
exchange `crm.bench.events`, no queue bound, so RabbitMQ drops what it accepts), so the
figure includes the relay's share of the machine, as in production. bench/run.py prints it.
"""

import http.client
import json
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from bench import driver

ROOT = Path(__file__).resolve().parent.parent
ORG = "0196a3f4-1c2b-7cde-8f00-0000000be4c5"
BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
TARGET = 0.90


@dataclass
class EventsBench:
    off: driver.Result
    outbox: driver.Result  # events on, no relay running: the API's own cost of the outbox
    on: driver.Result
    relay: bool  # a relay ran (on the same two cores) during `on`

    @property
    def ratio(self) -> float:
        return self.on.rps / self.off.rps if self.off.rps else 0.0

    @property
    def outbox_ratio(self) -> float:
        return self.outbox.rps / self.off.rps if self.off.rps else 0.0


def _broker_answers(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 5672), timeout=2).close()
    except OSError:
        return False
    return True


def _serve(env: dict, port: int) -> subprocess.Popen:
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


def _measure(name: str, env: dict, port: int, prefix: int, seconds: float, concurrency: int):
    headers = {"X-Organization-Id": ORG, "Content-Type": "application/json"}
    counter = iter(range(10**9))

    def new_holder():
        n = next(counter)
        body = {"type": "LEGAL_PERSON", "name": f"Events Co {n}", "document": f"{prefix}{n:013d}"}
        return ("POST", "/v1/holders", headers, json.dumps(body).encode())

    server = _serve(env, port)
    try:
        driver.run(name, "127.0.0.1", port, new_holder, ok=(201,), concurrency=4, seconds=1)
        return driver.run(
            name,
            "127.0.0.1",
            port,
            new_holder,
            ok=(201,),
            concurrency=concurrency,
            seconds=seconds,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def write_throughput(
    env: dict, *, port: int, seconds: float = 10.0, concurrency: int = 16
) -> EventsBench:
    """POST /v1/holders req/s with events off, then on without a relay (the API's own cost:
    the outbox row in the write's transaction), then on with the relay publishing on the same
    machine (documents of each run distinct)."""
    off = _measure(
        "create holder, events off",
        {**env, "EVENTS_ENABLED": "false"},
        port,
        7,
        seconds,
        concurrency,
    )
    outbox = _measure(
        "create holder, events on, no relay",
        {**env, "EVENTS_ENABLED": "true"},
        port,
        9,
        seconds,
        concurrency,
    )
    broker = env.get("EVENTS_BROKER_URL") or BROKER_URL
    relay = None
    if _broker_answers(broker):
        relay = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "relay_events",
                "--broker-url",
                broker,
                "--exchange",
                "crm.bench.events",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        on = _measure(
            "create holder, events on",
            {**env, "EVENTS_ENABLED": "true"},
            port,
            8,
            seconds,
            concurrency,
        )
    finally:
        if relay is not None:
            relay.terminate()
            relay.wait(timeout=60)
    return EventsBench(off, outbox, on, relay is not None)


def report(bench: EventsBench) -> str:
    verdict = "meets" if bench.ratio >= TARGET else "BELOW"
    relay = "with the relay running" if bench.relay else "no broker: outbox only"
    return "\n".join(
        [
            f"{bench.off.name:40} {bench.off.rps:8.0f} req/s  p99 {bench.off.p99:7.1f} ms  "
            f"errors {bench.off.errors}",
            f"{bench.outbox.name:40} {bench.outbox.rps:8.0f} req/s  "
            f"p99 {bench.outbox.p99:7.1f} ms  errors {bench.outbox.errors}",
            f"{bench.on.name:40} {bench.on.rps:8.0f} req/s  p99 {bench.on.p99:7.1f} ms  "
            f"errors {bench.on.errors}",
            f"events on (outbox only) / off: {bench.outbox_ratio:.0%}",
            f"events on / off: {bench.ratio:.0%} ({relay}; target >= {TARGET:.0%}: {verdict})",
        ]
    )
