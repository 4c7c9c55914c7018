"""Prometheus metrics (issue 25, deliverable 4; docs/operations.md "Metrics").

1. In-process, through the URLs: `/metrics` is a 404 while off and a 401 without its token;
   each series moves by exactly what a request did (requests by route template, method and
   status, latency, database time, CRM error codes, idempotency replays, rate-limit refusals,
   Access Manager decisions, latency and failures against the fake Access Manager, the outbox
   backlog, and a scrape that still answers when the database is gone); no personal data and no
   organization id in a scrape unless `METRICS_ORGANIZATION_LABELS=true`; the start-up check;
   the relay's listener; the gunicorn multiprocess directory.
2. End to end: gunicorn (config/gunicorn.conf.py, two workers), the relay, and Debian's
   Prometheus scraping both every second with the bearer token; the counters read back through
   Prometheus' query API equal what was sent, summed over both workers (each of which is seen
   to have counted some); the alert rules (deploy/prometheus/alerts.yml) pass `promtool` and
   evaluate against the real series.
"""

import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import jwt
import psycopg
import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from crm.access import access_manager
from crm.access.settings_checks import check_required_secrets
from crm.observability import exposition, multiprocess
from events.metrics import RelayCollector
from events.relay import RelayStats
from tests.conftest import ORG_A, OrgClient
from tests.factories import holder_payload
from tests.fake_access_manager import FakeAccessManager
from tests.servers import ROOT, app_environment, call, free_port, gunicorn, migrate
from tests.test_logs import HOLDER, leaks
from tests.test_operational_endpoints import _unreachable_database
from tests.test_settings_checks import GOOD

TOKEN = "metrics-test-token-" + "t" * 24
MIDDLEWARE = "crm.observability.middleware.MetricsMiddleware"
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"


@pytest.fixture
def metrics_on(settings):
    """METRICS_ENABLED=true as config/settings/base.py sets it up (the middleware included)."""
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ORGANIZATION_LABELS = False
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index("crm.api.middleware.RequestIdMiddleware") + 1, MIDDLEWARE)
    settings.MIDDLEWARE = middleware
    return settings


def scrape(client) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return response.content.decode()


