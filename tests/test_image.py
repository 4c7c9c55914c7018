"""The container image (Containerfile; docs/operations.md, "Deploy: the container image"), built
and run the way a platform team runs it: `make image`, then a migrate, a web and a relay
container, each on a read-only root filesystem with no tmpfs, against the host's PostgreSQL (a
database of this test's own) and RabbitMQ. A holder created over HTTP through the web container
reaches the broker through the relay container.

Marked `image`: `make test-image` runs it (CI: "== Container image"); `make test` leaves it out,
so the normal suites never build images. Every podman call goes through
deploy/container/podman, which adds the flags this machine needs; all their output is
captured. The image's size and this module's wall time are printed at the end.
"""

import json
import os
import re
import secrets
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pika
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.servers import call, free_port

pytestmark = pytest.mark.image

ROOT = Path(__file__).resolve().parent.parent
PODMAN = str(ROOT / "deploy" / "container" / "podman")
IMAGE = "localhost/crm:latest"
ADMIN_CONNINFO = os.environ.get(
    "CRM_TEST_POSTGRES_ADMIN", "host=127.0.0.1 port=5432 user=root dbname=postgres"
)
BROKER_URL = os.environ.get("CRM_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
EXCHANGE = "crm.events"
HOLDER_CREATED = "studio.lerian.holder.created"
# The image's user (Containerfile: USER 10001:10001).
SERVICE_UID = 10001
# A read-only root filesystem and nothing writable besides it: podman's default tmpfs on /tmp,
# /run and /var/tmp under --read-only is turned off to show the service needs none.
READ_ONLY = ["--read-only", "--read-only-tmpfs=false"]
# Bounds on the waits below: a cold build on a busy 2-core machine, a first start.
BUILD_TIMEOUT_SECONDS = 1800
START_TIMEOUT_SECONDS = 120
EVENT_TIMEOUT_SECONDS = 60


METRICS_TOKEN = secrets.token_hex(32)


def podman(*args: str, env: dict[str, str] | None = None, timeout: float = 120, check=True):
    """One podman command (with this machine's flags); its output as text."""
    result = subprocess.run(
        [PODMAN, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(f"podman {' '.join(args[:3])} failed ({result.returncode}):\n{result.stderr}")
    return result


def inspect(name: str, template: str, kind: str = "container") -> str:
    return podman(kind, "inspect", "--format", template, name).stdout.strip()


@dataclass
class Figures:
    """What the closing note reports: the image's size and the time this module takes."""

    started: float = field(default_factory=time.monotonic)
    build_seconds: float = 0.0
    size_bytes: int = 0


@pytest.fixture(scope="module")
def figures():
    """Printed once the module is done (`make test-image` runs pytest with -s to show it)."""
    figures = Figures()
    yield figures
    print(
        f"\nimage {IMAGE}: {figures.size_bytes / 1e6:.0f} MB; `make image` "
        f"{figures.build_seconds:.0f} s; tests/test_image.py wall time "
        f"{time.monotonic() - figures.started:.0f} s"
    )


@pytest.fixture(scope="module")
def image(figures) -> str:
    """`make image`: the image as CI builds it (a local Debian base when the default base cannot
    be pulled; layers cached by podman from one run to the next)."""
    started = time.monotonic()
    result = subprocess.run(
        ["make", "image"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    figures.build_seconds = time.monotonic() - started
    if result.returncode != 0:
        pytest.fail(f"make image failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    figures.size_bytes = int(inspect(IMAGE, "{{.Size}}", "image"))
    return IMAGE


@pytest.fixture(scope="module")
def database_url():
    """A fresh database on the host's PostgreSQL, dropped afterwards."""
    name = f"crm_image_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    info = conninfo_to_dict(ADMIN_CONNINFO)
    yield f"postgres://{info['user']}@{info['host']}:{info['port']}/{name}"
    with psycopg.connect(ADMIN_CONNINFO, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Deployment:
    """The running containers: their names and the web container's port."""

    web: str
    relay: str
    port: int
    migrate_output: str
    database_url: str


def container_logs(name: str) -> str:
    return podman("logs", name, check=False).stdout[-4000:]


@pytest.fixture(scope="module")
def deployment(image, database_url):
    """migrate (to completion), then web and relay, detached; removed afterwards. Secrets and
    settings reach the containers from the environment only (`--env NAME` without a value)."""
    suffix = uuid.uuid4().hex[:8]
    port = free_port()
    settings = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LCRYPTO_ENCRYPT_SECRET_KEY": secrets.token_hex(32),
        "LCRYPTO_HASH_SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "EVENTS_ENABLED": "true",
        "EVENTS_BROKER_URL": BROKER_URL,
        "EVENTS_EXCHANGE": EXCHANGE,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SERVER_HOST": "127.0.0.1",
        "SERVER_PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
        # Metrics on: gunicorn's multiprocess directory must find a writable place.
        "METRICS_ENABLED": "true",
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOG_FORMAT": "json",
    }
    env = {**os.environ, **settings}
    passed = [argument for name in settings for argument in ("--env", name)]
    common = [*READ_ONLY, "--network", "host", *passed]
    names = {"web": f"crm-image-web-{suffix}", "relay": f"crm-image-relay-{suffix}"}
    try:
        migrate = podman(
            "run", "--rm", "--name", f"crm-image-migrate-{suffix}", *common, image, "migrate",
            env=env, timeout=300,
        )  # fmt: skip
        podman("run", "--detach", "--name", names["web"], *common, image, "web", env=env)
        podman("run", "--detach", "--name", names["relay"], *common, image, "relay", env=env)
        wait_until_healthy(names["web"], port)
        yield Deployment(
            names["web"], names["relay"], port, migrate.stdout + migrate.stderr, database_url
        )
    finally:
        for name in names.values():
            podman("rm", "--force", "--time", "10", name, check=False)


def wait_until_healthy(name: str, port: int) -> None:
    """GET /health answers 200 within START_TIMEOUT_SECONDS, or the test fails with the
    container's log (and at once if the container stopped)."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if call(port, "GET", "/health", timeout=5).status == 200:
            return
        if inspect(name, "{{.State.Running}}") != "true":
            pytest.fail(f"{name} stopped:\n{container_logs(name)}")
        time.sleep(0.5)
    pytest.fail(f"{name}: no /health within {START_TIMEOUT_SECONDS} s:\n{container_logs(name)}")


@pytest.fixture
def holder_events():
    """A queue of this test's own bound to the relay's exchange (declared as the relay declares
    it), read back with pika as events/broker.py publishes with it."""
    connection = pika.BlockingConnection(pika.URLParameters(BROKER_URL))
    channel = connection.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, EXCHANGE, routing_key=HOLDER_CREATED)
    yield channel, queue
    connection.close()


def wait_for_event(channel, queue: str, subject: str) -> tuple[pika.BasicProperties, dict]:
    """The event whose subject is `subject`, within EVENT_TIMEOUT_SECONDS (others are
    skipped: another run may create holders too)."""
    deadline = time.monotonic() + EVENT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            time.sleep(0.2)
            continue
        if (properties.headers or {}).get("cloudEvents_subject") == subject:
            return properties, json.loads(body)
    pytest.fail(f"no {HOLDER_CREATED} event for {subject} within {EVENT_TIMEOUT_SECONDS} s")


# --- The image as built ---------------------------------------------------------------------------


def test_image_runs_as_a_non_root_user_with_a_health_check(image):
    assert inspect(image, "{{.Config.User}}", "image") == f"{SERVICE_UID}:{SERVICE_UID}"
    healthcheck = json.loads(inspect(image, "{{json .HealthCheck}}", "image"))
    assert healthcheck["Test"] == ["CMD", "/app/deploy/container/entrypoint", "healthcheck"]
    assert json.loads(inspect(image, "{{json .Config.Entrypoint}}", "image")) == [
        "/app/deploy/container/entrypoint"
    ]
    assert json.loads(inspect(image, "{{json .Config.Cmd}}", "image")) == ["web"]


def test_image_help_lists_the_roles(image):
    usage = podman("run", "--rm", *READ_ONLY, image, "--help").stdout
    for role in ("web [gunicorn options]", "relay [options]", "migrate [options]", "COMMAND"):
        assert role in usage


def test_image_holds_no_local_state_secrets_or_build_tools(image):
    """No .env, repository, virtualenv or database file in /app; static files collected; no
    compiler and no pip; bytecode compiled at build time."""
    listing = podman(
        "run", "--rm", *READ_ONLY, "--entrypoint", "/bin/sh", image, "-c",
        "ls -A /app; echo ---; ls /app/staticfiles/admin/css/base.css*; echo ---;"
        " ls /app/crm/__pycache__ | head -n 1; echo ---;"
        " for tool in gcc cc make pip pip3; do command -v $tool; done; true",
    ).stdout.split("---\n")  # fmt: skip
    top_level, static, bytecode, tools = (part.split() for part in listing)
    assert "staticfiles" in top_level
    assert {".env", ".git", ".venv", "db.sqlite3", "tests"} & set(top_level) == set()
    assert static == [
        "/app/staticfiles/admin/css/base.css",
        "/app/staticfiles/admin/css/base.css.gz",
    ]
    assert re.fullmatch(r"[a-z_]+\.cpython-3\d+\.pyc", bytecode[0])
    assert tools == []


# --- The image at work: migrate, web, relay -----------------------------------------------------


def test_migrate_role_creates_the_schema(deployment):
    assert "Applying holders.0001_initial... OK" in deployment.migrate_output
    with psycopg.connect(deployment.database_url) as connection:
        applied = connection.execute(
            "SELECT count(*) FROM django_migrations WHERE app IN ('holders', 'aliases', 'events')"
        ).fetchone()[0]
    assert applied >= 3


def test_holder_created_through_the_web_container_is_published_by_the_relay(
    deployment, holder_events
):
    channel, queue = holder_events
    organization = str(uuid.uuid4())
    body = {"type": "NATURAL_PERSON", "name": "Maria Container", "document": "91315026015"}

    created = call(deployment.port, "POST", "/v1/holders", body, organization=organization)

    assert created.status == 201, created.body
    holder = created.json()
    assert holder["document"] == "91315026015"
    properties, payload = wait_for_event(channel, queue, holder["id"])
    assert properties.headers["cloudEvents_type"] == HOLDER_CREATED
    assert properties.headers["cloudEvents_tenantid"] == organization
    assert payload["id"] == holder["id"]
    fetched = call(deployment.port, "GET", f"/v1/holders/{holder['id']}", organization=organization)
    assert fetched.status == 200
    assert fetched.json()["name"] == "Maria Container"


def test_metrics_are_served_on_a_read_only_root(deployment):
    """gunicorn's metrics directory lives on the container's tmpfs (the entrypoint's TMPDIR),
    not on the read-only root."""
    assert call(deployment.port, "GET", "/v1/holders").status == 200
    request = urllib.request.Request(
        f"http://127.0.0.1:{deployment.port}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200
        text = response.read().decode()
    lines = [line for line in text.splitlines() if line.startswith("crm_requests_total{")]
    assert any('route="/v1/holders"' in line and 'status="200"' in line for line in lines)


def test_static_files_are_served_from_the_image(deployment):
    answer = call(deployment.port, "GET", "/static/admin/css/base.css")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("role", ["web", "relay"])
def test_container_processes_are_not_root(deployment, role):
    name = getattr(deployment, role)
    assert podman("exec", name, "id", "-u").stdout.strip() == str(SERVICE_UID)
    # The main process itself (gunicorn's arbiter, the relay), seen from the host: rootful
    # podman maps the container's ids one to one.
    pid = inspect(name, "{{.State.Pid}}")
    uids = next(
        line.split()[1:]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("Uid:")
    )
    assert uids == [str(SERVICE_UID)] * 4


@pytest.mark.parametrize("role", ["web", "relay"])
def test_containers_run_on_a_read_only_root_filesystem(deployment, role):
    name = getattr(deployment, role)
    assert inspect(name, "{{.HostConfig.ReadonlyRootfs}}") == "true"
    for path in ("/app/probe", "/tmp/probe", "/opt/venv/probe"):
        refused = podman("exec", name, "touch", path, check=False)
        assert refused.returncode != 0
        assert "Read-only file system" in refused.stderr


def test_health_check_passes_on_the_web_container(deployment):
    assert podman("healthcheck", "run", deployment.web).returncode == 0
    health = json.loads(inspect(deployment.web, "{{json .State.Health}}"))
    assert health["Status"] == "healthy"
    assert health["Log"][-1]["Output"].strip() == "healthy"


def test_health_check_fails_when_the_web_server_does_not_answer(deployment):
    """The probe is a real one: pointed at a port where nothing listens, it fails."""
    probe = podman(
        "exec", "--env", f"SERVER_PORT={free_port()}", deployment.web,
        "/app/deploy/container/entrypoint", "healthcheck",
        check=False,
    )  # fmt: skip
    assert probe.returncode == 1
    assert probe.stdout.startswith("unhealthy: GET http://127.0.0.1:")
