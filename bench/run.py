"""`make bench` / `python -m bench.run --holders N`: the registry measured end to end.

1. A PostgreSQL server of the benchmark's own (bench/cluster.py: `initdb` in `--pg-dir`,
   kept between runs, started on `--pg-port` with the settings a dedicated server on this
   machine would have — a quarter of the memory as shared buffers, room for a bulk load's WAL
   — instead of the distribution's defaults), or the server of `--database-url`. In it a fresh
   database `crmbench_<N>` (a 10k run does not drop the 1M one; `--skip-load` reuses either),
   migrated, loaded with N holders (one alias each) by `manage.py import_holders` from a
   generated JSON Lines file: deterministic values, metadata with a common value
   (`segment`) and a rare one (`branch`, 0.2 %). The import's rate (lines/s) and what the
   version 1 rows it wrote cost on disk (bytes per version, index share included; per
   holder) are printed before anything else writes.
2. gunicorn with `config/gunicorn.conf.py` and production settings (plus the floors of
   bench/floors.py), on a loopback port.
3. Per endpoint, `--seconds` of load at `--concurrency` from this process (bench/driver.py):
   requests/s, p50, p99, errors; queries per request measured once in-process; throughput as
   a ratio of the bare view and of the endpoint's own floor (`tables.floor_of`: the thinnest
   view doing its database work; for a read of the past, the GET of its record); a
   `--soak-seconds` run at concurrency 32 sampling worker memory. Each endpoint with a target
   (`tables.TARGETS`, issues 27 and 29) is then measured again against its floor or GET in
   `--pair-rounds` interleaved rounds: the median of those rounds' ratios is what its target
   is judged on, in the verdict lines printed last.
   Each list and search endpoint is also measured alone (`--alone-seconds` at concurrency 1):
   its service time, the p50 the 10k-vs-1M flatness target is judged on. Under load the
   admin pages saturate the two cores, and their p50 is then the queue (concurrency over
   throughput, split between requests as the GIL and the threads happen to schedule them),
   which swings by 2-3x between runs of the same build and size.
"""

import argparse
import fcntl
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

from bench import cluster, driver, events, tables
from bench.tables import PAIRS, floor_of, is_list_or_search

ROOT = Path(__file__).resolve().parent.parent
ORG = "0196a3f4-1c2b-7cde-8f00-0000000be4c4"
SECRETS = {
    "SECRET_KEY": "bench-secret-key-" + "s" * 40,
    "LCRYPTO_ENCRYPT_SECRET_KEY": "be" * 32,
    "LCRYPTO_HASH_SECRET_KEY": "bench-hash-key-" + "h" * 32,
}
FIRST = ["Ana", "Bruno", "Carla", "Diego", "Elisa", "Fabio", "Gabriela", "Hugo", "Iara", "Joao"]
LAST = ["Silva", "Souza", "Costa", "Santos", "Oliveira", "Pereira", "Lima", "Carvalho", "Rocha"]


def document(i: int) -> str:
    return f"{i + 10**9:011d}"


def holder_line(i: int) -> dict:
    """Holder i of the data set (values derive from i, so a sample is regenerated, not kept)."""
    return {
        "type": "NATURAL_PERSON",
        "name": f"{FIRST[i % 10]} {LAST[i % 9]} {i}",
        "document": document(i),
        "externalId": f"EXT-{i}",
        "contact": {"primaryEmail": f"holder{i}@example.com"},
        "metadata": {"segment": "retail" if i % 5 else "private", "branch": f"B{i % 500:03d}"},
        "aliases": [
            {
                "ledgerId": "ledger-bench",
                "accountId": f"ACC-{i}",
                "bankingDetails": {"branch": f"{i % 500:04d}", "account": f"{i:09d}-1"},
            }
        ],
    }


