"""Write throughput with change events off vs on (issue 13's target: on >= 90 % of off).

`write_throughput(env, ...)` serves the app with gunicorn (production settings, the
benchmark's database) and drives `POST /v1/holders` for the same time at the same concurrency
in three set-ups: events off; events on without a relay (the API's own cost of the outbox);
events on with `manage.py relay_events` running alongside when a broker answers at
`EVENTS_BROKER_URL` (default the local RabbitMQ; exchange `crm.bench.events`, no queue bound,
so RabbitMQ drops what it accepts), so that figure includes the relay's share of the machine,
as in production.

The set-ups are interleaved over `rounds` (the order reversed every other round: off, outbox,
relay, then relay, outbox, off, ...), and the ratios are the medians of each round's ratios: a
single off-then-on sequence charges "on" for the tables the "off" run grew and for whatever
else the two shared cores were doing at the time. The backlog an outbox-only run leaves is
drained (`relay_events --once`, not timed) before the next run. bench/run.py prints it.
"""

import socket
import statistics
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from bench import driver

ROOT = Path(__file__).resolve().parent.parent
ORG = "0196a3f4-1c2b-7cde-8f00-0000000be4c5"
BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
TARGET = 0.90


@dataclass
class Round:
    off: driver.Result
    outbox: driver.Result  # events on, no relay running: the API's own cost of the outbox
    on: driver.Result  # events on, the relay running (when a broker answers)

    @property
    def ratio(self) -> float:
        return self.on.rps / self.off.rps if self.off.rps else 0.0

    @property
    def outbox_ratio(self) -> float:
        return self.outbox.rps / self.off.rps if self.off.rps else 0.0


@dataclass
class EventsBench:
    rounds: list[Round]
    relay: bool  # a relay ran (on the same two cores) during `on`

    @property
    def off_rps(self) -> float:
        return statistics.mean(r.off.rps for r in self.rounds)

    @property
    def outbox_rps(self) -> float:
        return statistics.mean(r.outbox.rps for r in self.rounds)

    @property
    def on_rps(self) -> float:
        return statistics.mean(r.on.rps for r in self.rounds)

    # The verdict's statistic is the median of the rounds' ratios: one run disturbed by
    # something else on the two shared cores (a checkpoint, the load generator's own GC)
    # moves a mean by tens of percent and a median not at all. The mean is printed beside it.
    @property
    def ratio(self) -> float:
        return statistics.median(r.ratio for r in self.rounds)

    @property
    def mean_ratio(self) -> float:
        return statistics.mean(r.ratio for r in self.rounds)

    @property
    def outbox_ratio(self) -> float:
        return statistics.median(r.outbox_ratio for r in self.rounds)


def _broker_answers(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 5672), timeout=2).close()
    except OSError:
        return False
    return True


def _measure(name: str, env: dict, port: int, prefix: int, seconds: float, concurrency: int):
    new_holder = driver.holder_creator(ORG, "Events Co", str(prefix))

    server = driver.serve(env, port)
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


def _relay(broker: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "manage.py",
        "relay_events",
        "--broker-url",
        broker,
        "--exchange",
        "crm.bench.events",
        *args,
    ]


def _settle(env: dict) -> None:
    """Start every run from the same state: the previous run's writes flushed (a checkpoint
    would otherwise land in the middle of the next run, in one setup and not the other) and the
    written tables vacuumed and analysed (autovacuum's work in production; this machine's
    server runs without it). Best effort: without the rights, runs go on as they are."""
    for sql in (
        "CHECKPOINT",
        "VACUUM (ANALYZE) holders_holder, holders_holdernametoken, crm_auditentry, "
        "events_outboxevent",
    ):
        subprocess.run(
            ["psql", env["DATABASE_URL"], "-qc", sql],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=600,
        )


def write_throughput(
    env: dict, *, port: int, seconds: float = 10.0, concurrency: int = 16, rounds: int = 3
) -> EventsBench:
    """POST /v1/holders req/s with events off, on without a relay, and on with the relay
    publishing on the same machine, interleaved over `rounds` (documents of each run
    distinct)."""
    broker = env.get("EVENTS_BROKER_URL") or BROKER_URL
    relay = _broker_answers(broker)
    on_env = {**env, "EVENTS_ENABLED": "true"}
    runs = 0

    def measure(setup: str) -> driver.Result:
        nonlocal runs
        runs += 1
        _settle(env)
        prefix = 10 + runs  # distinct documents in every run
        if setup == "off":
            name, run_env = "create holder, events off", {**env, "EVENTS_ENABLED": "false"}
        elif setup == "outbox":
            name, run_env = "create holder, events on, no relay", on_env
        else:
            name, run_env = "create holder, events on", on_env
        process = None
        if setup == "on" and relay:
            process = subprocess.Popen(
                _relay(broker),
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        try:
            result = _measure(name, run_env, port, prefix, seconds, concurrency)
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=60)
        if setup == "outbox" and relay:  # its backlog is not the next run's work
            subprocess.run(
                _relay(broker, "--once"),
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
                timeout=600,
            )
        return result

    results = []
    for number in range(rounds):
        order = ("off", "outbox", "on") if number % 2 == 0 else ("on", "outbox", "off")
        measured = {setup: measure(setup) for setup in order}
        results.append(Round(measured["off"], measured["outbox"], measured["on"]))
        print(
            f"  round {number + 1}/{rounds} ({', '.join(order)}): off "
            f"{measured['off'].rps:.0f}, outbox {measured['outbox'].rps:.0f}, on "
            f"{measured['on'].rps:.0f} req/s; outbox/off {results[-1].outbox_ratio:.1%}, "
            f"on/off {results[-1].ratio:.1%}",
            flush=True,
        )
    return EventsBench(results, relay)


def report(bench: EventsBench) -> str:
    verdict = "meets" if bench.ratio >= TARGET else "BELOW"
    relay = "with the relay running" if bench.relay else "no broker: outbox only"
    rounds = len(bench.rounds)

    def line(name: str, results: list[driver.Result]) -> str:
        rps = statistics.mean(r.rps for r in results)
        p99 = statistics.mean(r.p99 for r in results)
        errors = sum(r.errors for r in results)
        return f"{name:40} {rps:8.0f} req/s  p99 {p99:7.1f} ms  errors {errors}"

    return "\n".join(
        [
            f"write throughput, {rounds} interleaved round(s) (req/s: means of the rounds):",
            line(bench.rounds[0].off.name, [r.off for r in bench.rounds]),
            line(bench.rounds[0].outbox.name, [r.outbox for r in bench.rounds]),
            line(bench.rounds[0].on.name, [r.on for r in bench.rounds]),
            f"events on (outbox only) / off: median {bench.outbox_ratio:.1%} (rounds: "
            + ", ".join(f"{r.outbox_ratio:.1%}" for r in bench.rounds)
            + ")",
            f"events on / off: median {bench.ratio:.1%}, mean {bench.mean_ratio:.1%} (rounds: "
            + ", ".join(f"{r.ratio:.1%}" for r in bench.rounds)
            + f"; {relay}; target >= {TARGET:.0%}: {verdict})",
        ]
    )
