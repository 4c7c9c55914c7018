"""A pg_auto_failover formation for tests (tests/test_failover.py): a monitor and two PostgreSQL
nodes on free loopback ports in a temporary directory, created and run with the commands the
project ships (`deploy/pg_auto_failover/formation.sh`), as the `postgres` user when run as root
(pg_autoctl refuses root), with trust authentication and no TLS (loopback only), and the shipped
failover timing (`formation.sh settings` on the monitor, `formation.sh node-settings` on each
node). `kill_primary` kills the primary's postmaster; `kill_node` the whole node, keeper and
PostgreSQL, as when its machine dies (`restart_node` brings its keeper back).

pg_autoctl keeps its configuration and state under `XDG_CONFIG_HOME` / `XDG_DATA_HOME`: both
point into the temporary directory, so formations of concurrent runs never meet. `stop()` ends
everything the formation started (`pg_autoctl stop --immediate`, then the process groups, then
any postmaster still named in a `postmaster.pid`) and checks that none of its ports is still
listening; the test's fixture calls it in a finalizer."""

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.servers import ROOT, _children, free_port, postgres_bin

SCRIPT = ROOT / "deploy" / "pg_auto_failover" / "formation.sh"
# Bounds on waits for the formation (never assertions on time): creating it takes about a
# minute on a busy 2-core machine, a failover and a rejoin a few seconds each.
START_SECONDS = 240
SETTLE_SECONDS = 180
# While waiting for the formation to settle, the primary is checkpointed this often (seconds).
CHECKPOINT_EVERY = 5.0
# The states the monitor assigns a primary it has decided to fail over from.
DEMOTING = {"draining", "demote_timeout", "demoted", "catchingup", "secondary"}


class FormationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Node:
    name: str
    port: int
    state: str  # reported by the node's keeper
    assigned: str  # assigned by the monitor
    timeline: int