def deep_page(holders: int) -> int:
    """The deep page measured: page 1,000 of ten rows (the last page, for smaller runs)."""
    return max(1, min(1000, holders // 10))


def sh(*command: str, env: dict, timeout: float = 3600) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=timeout)


def prepare(url: str, holders: int, env: dict) -> float:
    """Create, migrate and load the database; returns the import's seconds."""
    parsed = urllib.parse.urlparse(url)
    admin_url = parsed._replace(path="/postgres").geturl()
    name = parsed.path.lstrip("/")
    sh("psql", admin_url, "-qc", f'DROP DATABASE IF EXISTS "{name}"', env=env)
    sh("psql", admin_url, "-qc", f'CREATE DATABASE "{name}"', env=env)
    sh(sys.executable, "manage.py", "migrate", "--noinput", "-v", "0", env=env)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as data:
        for i in range(holders):
            data.write(json.dumps(holder_line(i)) + "\n")
    started = time.monotonic()
    sh(sys.executable, "manage.py", "import_holders", "--organization", ORG, data.name, env=env)
    load_seconds = time.monotonic() - started
    print(f"loaded {holders:,} holders + aliases in {load_seconds:,.0f} s")
    os.unlink(data.name)
    # The visibility map a freshly loaded table lacks: autovacuum would build it in the middle
    # of the measurements; done here, and timed apart from the import (it needs no downtime).
    started = time.monotonic()
    sh("psql", url, "-qc", "VACUUM", env=env)
    print(f"vacuumed in {time.monotonic() - started:,.0f} s", flush=True)
    script = (
        "from django.contrib.auth.models import User;"
        "User.objects.filter(username='bench').exists() or "
        "User.objects.create_superuser('bench', 'bench@example.com', 'bench-password')"
    )
    sh(sys.executable, "manage.py", "shell", "-c", script, env=env)
    return load_seconds


def sample_ids(url: str, count: int) -> list[str]:
    """Ids of live holders of the measured organization (a database kept by --skip-load also
    holds the floor's and the events measurement's holders, in organizations of their own)."""
    query = (
        f"SELECT id FROM holders_holder WHERE organization_id = '{ORG}' AND deleted_at IS NULL "
        f"ORDER BY random() LIMIT {count}"
    )
    out = subprocess.run(["psql", url, "-Atc", query], capture_output=True, text=True, check=True)
    return out.stdout.split()


def admin_session(port: int) -> str:
    """Log the bench superuser in; returns the Cookie header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/admin/login/")
    response = conn.getresponse()
    page = response.read().decode()
    csrf = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": "bench", "password": "bench-password"}
    )
    headers = {"Cookie": f"csrftoken={csrf}", "Content-Type": "application/x-www-form-urlencoded"}
    conn.request("POST", "/admin/login/?next=/admin/", body, headers)
    response = conn.getresponse()
    response.read()
    session = re.search(r"sessionid=([^;]+)", response.getheader("Set-Cookie") or "")
    if session is None:
        raise RuntimeError("admin login failed")
    return f"csrftoken={csrf}; sessionid={session.group(1)}"


def sample_aliases(url: str, count: int) -> list[tuple[str, str]]:
    """(holder id, alias id) of live aliases of the measured organization, as `sample_ids`."""
    query = (
        "SELECT holder_id, id FROM aliases_aliasaccount "
        f"WHERE organization_id = '{ORG}' AND deleted_at IS NULL ORDER BY random() LIMIT {count}"
    )
    out = subprocess.run(["psql", url, "-Atc", query], capture_output=True, text=True, check=True)
    return [tuple(line.split("|")) for line in out.stdout.split()]


def deep_boundary(url: str, depth_rows: int) -> str:
    """The id after which the page that starts `depth_rows` rows into the organization begins
    (the same depth as the offset page measured next to it); `signed_cursor` makes it the
    API's cursor."""
    query = (
        f"SELECT id FROM holders_holder WHERE organization_id = '{ORG}' AND deleted_at IS NULL "
        f"ORDER BY id OFFSET {max(depth_rows, 1) - 1} LIMIT 1"
    )
    out = subprocess.run(["psql", url, "-Atc", query], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def version_storage(url: str, holders: int) -> dict:
    """The versions table's size after the import (`tables.version_storage`)."""
    query = (
        "SELECT pg_total_relation_size('crm_recordversion'), object_type, count(*), "
        "sum(pg_column_size(v.*)) FROM crm_recordversion v GROUP BY object_type"
    )
    out = subprocess.run(["psql", url, "-Atc", query], capture_output=True, text=True, check=True)
    total, kinds = 0, {}
    for line in out.stdout.split():
        total_bytes, kind, count, size = line.split("|")
        total, kinds[kind] = int(total_bytes), (int(count), int(size))
    rows = sum(count for count, _ in kinds.values())
    return tables.version_storage(holders=holders, rows=rows, total_bytes=total, kinds=kinds)


def signed_cursor(boundary_id: str, secret_key: str = SECRETS["SECRET_KEY"]) -> str:
    """`crm.api.pagination.encode_cursor(boundary_id, True)` as the benchmark's server makes it (its
    SECRET_KEY), without configuring Django in this process: cursors are signed, so the
    benchmark cannot just write one."""
    from django.core import signing

    signer = signing.Signer(
        key=secret_key, fallback_keys=[], salt="crm.api.pagination.cursor", sep="."
    )
    return signer.sign_object({"id": boundary_id, "points_next": True})


def endpoints(
    holders: int,
    ids: list[str],
    cookie: str,
    boundary: str,
    aliases: list[tuple[str, str]],
    as_of: str,
) -> list[tuple[str, object, tuple]]:
    """(name, request factory, ok statuses) for every measured endpoint: the floors first
    (bench/floors.py; `tables.floor_of` says which endpoint each bounds), then the API's and
    the admin's. `boundary`: the id the deep cursor page starts after; `aliases`: (holder id,
    alias id) samples; `as_of`: an RFC 3339 instant after the import."""
    org = {"X-Organization-Id": ORG, "Content-Type": "application/json"}
    pick = random.Random(7).randrange
    deep = deep_page(holders)
    counter = driver.fresh_numbers()
    cursor = signed_cursor(boundary)

    def get(path):
        return lambda: ("GET", path() if callable(path) else path, org, b"")

    def new_alias():
        n = next(counter)
        body = {"ledgerId": "l", "accountId": f"BENCH-{n}-{uuid.uuid4().hex[:8]}"}
        return (
            "POST",
            f"/v1/holders/{ids[pick(len(ids))]}/aliases",
            org,
            json.dumps(body).encode(),
        )

    def patch_holder():
        body = {"metadata": {"touched": str(next(counter))}}
        return ("PATCH", f"/v1/holders/{ids[pick(len(ids))]}", org, json.dumps(body).encode())

    def floor_update():
        body = str(next(counter)).encode()
        return ("PATCH", f"/floor/update/{ids[pick(len(ids))]}", org, body)

    def any_i():
        return pick(holders)

    def any_id():
        return ids[pick(len(ids))]

    def any_alias():
        holder_id, alias_id = aliases[pick(len(aliases))]
        return f"/v1/holders/{holder_id}/aliases/{alias_id}"

    admin = {"Cookie": cookie}
    deep_offset = (deep - 1) * 10
    return [
        (tables.BARE, get("/floor/json"), (200,)),
        (tables.SELECT, get(lambda: f"/floor/select/{any_id()}"), (200,)),
        (tables.INSERT, lambda: ("POST", "/floor/insert", org, b""), (201,)),
        (tables.UPDATE, floor_update, (200,)),
        (tables.ALIAS_INSERT, lambda: ("POST", "/floor/alias-insert", org, b""), (201,)),
        (tables.PAGE_10, get("/floor/page?limit=10"), (200,)),
        (tables.PAGE_100, get("/floor/page?limit=100"), (200,)),
        (tables.PAGE_DEEP_OFFSET, get(f"/floor/page?limit=10&offset={deep_offset}"), (200,)),
        (tables.PAGE_DEEP_CURSOR, get(f"/floor/page?limit=10&after={boundary}"), (200,)),
        (tables.ALIASES_BY_HOLDER, get(lambda: f"/floor/aliases?holder_id={any_id()}"), (200,)),
        (
            tables.ALIASES_BY_ACCOUNT,
            get(lambda: f"/floor/aliases?account_id=ACC-{any_i()}"),
            (200,),
        ),
        ("get holder", get(lambda: f"/v1/holders/{any_id()}"), (200,)),
        (tables.HOLDER_VERSION, get(lambda: f"/v1/holders/{any_id()}/versions/1"), (200,)),
        (tables.HOLDER_AS_OF, get(lambda: f"/v1/holders/{any_id()}?as_of={as_of}"), (200,)),
        (tables.HOLDER_VERSIONS, get(lambda: f"/v1/holders/{any_id()}/versions"), (200,)),
        ("get alias", get(any_alias), (200,)),
        (tables.ALIAS_VERSION, get(lambda: f"{any_alias()}/versions/1"), (200,)),
        (tables.ALIAS_AS_OF, get(lambda: f"{any_alias()}?as_of={as_of}"), (200,)),
        ("create holder", driver.holder_creator(ORG, "Bench Co", "9"), (201,)),
        ("patch holder", patch_holder, (200,)),
        ("list holders page 1", get("/v1/holders?limit=10"), (200,)),
        ("list holders page 1, limit 100", get("/v1/holders?limit=100"), (200,)),
        (f"list holders page {deep} (offset)", get(f"/v1/holders?limit=10&page={deep}"), (200,)),
        (
            f"list holders page {deep} (cursor)",
            get(f"/v1/holders?limit=10&cursor={cursor}"),
            (200,),
        ),
        ("search by document", get(lambda: f"/v1/holders?document={document(any_i())}"), (200,)),
        ("search by external id", get(lambda: f"/v1/holders?external_id=EXT-{any_i()}"), (200,)),
        (
            "search metadata (rare)",
            get(lambda: f"/v1/holders?metadata.branch=B{pick(500):03d}"),
            (200,),
        ),
        ("search metadata (common)", get("/v1/holders?metadata.segment=private"), (200,)),
        ("aliases by holder", get(lambda: f"/v1/aliases?holder_id={ids[pick(len(ids))]}"), (200,)),
        ("aliases by account", get(lambda: f"/v1/aliases?account_id=ACC-{any_i()}"), (200,)),
        (
            "aliases by banking account",
            get(lambda: f"/v1/aliases?banking_details_account={any_i():09d}-1"),
            (200,),
        ),
        ("create alias", new_alias, (201,)),
        (
            "admin search by document",
            lambda: ("GET", f"/admin/holders/holder/?q={document(any_i())}", admin, b""),
            (200,),
        ),
        (
            "admin search by name word",
            lambda: ("GET", f"/admin/holders/holder/?q={LAST[pick(9)]}", admin, b""),
            (200,),
        ),
        (
            "admin search by name prefix",
            lambda: ("GET", f"/admin/holders/holder/?q={LAST[pick(9)][:4]}", admin, b""),
            (200,),
        ),
        (
            "admin search by e-mail",
            lambda: ("GET", f"/admin/holders/holder/?q=holder{any_i()}%40example.com", admin, b""),
            (200,),
        ),
        ("admin holder list", lambda: ("GET", "/admin/holders/holder/", admin, b""), (200,)),
    ]


def endpoints_of(url: str, holders: int, port: int) -> list[tuple[str, object, tuple]]:
    """`endpoints` with their samples read from database `url` (`holders` loaded), the admin
    logged in on the gunicorn of `port`."""
    ids = sample_ids(url, 2000)
    aliases = sample_aliases(url, 2000)
    boundary = deep_boundary(url, deep_page(holders) * 10 - 10)
    # An instant after the import and before this run's writes: `as_of` reads version 1 then.
    as_of = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 1))
    return endpoints(holders, ids, admin_session(port), boundary, aliases, as_of)


