"""Real servers for tests that need one: throw-away PostgreSQL clusters (a primary, a streaming
hot standby of it), scratch databases of the suite's vendor, the project's gunicorn
configuration on a loopback port with production settings, and a small HTTP client that never
hangs."""

import contextlib
import glob
import http.client
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from bench import cluster
from bench.cluster import free_port, postgres_bin  # noqa: F401 (the tests import them from here)

ROOT = Path(__file__).resolve().parent.parent
ORG = "0196a3f4-1c2b-7cde-8f00-00000000000a"
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]


def app_environment(database_url: str, port: int) -> dict[str, str]:
    """Production settings (config.settings.base), fixed keys, no local .env."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "CRM_IGNORE_DOTENV": "true",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "frozen-database-test-" + "s" * 40,
        "LCRYPTO_ENCRYPT_SECRET_KEY": "0" * 63 + "1",
        "LCRYPTO_HASH_SECRET_KEY": "frozen-database-test-hash-" + "h" * 20,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "INFO",
        "SERVER_HOST": "127.0.0.1",
        "SERVER_PORT": str(port),
    }


def development_environment(database_url: str) -> dict[str, str]:
    """What `make run` serves with: the `.env` that `crm/crypto/devkeys.py` generates (fresh
    keys, `ENV_NAME=development`), given as the environment, on `database_url`; no local .env."""
    generated = subprocess.run(
        [sys.executable, "crm/crypto/devkeys.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    variables = dict(
        line.split("=", 1) for line in generated.splitlines() if line and not line.startswith("#")
    )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "CRM_IGNORE_DOTENV": "true",
        **variables,
        "DATABASE_URL": database_url,
    }


# --- Throw-away PostgreSQL clusters -------------------------------------------------------------


def _children(pid: int) -> set[int]:
    """Direct children of `pid` (the postmaster's backends and auxiliary processes)."""
    found = set()
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.add(int(Path(stat).parent.name))
    return found


class Cluster(cluster.Cluster):
    """A throw-away cluster (`bench.cluster.Cluster`) for tests: no durability (fast), a `crm`
    database; or a base backup of another cluster (a hot standby); freeze/thaw."""

    TEST_SETTINGS = {
        "fsync": "off",
        "full_page_writes": "off",
        "synchronous_commit": "off",
        "max_connections": "100",
    }
    # Streaming replication: WAL for a standby, senders for it, read-only queries on it.
    REPLICATION_SETTINGS = {"wal_level": "replica", "max_wal_senders": "5", "hot_standby": "on"}

    def __init__(self, bindir: Path, prefix: str = "crm-frozen-") -> None:
        try:
            super().__init__(bindir, prefix=prefix, settings=self.TEST_SETTINGS)
        except RuntimeError as exc:
            pytest.fail(str(exc))
        self.frozen: set[int] = set()

    def start(self, replication: bool = False) -> None:
        """initdb, start, and create the `crm` database. `replication`: a primary that a
        standby can stream from (`replicate_from`)."""
        self.initdb()
        if replication:
            self.settings.update(self.REPLICATION_SETTINGS)
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.write("host replication all 127.0.0.1/32 trust\n")
        self.launch()
        self.createdb("crm")

    def replicate_from(self, primary: "Cluster") -> None:
        """A hot standby of `primary`: a base backup with `-R` (standby.signal and the
        primary's conninfo), started on this cluster's port; it streams from then on."""
        self.run(
            str(self.bindir / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(self.data), "-R", "-X", "stream", "-c", "fast"),
            timeout=60,
        )
        self.settings.update(self.REPLICATION_SETTINGS)
        self.launch()

    @property
    def url(self) -> str:
        return self.database_url("crm")

    @property
    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=crm connect_timeout=3"

    def freeze(self) -> None:
        """SIGSTOP the postmaster first (it can fork no more), then every child, until none
        is left running."""
        assert self.postmaster is not None
        os.kill(self.postmaster, signal.SIGSTOP)
        self.frozen.add(self.postmaster)
        for _ in range(20):
            new = _children(self.postmaster) - self.frozen
            if not new:
                return
            for pid in new:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
                self.frozen.add(pid)

    def thaw(self) -> None:
        for pid in self.frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen.clear()

    def halt(self, mode: str = "immediate") -> None:
        """Stop the server (immediate mode), keep its files."""
        self.thaw()
        super().halt(mode)

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.dir, ignore_errors=True)


def migrate(env: dict[str, str], *target: str) -> None:
    """`manage.py migrate` for a server's database, in a process of its own (to `target`,
    e.g. `"holders", "zero"`, when given)."""
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", *target, "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=180,
    )
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-3000:]
        raise AssertionError(f"manage.py migrate failed ({done.returncode}):\n{tail}")


@contextlib.contextmanager
def scratch_database(tmp_path: Path, label: str):
    """(DATABASE_URL, a DB-API connect function) of a new, empty database of the suite's
    vendor: a file for SQLite, a database named after the suite's on its PostgreSQL server
    (dropped on exit). `label` names it."""
    if connection.vendor != "postgresql":
        path = tmp_path / f"{label}.sqlite3"
        yield f"sqlite:///{path}", lambda: sqlite3.connect(path)
        return
    import psycopg

    settings = connection.settings_dict
    server = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "user": settings["USER"],
        "password": settings["PASSWORD"] or None,
    }
    name = f"{settings['NAME']}_{label}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgres://{server['user']}@{server['host']}:{server['port']}/{name}"
        if server["password"]:
            url = url.replace("@", f":{server['password']}@", 1)
        yield url, lambda: psycopg.connect(dbname=name, **server)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log_dir: Path):
    """The project's gunicorn configuration on a loopback port; stopped on exit."""
    out = (log_dir / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [*GUNICORN, "--no-control-socket", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        out.close()


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer at all (connection dropped, client timeout)
    body: bytes
    headers: dict[str, str]
    started: float
    elapsed: float  # for the reader of a failure (a timeline), never for an assertion
    error: str = ""  # why there was no answer: the client's exception (TimeoutError: the bound)

    def json(self) -> dict:
        return json.loads(self.body)


# The client's bound on any wait for one answer: far above every server-side bound (the
# database's are a few seconds), below the 30 s hang the contract rules out (docs/api.md §6).
CLIENT_TIMEOUT_SECONDS = 20


def call(
    port: int,
    method: str,
    path: str,
    body: dict | None = None,
    organization: str = ORG,
    timeout: float = CLIENT_TIMEOUT_SECONDS,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request; never hangs: with no answer within `timeout` (per socket wait), the
    answer has no status and `error` names the exception. `headers` are sent as well."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(
            method,
            path,
            body=json.dumps(body) if body is not None else None,
            headers={
                "X-Organization-Id": organization,
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        response = connection.getresponse()
        answer = Answer(
            response.status,
            response.read(),
            {k.lower(): v for k, v in response.getheaders()},
            started,
            0.0,
        )
    except (OSError, http.client.HTTPException) as exc:
        answer = Answer(None, b"", {}, started, 0.0, type(exc).__name__)
    finally:
        connection.close()
    answer.elapsed = time.monotonic() - started
    return answer