class Formation:
    """Monitor + `nodes` PostgreSQL nodes; the application's database is `dbname`."""

    def __init__(self, nodes: int = 2, dbname: str = "crm") -> None:
        bindir = postgres_bin()
        if shutil.which("pg_autoctl") is None or bindir is None:
            raise FormationError(
                "pg_autoctl or the PostgreSQL server binaries are missing: run .ci/system-packages"
            )
        self.dbname = dbname
        self.dir = Path(tempfile.mkdtemp(prefix="crm-failover-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        # The shipped script, copied where the `postgres` user can surely read it: the checkout
        # may sit under a directory only its owner may enter.
        self.script_path = self.dir / SCRIPT.name
        shutil.copy2(SCRIPT, self.script_path)
        self.monitor_port = free_port()
        self.ports = {f"node_{number}": free_port() for number in range(1, nodes + 1)}
        self.env = {
            "HOME": str(self.dir),
            "XDG_CONFIG_HOME": str(self.dir / "config"),
            "XDG_DATA_HOME": str(self.dir / "share"),
            "XDG_RUNTIME_DIR": str(self.dir / "run"),
            "PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PG_CTL": str(bindir / "pg_ctl"),
            "LANG": "C.UTF-8",
            "AUTH": "trust",
            "SSL": "--no-ssl",
            "NODE_HOSTNAME": "127.0.0.1",
            "DBNAME": dbname,
        }
        self.processes: list[subprocess.Popen] = []
        self.ended: list[subprocess.Popen] = []  # killed on purpose (kill_node)
        self.keepers: dict[str, subprocess.Popen] = {}  # each node's pg_autoctl
        self._logs: list = []
        self._log_names: dict[int, str] = {}  # pid -> the name of its log
        self._holders: list[tuple[DeadAddress, threading.Thread]] = []

    # --- Running pg_autoctl -------------------------------------------------------------------

    def _command(self, *args: str, **env: str) -> list[str]:
        assignments = [f"{name}={value}" for name, value in {**self.env, **env}.items()]
        return [*self.as_user, "env", "-i", *assignments, *args]

    def _spawn(self, name: str, *args: str, **env: str) -> subprocess.Popen:
        log = (self.dir / f"{name}.log").open("ab")
        self._logs.append(log)
        process = subprocess.Popen(
            self._command(*args, **env),
            cwd=self.dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed whole by stop()
        )
        self.processes.append(process)
        self._log_names[process.pid] = name
        return process

    def _log_tail(self, process: subprocess.Popen, lines: int = 25) -> str:
        """The end of `process`'s log: the error message says why it exited (the temporary
        directory, logs included, is removed when the formation stops)."""
        name = self._log_names.get(process.pid, "?")
        with contextlib.suppress(OSError):
            text = (self.dir / f"{name}.log").read_text(errors="replace")
            return f"{name}.log ends:\n" + "\n".join(text.splitlines()[-lines:])
        return f"{name}.log is unreadable"

    def autoctl(self, *args: str, pgdata: Path | None = None, timeout: float = 30) -> str:
        """`pg_autoctl ARGS --pgdata MONITOR` (or `pgdata`); its standard output."""
        done = subprocess.run(
            self._command("pg_autoctl", *args, "--pgdata", str(pgdata or self.monitor_dir)),
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise FormationError(f"pg_autoctl {' '.join(args)}: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def script(self, command: str, pgdata: Path, timeout: float = 60, **env: str) -> str:
        """`formation.sh COMMAND` once (settings, check); its output, or FormationError."""
        done = subprocess.run(
            self._command(str(self.script_path), command, PGDATA=str(pgdata), **env),
            cwd=self.dir,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise FormationError(f"formation.sh {command}: {(done.stdout + done.stderr)[-2000:]}")
        return done.stdout

    @property
    def monitor_dir(self) -> Path:
        return self.dir / "monitor"

    def data_dir(self, name: str) -> Path:
        return self.dir / name

    # --- Life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Monitor, then the nodes (each joins as soon as the previous one registered), then
        the formation's settings (once a standby streams); returns once a primary and a
        synchronous standby run."""
        self._make_state_directories()
        self._spawn(
            "monitor", str(self.script_path), "monitor",
            PGDATA=str(self.monitor_dir), PGPORT=str(self.monitor_port),
        )  # fmt: skip
        monitor_uri = self._wait(self._monitor_uri, "the monitor", START_SECONDS)
        for name, port in self.ports.items():
            self.keepers[name] = self._spawn(
                name, str(self.script_path), "node",
                PGDATA=str(self.data_dir(name)), PGPORT=str(port), MONITOR_URI=monitor_uri,
            )  # fmt: skip
            self._wait(lambda name=name: self._registered(name), f"{name} to register")
        first = next(iter(self.ports))
        self._wait(lambda: self._checkpoint(first) and self.stable(), "a standby", START_SECONDS)
        # The shipped settings, the monitor's failover timing among them, then each keeper's
        # network partition timeout (below the monitor's primary_demote_timeout).
        self.script("settings", self.monitor_dir, NUMBER_SYNC_STANDBYS="0")
        for name in self.ports:
            self.script("node-settings", self.data_dir(name))
        self.wait_stable(START_SECONDS)

    def _make_state_directories(self) -> None:
        """pg_autoctl's directories for every server of the formation, made before any
        pg_autoctl runs. Each pg_autoctl command creates its server's configuration, state and
        pid-file directories (`XDG_CONFIG_HOME/pg_autoctl/<PGDATA>`, the same under
        `XDG_DATA_HOME` and `XDG_RUNTIME_DIR`) as `mkdir -p` does, but fails when another
        process creates one between its check and its `mkdir`: the monitor, starting, and
        this test's first `pg_autoctl show uri` raced so ("Failed to create state directory
        …: File exists"; the monitor exited). The probe also waits for the monitor to listen
        (`_monitor_uri`)."""
        made = [self.dir / "run"]
        for pgdata in [self.monitor_dir, *(self.data_dir(name) for name in self.ports)]:
            for base in ("config", "share", "run"):
                made.append(self.dir / base / "pg_autoctl" / pgdata.relative_to("/"))
        for directory in made:
            directory.mkdir(parents=True)
        if self.as_user:  # each of them and its parents inside the formation's directory
            inside = {p for d in made for p in (d, *d.parents) if self.dir in p.parents}
            for directory in inside:
                shutil.chown(directory, "postgres", "postgres")

    def _checkpoint(self, name: str) -> bool:
        """`CHECKPOINT` on node `name`. A standby's base backup (pg_basebackup, run by
        pg_autoctl) starts with a spread checkpoint, which took 95 s here on an idle new
        cluster; an immediate one requested meanwhile ends it at once."""
        with contextlib.suppress(psycopg.Error), self.connect(name) as connection:
            connection.execute("CHECKPOINT")
        return True

    def _monitor_uri(self) -> str | None:
        """The monitor's URI once its PostgreSQL listens (by then its pg_autoctl has made its
        files: no other pg_autoctl runs beside it before)."""
        if not _listening(self.monitor_port):
            return None
        with contextlib.suppress(FormationError, subprocess.TimeoutExpired):
            for entry in json.loads(self.autoctl("show", "uri", "--json")):
                if entry["type"] == "monitor":
                    return entry["uri"]
        return None

    def _registered(self, name: str) -> bool:
        with contextlib.suppress(FormationError, subprocess.TimeoutExpired, ValueError):
            return any(node.name == name for node in self.nodes())
        return False

    def _wait(self, probe, what: str, seconds: float = START_SECONDS):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise FormationError(
                        f"a pg_autoctl process exited ({process.returncode}) while waiting "
                        f"for {what}; {self._log_tail(process)}"
                    )
            found = probe()
            if found:
                return found
            time.sleep(0.5)
        raise FormationError(f"gave up waiting for {what} ({seconds:.0f} s); logs in {self.dir}")

    def nodes(self) -> list[Node]:
        return [
            Node(
                entry["nodename"],
                entry["nodeport"],
                entry["current_group_state"],
                entry["assigned_group_state"],
                entry["reported_tli"],
            )
            for entry in json.loads(self.autoctl("show", "state", "--json"))
        ]

    def stable(self) -> Node | None:
        """The primary, when every node has reached its assigned state (one primary, the rest
        secondaries) and the shipped check passes: the primary's commits wait for a standby."""
        try:
            nodes = self.nodes()
            states = sorted((node.state, node.assigned) for node in nodes)
            expected = [("primary", "primary")] + [("secondary", "secondary")] * (len(nodes) - 1)
            if len(nodes) != len(self.ports) or states != sorted(expected):
                return None
            self.script("check", self.monitor_dir)
        except (FormationError, subprocess.TimeoutExpired, ValueError):
            return None
        return next(node for node in nodes if node.state == "primary")

    def wait_stable(self, seconds: float = SETTLE_SECONDS) -> Node:
        """Until a primary has a synchronous standby again. Meanwhile the primary is asked for
        a `CHECKPOINT` every few seconds: a node that rejoins by a new base backup (its
        `pg_rewind` failed: after 30 failovers in a row, the whole node killed in the 31st)
        waits for a spread checkpoint of the primary, which outlasted this wait (180 s);
        an immediate one ends it at once (as at start, `_checkpoint`)."""
        nudged = [0.0]

        def settled() -> Node | None:
            if time.monotonic() - nudged[0] >= CHECKPOINT_EVERY:
                nudged[0] = time.monotonic()
                with contextlib.suppress(psycopg.Error), self.connect() as connection:
                    connection.execute("CHECKPOINT")
            return self.stable()

        return self._wait(settled, "a primary with a synchronous standby", seconds)

    def kill_primary(self) -> Node:
        """SIGKILL the primary's postmaster and make it a failover.

        Left alone, pg_autoctl restarts a killed postmaster within a second, and whether the
        monitor fails over or lets the node carry on as the primary depends on which of them
        sees it first (in our runs: one failover in five kills). So that every round is a
        failover, the node's address is held (`DeadAddress`: connections are accepted and
        dropped) until the monitor has decided to demote the node; then pg_autoctl restarts
        it, and it serves as an old primary until its demotion, as after a kill the monitor
        noticed first. The backends and the keeper live on."""
        primary = self.stable()
        if primary is None:
            raise FormationError("no stable primary to kill")
        pid = int((self.data_dir(primary.name) / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        held = DeadAddress.take(primary.port)
        thread = threading.Thread(target=self._release, args=(primary.name, held), daemon=True)
        thread.start()
        self._holders.append((held, thread))
        return primary

    def kill_node(self) -> Node:
        """SIGKILL the whole primary node, as when its machine dies: its pg_autoctl keeper's
        process group, then its postmaster and backends. Nothing restarts it; the monitor
        notices only that the node stopped reporting and fails its health checks, and promotes
        the standby after its timeouts (`formation.sh settings`). `restart_node` brings it back."""
        primary = self.stable()
        if primary is None:
            raise FormationError("no stable primary to kill")
        keeper = self.keepers.pop(primary.name)
        self.processes.remove(keeper)
        self.ended.append(keeper)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(keeper.pid, signal.SIGKILL)
        _kill_postmaster(self.data_dir(primary.name) / "postmaster.pid")
        keeper.wait(timeout=10)
        return primary

    def restart_node(self, name: str) -> None:
        """Start the keeper of node `name` again (`pg_autoctl run`), as after its machine is
        back: it rejoins the formation as a standby."""
        self.keepers[name] = self._spawn(
            name, "pg_autoctl", "run", "--pgdata", str(self.data_dir(name))
        )

    def _release(self, name: str, held: "DeadAddress") -> None:
        deadline = time.monotonic() + SETTLE_SECONDS
        try:
            while time.monotonic() < deadline and not held.closed:
                with contextlib.suppress(FormationError, subprocess.TimeoutExpired, ValueError):
                    if any(n.name == name and n.assigned in DEMOTING for n in self.nodes()):
                        return
                time.sleep(0.2)
        finally:
            held.close()

    # --- Talking to the nodes ----------------------------------------------------------------

    def uri(self, *, attrs: str = "read-write") -> str:
        """The formation's multi-host URI as `pg_autoctl show uri` prints it, for our database
        and user (`target_session_attrs` as given: read-write for the primary)."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.ports.values())
        return f"postgres://postgres@{hosts}/{self.dbname}?target_session_attrs={attrs}"

    def connect(self, name: str | None = None) -> psycopg.Connection:
        """A connection to node `name`, or to the primary (read-write) when None."""
        if name is None:
            return psycopg.connect(self.uri(), autocommit=True, connect_timeout=3)
        return psycopg.connect(
            host="127.0.0.1",
            port=self.ports[name],
            user="postgres",
            dbname=self.dbname,
            autocommit=True,
            connect_timeout=3,
        )

    # --- Clean-up --------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop everything this formation started, whatever state it is in; raise when a port
        is still listening afterwards."""
        for held, thread in self._holders:
            held.close()
            thread.join(timeout=10)
        for name in [*self.ports, "monitor"]:
            pgdata = self.monitor_dir if name == "monitor" else self.data_dir(name)
            if pgdata.exists():
                with contextlib.suppress(FormationError, subprocess.SubprocessError, OSError):
                    self.autoctl("stop", "--immediate", pgdata=pgdata)
        for process in [*self.processes, *self.ended]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        for pidfile in self.dir.glob("*/postmaster.pid"):
            _kill_postmaster(pidfile)
        for log in self._logs:
            log.close()
        listening = [port for port in self._all_ports() if _listening(port)]
        keep = os.environ.get("CRM_KEEP_FAILOVER_DIR")
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        if listening:
            raise FormationError(f"ports still listening after stop: {listening}")

    def _all_ports(self) -> list[int]:
        return [self.monitor_port, *self.ports.values()]


class DeadAddress:
    """Listens on a node's port (IPv4 and IPv6, as PostgreSQL's `listen_addresses = '*'`) and
    resets every connection at once, as the host of a crashed server would refuse it, so that
    PostgreSQL cannot be started there meanwhile."""

    def __init__(self, port: int) -> None:
        self.closed = False
        self.sockets = []
        try:
            for family, address in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
                sock = socket.socket(family)
                self.sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((address, port))
                sock.listen(64)
                sock.settimeout(0.2)
        except OSError:
            self.close()
            raise
        self.threads = [threading.Thread(target=self._refuse, args=(s,)) for s in self.sockets]
        for thread in self.threads:
            thread.start()

    @classmethod
    def take(cls, port: int) -> "DeadAddress":
        """Take the port as soon as the killed postmaster's sockets are gone (milliseconds)."""
        deadline = time.monotonic() + 5
        while True:
            try:
                return cls(port)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    def _refuse(self, sock: socket.socket) -> None:
        while not self.closed:
            try:
                client, _ = sock.accept()
            except OSError:
                continue
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()

    def close(self) -> None:
        self.closed = True
        for thread in getattr(self, "threads", []):
            thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def _kill_postmaster(pidfile: Path) -> None:
    """SIGKILL the postmaster named in `pidfile` and its children, if it still runs from that
    data directory (a pid may have been reused)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pidfile.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if str(pidfile.parent).encode() in cmdline:
            for child in _children(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0