def queries_per_request(env: dict, endpoint_list) -> dict[str, int]:
    """Each endpoint once through Django's test client in this process, counting queries."""
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(User.objects.get(username="bench"))
    counts = {}
    for name, make, _ in endpoint_list:
        if name.startswith("floor"):
            continue
        method, path, headers, body = make()
        headers = {k: v for k, v in headers.items() if k not in ("Content-Type", "Cookie")}
        with CaptureQueriesContext(connection) as queries:
            client.generic(method, path, body, content_type="application/json", headers=headers)
        counts[name] = len(queries)
    return counts


def rows(
    results: list[driver.Result], queries: dict[str, int], alone: dict[str, driver.Result]
) -> list[dict]:
    """One row per endpoint: throughput, latency, errors (under load and alone), queries,
    ratios to the bare view and to its own floor (`tables.floor_of`), and the p50 alone where
    measured."""
    rps = {r.name: r.rps for r in results}
    bare = rps[tables.BARE]

    def of_floor(name: str) -> float | None:
        floor = floor_of(name)
        return round(rps[name] / rps[floor], 3) if rps.get(floor) else None

    return [
        {
            "endpoint": r.name,
            "rps": round(r.rps, 1),
            "p50_ms": round(r.p50, 2),
            "p99_ms": round(r.p99, 2),
            "errors": r.errors + (alone[r.name].errors if r.name in alone else 0),
            "queries": queries.get(r.name),
            "p50_alone_ms": round(alone[r.name].p50, 2) if r.name in alone else None,
            "of_bare": round(r.rps / bare, 3),
            "of_floor": of_floor(r.name),
            "floor": floor_of(r.name),
        }
        for r in results
    ]