def value(text: str, name: str, **labels: str) -> float:
    """The sample `name` with exactly `labels` in a scrape (0 when absent: a counter that has
    not moved yet)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def has(text: str, name: str) -> bool:
    return any(
        sample.name == name
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    )


class Moves:
    """Scrape before and after: `moves(name, **labels)` is how much a sample moved between."""

    def __init__(self, client) -> None:
        self.client = client
        self.before = scrape(client)
        self.after = ""

    def scrape(self) -> str:
        self.after = scrape(self.client)
        return self.after

    def __call__(self, name: str, **labels: str) -> float:
        return value(self.after, name, **labels) - value(self.before, name, **labels)


# --- The endpoint and its protection -----------------------------------------------------------


def test_metrics_is_404_while_disabled(client, settings):
    settings.METRICS_ENABLED = False
    for headers in ({}, {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}):
        response = client.get("/metrics", **headers)
        assert response.status_code == 404
        assert response.json()["code"] == "CRM-0903"


@pytest.mark.parametrize(
    "authorization",
    ["", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer", "Bearer é"],
)
def test_metrics_without_the_token_is_401(client, metrics_on, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    assert response.json() == {
        "code": "CRM-0901",
        "title": "Unauthorized",
        "message": "Missing or invalid credentials.",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"crm_" not in response.content


def test_metrics_with_the_token_is_prometheus_text(client, metrics_on):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"bearer  {TOKEN} ")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert "crm_requests" in families  # the scrape before this one was counted


def test_metrics_answers_get_and_head_only(client, metrics_on):
    response = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 405
    assert response.json()["code"] == "CRM-0904"
    assert response["Allow"] == "GET, HEAD"


def test_start_up_needs_a_long_token_with_metrics_on_unless_debugging():
    on = {**GOOD, "METRICS_ENABLED": True}
    for refused in (on, {**on, "METRICS_TOKEN": "t" * 31}, {**GOOD, "METRICS_TOKEN": "short"}):
        with pytest.raises(ImproperlyConfigured, match="METRICS_TOKEN must be at least 32"):
            check_required_secrets(dict(refused))
    for accepted in ({**on, "METRICS_TOKEN": "t" * 32}, {**on, "DEBUG": True}, dict(GOOD)):
        assert check_required_secrets(dict(accepted)) is None


# --- The series ------------------------------------------------------------------------------


def test_requests_are_counted_by_route_template_method_and_status(api, metrics_on):
    moves = Moves(api)
    created = api.post("/v1/holders", holder_payload())
    holder_id = created.json()["id"]
    assert api.get(f"/v1/holders/{holder_id}").status_code == 200
    assert api.get(f"/v1/holders/{uuid.uuid4()}").status_code == 404
    assert api.get(f"/v1/no-such-route/{holder_id}").status_code == 404
    assert api.post("/v1/holders", {"type": "NATURAL_PERSON"}).status_code == 400
    text = moves.scrape()

    route, detail = "/v1/holders", "/v1/holders/{id}"
    assert created.status_code == 201
    assert moves("crm_requests_total", route=route, method="POST", status="201") == 1
    assert moves("crm_requests_total", route=route, method="POST", status="400") == 1
    assert moves("crm_requests_total", route=detail, method="GET", status="200") == 1
    assert moves("crm_requests_total", route=detail, method="GET", status="404") == 1
    assert moves("crm_requests_total", route="<unmatched>", method="GET", status="404") == 1
    assert moves("crm_errors_total", code="CRM-0006") == 1  # holder not found
    assert moves("crm_errors_total", code="CRM-0903") == 1  # route not found
    assert moves("crm_errors_total", code="CRM-0003") == 1  # missing fields
    assert moves("crm_request_duration_seconds_count", route=route, method="POST") == 2
    assert moves("crm_request_database_seconds_count", route=route, method="POST") == 2
    # The create ran statements: their time was added up (a sum, not a bound on it).
    assert moves("crm_request_database_seconds_sum", route=route, method="POST") > 0
    # Nothing a client typed in the path becomes a label value.
    assert holder_id not in text and "no-such-route" not in text


def test_no_personal_data_or_organization_id_in_a_scrape(api, metrics_on):
    created = api.post("/v1/holders", HOLDER)
    assert created.status_code == 201, created.content
    holder_id = created.json()["id"]
    document = HOLDER["document"]
    api.get("/v1/holders", {"document": document, "name": HOLDER["name"]})
    api.patch(f"/v1/holders/{holder_id}", {"name": HOLDER["name"] + " Filho"})
    api.post("/v1/holders", HOLDER)  # 409: the document is taken
    api.get(f"/v1/holders/{document}")  # a document where an id goes
    api.get(f"/v1/{HOLDER['name']}/{document}")  # no route at all

    text = scrape(api)

    assert leaks(text) == []
    assert str(ORG_A) not in text and holder_id not in text
    assert "organization" not in text


def test_the_organization_label_only_when_asked(api, metrics_on):
    metrics_on.METRICS_ORGANIZATION_LABELS = True
    api.get("/v1/holders")

    text = scrape(api)

    labels = {"route": "/v1/holders", "method": "GET", "status": "200"}
    assert value(text, "crm_requests_total", **labels, organization=str(ORG_A)) >= 1
    assert value(text, "crm_requests_total", **labels) == 0  # not the variant without it
    assert f'organization="{ORG_A}"' in text
    # Only the request counter carries it.
    for line in text.splitlines():
        if "organization=" in line:
            assert line.startswith("crm_requests_total{"), line


def test_idempotency_replays_are_counted(api, metrics_on):
    moves = Moves(api)
    body = holder_payload()
    first = api.post("/v1/holders", body, HTTP_IDEMPOTENCY_KEY="metrics-replay-1")
    again = api.post("/v1/holders", body, HTTP_IDEMPOTENCY_KEY="metrics-replay-1")
    moves.scrape()

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert moves("crm_idempotency_replays_total", method="POST") == 1
    assert moves("crm_requests_total", route="/v1/holders", method="POST", status="201") == 2


def test_rate_limit_refusals_are_counted(api, metrics_on):
    metrics_on.API_RATE_LIMIT = "2/min"
    cache.clear()
    moves = Moves(api)  # this scrape is not a /v1 call: it uses none of the budget
    statuses = [api.get("/v1/holders").status_code for _ in range(3)]
    moves.scrape()
    cache.clear()

    assert statuses == [200, 200, 429]
    assert moves("crm_rate_limit_refusals_total", scope="organization") == 1
    assert moves("crm_errors_total", code="CRM-0906") == 1


# The Access Manager's bound on a call: roomy, so that a busy machine never turns a refused
# connection or a quick answer into a timeout (CI once saw the refused connect of the
# "unreachable" case counted as a timeout: its thread had not run for 0.5 s, and a call whose
# deadline has passed is not attempted); short only for the case that must time out.
CALL_BOUND = 10.0
SHORT_BOUND = 0.5


@pytest.fixture
def access_manager_mode(metrics_on):
    fake = FakeAccessManager().start()
    metrics_on.PLUGIN_AUTH_ENABLED = True
    metrics_on.PLUGIN_AUTH_ADDRESS = fake.address
    metrics_on.PLUGIN_AUTH_TIMEOUT_SECONDS = CALL_BOUND
    metrics_on.PLUGIN_AUTH_CACHE_SECONDS = 10
    metrics_on.PLUGIN_AUTH_JWKS_URL = ""
    access_manager.reset_client()
    cache.clear()
    yield fake
    fake.stop()
    access_manager.reset_client()
    cache.clear()


def _machine_token(name: str) -> str:
    """A machine JWT (parsed unverified, as lib-auth does): one per case, so none is cached."""
    return jwt.encode({"type": "application", "sub": name}, "k" * 32, algorithm="HS256")


def test_access_manager_decisions_latency_and_failures(api, access_manager_mode, metrics_on):
    fake = access_manager_mode
    moves = Moves(api)

    def holders(token: str) -> int:
        return api.get("/v1/holders", HTTP_AUTHORIZATION=f"Bearer {token}").status_code

    fake.mode = "allow"
    allowed = [holders(_machine_token("allowed")) for _ in range(2)]  # asked, then cached
    fake.mode = "deny"
    denied = holders(_machine_token("denied"))
    fake.mode = "slow"
    fake.slow_seconds = SHORT_BOUND + 1.5
    metrics_on.PLUGIN_AUTH_TIMEOUT_SECONDS = SHORT_BOUND
    access_manager.reset_client()  # the pooled client's transport holds the bound
    slow = holders(_machine_token("slow"))
    metrics_on.PLUGIN_AUTH_TIMEOUT_SECONDS = CALL_BOUND
    access_manager.reset_client()
    fake.mode = "garbage"
    garbled = holders(_machine_token("garbled"))
    fake.stop()
    unreachable = holders(_machine_token("unreachable"))
    moves.scrape()

    assert (allowed, denied, slow, garbled, unreachable) == ([200, 200], 403, 503, 503, 503)
    assert moves("crm_access_manager_decisions_total", decision="allow", source="manager") == 1
    assert moves("crm_access_manager_decisions_total", decision="allow", source="cache") == 1
    assert moves("crm_access_manager_decisions_total", decision="deny", source="manager") == 1
    assert moves("crm_access_manager_failures_total", reason="timeout") == 1
    assert moves("crm_access_manager_failures_total", reason="bad_answer") == 1
    assert moves("crm_access_manager_failures_total", reason="unreachable") == 1
    count = "crm_access_manager_request_duration_seconds_count"
    assert moves(count, outcome="allow") == 1  # the cached answer made no call
    assert moves(count, outcome="deny") == 1
    assert moves(count, outcome="unavailable") == 3
    assert moves("crm_errors_total", code="CRM-0908") == 3
    assert moves("crm_errors_total", code="CRM-0902") == 1


def test_the_outbox_backlog_is_read_at_scrape_time(transactional_db, metrics_on):
    metrics_on.EVENTS_ENABLED = True
    client = OrgClient(ORG_A)
    for _ in range(3):
        assert client.post("/v1/holders", holder_payload()).status_code == 201

    text = scrape(client)

    assert value(text, "crm_outbox_scrape_error") == 0
    assert value(text, "crm_outbox_pending_events") == 3
    assert value(text, "crm_outbox_oldest_pending_age_seconds") > 0


def test_a_scrape_answers_when_the_database_is_gone(transactional_db, metrics_on, monkeypatch):
    """The backlog's connection (the readiness probe's, `crm.api.views.probe_database`) goes to
    a PostgreSQL that is not there: the scrape is still a 200 with every other series."""
    metrics_on.EVENTS_ENABLED = True
    client = OrgClient(ORG_A)
    client.get("/v1/holders")
    monkeypatch.setattr("crm.api.views.connection", _unreachable_database())

    text = scrape(client)

    assert value(text, "crm_outbox_scrape_error") == 1
    assert not has(text, "crm_outbox_pending_events")
    assert value(text, "crm_requests_total", route="/v1/holders", method="GET", status="200") >= 1


def test_no_outbox_series_while_events_are_off(client, metrics_on):
    metrics_on.EVENTS_ENABLED = False
    text = scrape(client)

    assert not has(text, "crm_outbox_scrape_error")
    assert not has(text, "crm_outbox_pending_events")


def test_the_relay_listener_serves_its_counts_behind_the_token():
    stats = RelayStats(published=7, refused=1, broker_failures=2, database_failures=1, purged=3)
    server = exposition.serve([RelayCollector(stats)], "127.0.0.1", 0, TOKEN)
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        stats.published += 1
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            text = answer.read().decode()
    finally:
        server.shutdown()
        server.server_close()

    assert refused.value.code == 401
    assert json.loads(refused.value.read())["code"] == "CRM-0901"
    assert value(text, "crm_relay_events_published_total") == 8
    assert value(text, "crm_relay_events_refused_total") == 1
    assert value(text, "crm_relay_broker_failures_total") == 2
    assert value(text, "crm_relay_database_failures_total") == 1
    assert value(text, "crm_relay_events_purged_total") == 3


# --- The multiprocess directory (config/gunicorn.conf.py) --------------------------------------


def test_the_directory_defaults_to_a_new_one_under_tmp(monkeypatch):
    monkeypatch.delenv(multiprocess.VARIABLE, raising=False)
    path, ours = multiprocess.choose()
    assert ours and not path.exists()  # named only: `gunicorn --check-config` leaves nothing
    assert path.parent == Path(os.environ.get("TMPDIR", "/tmp"))
    assert os.environ[multiprocess.VARIABLE] == str(path)
    try:
        multiprocess.start(path)
        assert path.is_dir() and path.stat().st_mode & 0o777 == 0o700
    finally:
        multiprocess.remove(path)
    assert not path.exists()


def test_a_configured_directory_is_created_kept_and_cleaned(monkeypatch, tmp_path):
    configured = tmp_path / "metrics"
    monkeypatch.setenv(multiprocess.VARIABLE, str(configured))
    path, ours = multiprocess.choose()
    multiprocess.start(path)
    (path / "counter_4242.db").write_bytes(b"stale")
    (path / "gauge_livesum_4242.db").write_bytes(b"stale")
    (path / "README").write_text("not ours")
    multiprocess.process_exited(4242, path)
    after_exit = sorted(p.name for p in path.iterdir())
    multiprocess.start(path)  # the next gunicorn start

    assert (path, ours) == (configured, False)
    assert after_exit == ["README", "counter_4242.db"]  # a dead worker's counters stay
    assert sorted(p.name for p in path.iterdir()) == ["README"]


def test_gunicorn_check_config_leaves_no_directory(tmp_path):
    """Reading the configuration names the directory; only a started gunicorn creates it."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop(multiprocess.VARIABLE, None)
    script = (
        "import runpy; config = runpy.run_path('config/gunicorn.conf.py'); "
        "print(config['METRICS_DIRECTORY'], config['METRICS_DIRECTORY_IS_OURS'])"
    )
    read = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert read.returncode == 0, read.stderr
    named, ours = read.stdout.split()
    assert Path(named).parent == tmp_path and ours == "True"
    assert list(tmp_path.iterdir()) == []


