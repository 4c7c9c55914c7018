"""Real servers for tests that need one: the project's gunicorn configuration on a loopback
port with production settings, and a small HTTP client that never hangs."""

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORG = "0196a3f4-1c2b-7cde-8f00-00000000000a"
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def migrate(env: dict[str, str]) -> None:
    """`manage.py migrate` for a server's database, in a process of its own."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )


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
    elapsed: float

    def json(self) -> dict:
        return json.loads(self.body)


def call(port: int, method: str, path: str, body: dict | None = None) -> Answer:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            method,
            path,
            body=json.dumps(body) if body is not None else None,
            headers={"X-Organization-Id": ORG, "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        answer = Answer(
            response.status,
            response.read(),
            {k.lower(): v for k, v in response.getheaders()},
            started,
            0.0,
        )
    except (OSError, http.client.HTTPException):
        answer = Answer(None, b"", {}, started, 0.0)
    finally:
        connection.close()
    answer.elapsed = time.monotonic() - started
    return answer