def drive(port: int, name: str, make, ok, *, concurrency: int, seconds: float):
    """`driver.run` of one endpoint against the benchmark's gunicorn on `port`."""
    return driver.run(
        name, "127.0.0.1", port, make, ok=ok, concurrency=concurrency, seconds=seconds
    )


def paired_ratios(measured, args: argparse.Namespace) -> dict[str, dict]:
    """Each judged endpoint against its floor in `--pair-rounds` interleaved rounds (the
    order reversed every other round), and the median of the rounds' ratios: on a shared
    machine whose speed drifts by 10-20% within minutes, one floor run at the start and one
    endpoint run later can disagree by more than the margin being judged."""
    makes = {name: (make, ok) for name, make, ok in measured}
    seconds = args.seconds / 2
    out = {}
    for endpoint, floor in PAIRS:
        ratios = []
        for round_number in range(args.pair_rounds):
            order = (floor, endpoint) if round_number % 2 == 0 else (endpoint, floor)
            rps = {}
            for name in order:
                make, ok = makes[name]
                run = drive(
                    args.port, name, make, ok, concurrency=args.concurrency, seconds=seconds
                )
                rps[name] = run.rps
            ratios.append(rps[endpoint] / rps[floor] if rps[floor] else 0.0)
        median = statistics.median(ratios) if ratios else float("nan")
        out[endpoint] = {
            "floor": floor,
            "round_ratios": [round(ratio, 3) for ratio in ratios],
            "median": round(median, 3),
        }
        rounds = ", ".join(f"{ratio:.1%}" for ratio in ratios)
        print(
            f"{endpoint} / {floor}, {len(ratios)} interleaved rounds: {rounds}; median {median:.1%}"
        )
    return out