# --- End to end: gunicorn, the relay, Prometheus ------------------------------------------------


def _wait(check, seconds: float, pause: float = 0.3):
    """Call `check()` until it returns something truthy, for at most `seconds`; its last
    result."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(pause)


@contextlib.contextmanager
def _process(command: list[str], env: dict[str, str], log: Path):
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextlib.contextmanager
def _app_database(directory: Path):
    """The served app's own database: a SQLite file, or on a PostgreSQL run a database of its
    own on the suite's server (dropped afterwards)."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{directory / 'db.sqlite3'}"
        return
    suite = connection.settings_dict
    name = f"{suite['NAME']}_metrics"
    server = f"host={suite['HOST']} port={suite['PORT'] or 5432} user={suite['USER']}"
    with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{suite['USER']}@{suite['HOST']}:{suite['PORT'] or 5432}/{name}"
    finally:
        with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Prometheus:
    """Debian's Prometheus scraping `targets` ({job: port}) every second with the token."""

    def __init__(self, directory: Path, targets: dict[str, int]) -> None:
        self.port = free_port()
        self.directory = directory
        jobs = "".join(
            f"""
  - job_name: {job}
    scrape_interval: 1s
    scrape_timeout: 1s
    authorization: {{type: Bearer, credentials: "{TOKEN}"}}
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]"""
            for job, port in targets.items()
        )
        self.config = directory / "prometheus.yml"
        self.config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: [{json.dumps(str(ALERTS))}]\n"
            f"scrape_configs:{jobs}\n"
        )
        self.command = [
            PROMETHEUS,
            f"--config.file={self.config}",
            f"--storage.tsdb.path={directory / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]

    def get(self, path: str, **query: str) -> dict:
        url = f"http://127.0.0.1:{self.port}{path}?{urllib.parse.urlencode(query)}"
        with urllib.request.urlopen(url, timeout=10) as answer:
            return json.loads(answer.read())

    def ready(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/-/ready"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status == 200
        return False

    def number(self, expression: str) -> float | None:
        """A one-sample query's value (None while it has no sample yet)."""
        result = self.get("/api/v1/query", query=expression)["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def settled(self, expression: str, wanted: float, seconds: float) -> float | None:
        """The query's value once it equals `wanted` (the next scrapes came in), or its last
        value after `seconds`."""
        deadline = time.monotonic() + seconds
        while (found := self.number(expression)) != wanted and time.monotonic() < deadline:
            time.sleep(0.5)
        return found

    def rule_health(self) -> dict[str, str]:
        """Each alert rule's health: "ok" once evaluated without error."""
        groups = self.get("/api/v1/rules")["data"]["groups"]
        return {rule["name"]: rule["health"] for group in groups for rule in group["rules"]}


def _counts_per_worker(directory: Path, route: str, method: str, status: str) -> dict[str, float]:
    """`crm_requests_total{route, method, status}` per worker file (counter_<pid>.db)."""
    found = {}
    for path in directory.glob("counter_*.db"):
        for metric in MultiProcessCollector.merge([str(path)], accumulate=True):
            for sample in metric.samples:
                labels = {"route": route, "method": method, "status": status}
                if sample.name == "crm_requests_total" and sample.labels == labels:
                    found[path.stem.split("_", 1)[1]] = sample.value
    return found


def test_prometheus_reads_the_counters_summed_over_both_workers(tmp_path):
    for binary in (PROMETHEUS, PROMTOOL):
        assert shutil.which(binary), f"{binary}: .ci/system-packages installs prometheus"
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    web_port, relay_port = free_port(), free_port()
    shared = tmp_path / "multiproc"
    shared.mkdir()
    with _app_database(tmp_path) as database_url:
        env = app_environment(database_url, web_port)
        env.update(
            WEB_CONCURRENCY="2",
            GUNICORN_THREADS="2",
            METRICS_ENABLED="true",
            METRICS_TOKEN=TOKEN,
            METRICS_RELAY_PORT=str(relay_port),
            PROMETHEUS_MULTIPROC_DIR=str(shared),
            EVENTS_ENABLED="true",
            EVENTS_BROKER_URL="amqp://guest:guest@127.0.0.1:5672/%2F",
            EVENTS_EXCHANGE=f"crm.metrics-test.{uuid.uuid4().hex[:12]}",
        )
        migrate(env)
        # What an earlier run left in the directory: gunicorn's start must remove it.
        stale = subprocess.run(
            [
                sys.executable,
                "-c",
                "from crm.observability.metrics import REQUESTS; "
                "REQUESTS.labels('/v1/holders', 'POST', '201').inc(1000)",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=60,
        )
        left = list(shared.glob("counter_*.db"))
        assert stale.returncode == 0 and left, stale.stderr
        prometheus = Prometheus(tmp_path, {"crm": web_port, "relay": relay_port})
        relay = [sys.executable, "manage.py", "relay_events", "--poll-interval", "0.2"]
        with (
            gunicorn(env, tmp_path),
            _process(relay, env, tmp_path / "relay.log"),
            _process(prometheus.command, env, tmp_path / "prometheus.log"),
        ):
            assert _wait(lambda: call(web_port, "GET", "/health").status == 200, 60)
            assert _wait(prometheus.ready, 60)
            assert not [path for path in left if path.exists()], "stale counters were kept"

            def create(index: int) -> int:
                return call(web_port, "POST", "/v1/holders", holder_payload()).status

            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                created = list(pool.map(create, range(20)))
                refused = list(
                    pool.map(lambda _: call(web_port, "POST", "/v1/holders", {}), range(5))
                )
            assert created == [201] * 20
            assert [answer.status for answer in refused] == [400] * 5, refused[0].body
            sent = 20
            # Both workers must have counted some: more creates, one at a time, until each has.
            per_worker = _counts_per_worker(shared, "/v1/holders", "POST", "201")
            while len(per_worker) < 2 and sent < 120:
                assert create(sent) == 201
                sent += 1
                per_worker = _counts_per_worker(shared, "/v1/holders", "POST", "201")
            assert len(per_worker) == 2, per_worker
            assert sum(per_worker.values()) == sent

            creates = 'crm_requests_total{route="/v1/holders",method="POST",status="201"}'
            duration = 'crm_request_duration_seconds_count{route="/v1/holders",method="POST"}'
            expected = {
                f"sum({creates})": sent,
                'sum(crm_requests_total{route="/v1/holders",method="POST",status="400"})': 5,
                'sum(crm_errors_total{code="CRM-0003"})': 5,
                f"sum({duration})": sent + 5,
                "sum(crm_relay_events_published_total)": sent,
                "sum(crm_outbox_pending_events)": 0,
                "sum(crm_outbox_scrape_error)": 0,
            }
            read = {
                expression: prometheus.settled(expression, wanted, seconds=60)
                for expression, wanted in expected.items()
            }
            _wait(lambda: set(prometheus.rule_health().values()) == {"ok"}, 30)
            health = prometheus.rule_health()

    assert read == {expression: float(wanted) for expression, wanted in expected.items()}
    assert len(health) >= 5 and set(health.values()) == {"ok"}, health