def report(table: list[dict]) -> None:
    print()
    print(
        f"{'endpoint':40} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'queries':>7} {'÷ bare':>7} {'÷ floor':>8}  floor"
    )
    for row in table:
        queries = "-" if row["queries"] is None else row["queries"]
        of_floor = "-" if row["of_floor"] is None else f"{row['of_floor']:.1%}"
        print(
            f"{row['endpoint']:40} {row['rps']:7.0f} {row['p50_ms']:7.1f} {row['p99_ms']:7.1f} "
            f"{row['errors']:6d} {queries:>7} {row['of_bare']:7.1%} {of_floor:>8}  "
            f"{row['floor'] or '-'}"
        )


def worker_memory(master_pid: int) -> int:
    """Resident memory of gunicorn's workers (KiB)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    total = 0
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--holders", type=int, default=10_000)
    parser.add_argument(
        "--database-url",
        help="measure on this server's database instead of the benchmark's own server",
    )
    parser.add_argument(
        "--pg-dir",
        type=Path,
        default=Path("/var/tmp/crm-bench-pg"),  # noqa: S108 (the postgres user reaches it; kept)
        help="the benchmark's own server's files, kept between runs (default %(default)s)",
    )
    parser.add_argument("--pg-port", type=int, default=5499, help="its port (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="load per endpoint")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--pair-rounds",
        type=int,
        default=3,
        help="interleaved rounds of get/create holder against their floors (half --seconds each)",
    )
    parser.add_argument(
        "--alone-seconds",
        type=float,
        default=3.0,
        help="each list and search endpoint also at concurrency 1 (its service time); 0: not",
    )
    parser.add_argument("--soak-seconds", type=float, default=60.0)
    parser.add_argument(
        "--event-rounds",
        type=int,
        default=5,
        help="interleaved off / outbox / relay rounds of the change-events measurement",
    )
    parser.add_argument("--port", type=int, default=4093)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded database")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    server = None
    if args.database_url is None:
        server = own_server(args.pg_dir, args.pg_port)
        args.database_url = server.database_url(f"crmbench_{args.holders}")
    try:
        measure(args, server)
    finally:
        if server is not None:
            server.halt("fast")


def own_server(directory: Path, port: int) -> cluster.Cluster:
    """The benchmark's server, started (initialised on first use) with production settings."""
    bindir = cluster.postgres_bin()
    if bindir is None:
        raise SystemExit("no PostgreSQL server programs (initdb); give --database-url instead")
    server = cluster.Cluster(
        bindir,
        directory=directory,
        port=port,
        settings=cluster.production_settings(lz4=cluster.built_with_lz4(bindir)),
    )
    hold_server(server.dir)
    if not server.initialised:
        server.initdb()
    server.halt("fast")  # a server a killed run left behind
    server.launch()
    settings = ", ".join(f"{name}={value}" for name, value in server.settings.items())
    print(f"PostgreSQL: the benchmark's own server on port {port} ({settings})", flush=True)
    return server


_held_locks: list = []  # open for the life of the process: closing one releases its lock


def hold_server(directory: Path) -> None:
    """Keep the benchmark's server to this process, or exit saying which process has it.
    Every `make bench*` command restarts the server (fresh settings, no server a killed run
    left behind), so a second one started meanwhile would cut the first short, its requests
    failing mid-measurement. An exclusive `flock` on `bench.lock` beside the server's files,
    released when the process ends however it ends."""
    lock = (directory / "bench.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        raise SystemExit(
            f"another benchmark (pid {holder}) is using the server in {directory}:"
            " wait for it to finish"
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    _held_locks.append(lock)


def app_env(database_url: str, port: int) -> dict[str, str]:
    """The environment the benchmark runs the app with: production settings plus the floors
    (bench/settings.py), the benchmark's keys, `database_url`, gunicorn on `port`."""
    return {
        **os.environ,
        **SECRETS,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "CRM_IGNORE_DOTENV": "true",
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SERVER_HOST": "127.0.0.1",
        "SERVER_PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }


def measure(args: argparse.Namespace, own: cluster.Cluster | None) -> None:

    env = app_env(args.database_url, args.port)
    summary: dict = {
        "holders": args.holders,
        "concurrency": args.concurrency,
        "postgresql": own.settings if own is not None else "server of --database-url",
    }
    if not args.skip_load:
        summary["load_seconds"] = round(prepare(args.database_url, args.holders, env), 1)
        # Before any measured write adds versions: what the import's version 1 rows cost.
        summary["version_storage"] = version_storage(args.database_url, args.holders)
        print(tables.import_line(summary))
        print(tables.storage_line(summary["version_storage"]), flush=True)
    server = driver.serve(env, args.port)
    try:
        measured = endpoints_of(args.database_url, args.holders, args.port)
        results = []
        alone: dict[str, driver.Result] = {}
        for name, make, ok in measured:
            drive(args.port, name, make, ok, concurrency=4, seconds=1)  # warm-up
            result = drive(
                args.port, name, make, ok, concurrency=args.concurrency, seconds=args.seconds
            )
            results.append(result)
            line = (
                f"{name:40} {result.rps:8.0f} req/s  p50 {result.p50:7.1f} ms  "
                f"p99 {result.p99:7.1f} ms  errors {result.errors}"
            )
            if is_list_or_search(name) and args.alone_seconds > 0:
                alone[name] = drive(
                    args.port, name, make, ok, concurrency=1, seconds=args.alone_seconds
                )
                line += f"  alone p50 {alone[name].p50:.1f} ms"
            print(line, flush=True)
        table = rows(results, queries_per_request(env, measured), alone)
        report(table)
        summary["endpoints"] = table
        summary["paired"] = paired_ratios(measured, args)
        get_holder = next(make for name, make, _ in measured if name == "get holder")
        before = worker_memory(server.pid)
        soak = drive(
            args.port,
            "soak: get holder",
            get_holder,
            (200,),
            concurrency=32,
            seconds=args.soak_seconds,
        )
        after = worker_memory(server.pid)
        summary["soak"] = {
            "seconds": args.soak_seconds,
            "rps": round(soak.rps, 1),
            "errors": soak.errors,
            "worker_memory_mib": [round(before / 1024), round(after / 1024)],
        }
        print(
            f"soak {args.soak_seconds:.0f} s at concurrency 32: {soak.rps:.0f} req/s, "
            f"errors {soak.errors}, worker memory {before / 1024:.0f} -> {after / 1024:.0f} MiB"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    bench = events.write_throughput(
        env, port=args.port, seconds=args.seconds, rounds=args.event_rounds
    )
    print(events.report(bench), flush=True)
    summary["events"] = {
        "rounds": len(bench.rounds),
        "off_rps": round(bench.off_rps, 1),
        "outbox_only_rps": round(bench.outbox_rps, 1),
        "on_rps": round(bench.on_rps, 1),
        "outbox_ratio": round(bench.outbox_ratio, 3),
        "ratio": round(bench.ratio, 3),
        "mean_ratio": round(bench.mean_ratio, 3),
        "round_ratios": [round(r.ratio, 3) for r in bench.rounds],
        "relay": bench.relay,
    }
    summary["verdicts"] = tables.verdicts(summary)
    print("\ntargets (shared or quiet machine: see the machine's load when reading these):")
    for line in summary["verdicts"]:
        print(f"  {line}")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
