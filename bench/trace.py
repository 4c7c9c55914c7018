"""Trace one API request in-process: the project files it passes through and its database
round trips.

`python -m bench.trace` creates a throw-away SQLite database, sends `POST /v1/holders`,
`PATCH /v1/holders/{id}` and `GET /v1/aliases?banking_details_account=…` once each to warm up,
then traces the second of each with `sys.setprofile`: every Python function call whose code
lives in a project file (not tests, migrations, the virtual environment or this module) is a
step; a *move* is a step whose file differs from the previous step's. docs/architecture.md
reports the figures (how far a reader must jump to follow a request).

With `TRACE_DATABASE_URL=postgres://…/scratch` (a scratch database: it is migrated and written
to) the requests run on PostgreSQL instead, and each is also counted in *round trips*: the
messages the client sends that wait for the server (a simple query, or an extended-protocol
`Sync`), read from libpq's own protocol trace, so `BEGIN` and `COMMIT` count too."""

import contextlib
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORG = "0196a3f4-1c2b-7cde-8f00-123456789abc"


def _project_file(filename: str) -> str | None:
    if filename.startswith("<"):  # frozen modules, generated code
        return None
    path = Path(filename)
    try:
        relative = path.resolve().relative_to(ROOT)
    except ValueError:
        return None
    parts = relative.parts
    if parts[0] in (".venv", "tests") or "migrations" in parts:
        return None
    if relative == Path("bench/trace.py"):
        return None
    return str(relative)


def trace(call) -> tuple[int, int, list[str]]:
    """(files, moves, files in first-seen order) of the project code `call()` runs."""
    seen: list[str] = []
    moves = 0
    last: list[str | None] = [None]

    def profile(frame, event, arg):
        nonlocal moves
        if event != "call":
            return
        name = _project_file(frame.f_code.co_filename)
        if name is None:
            return
        if name not in seen:
            seen.append(name)
        if last[0] is not None and name != last[0]:
            moves += 1
        last[0] = name

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return len(seen), moves, seen


@contextlib.contextmanager
def round_trips() -> Iterator[list[int]]:
    """Counts the round trips to PostgreSQL inside the block (into the one-element list it
    yields): libpq traces every protocol message of the connection to a file, and each
    frontend `Query` or `Sync` is one wait for the server. Nothing on other databases."""
    from django.db import connection

    counted = [0]
    if connection.vendor != "postgresql":
        yield counted
        return
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile() as log:
        pgconn.trace(log.fileno())
        try:
            yield counted
        finally:
            pgconn.untrace()
            log.seek(0)
            counted[0] = sum(
                1
                for line in log.read().decode(errors="replace").splitlines()
                if "\tF\t" in line and line.split("\t")[3].split(" ")[0] in ("Query", "Sync")
            )


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    database_url = os.environ.get("TRACE_DATABASE_URL")
    if database_url is None:
        database_url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'trace.sqlite3'}"
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    client = Client(HTTP_X_ORGANIZATION_ID=ORG, HTTP_HOST="localhost")
    unique = uuid.uuid4().int

    def create_holder(document: str):
        body = {"type": "NATURAL_PERSON", "name": "Ana Lima", "document": document}
        response = client.post("/v1/holders", json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content
        return response.json()["id"]

    def document() -> str:  # a new document per run: a scratch database may be reused
        nonlocal unique
        unique += 1
        return f"TRACE{unique}"

    def update_holder():
        body = {"name": f"Ana Lima {uuid.uuid4().hex[:6]}", "metadata": {"k": uuid.uuid4().hex}}
        response = client.patch(
            f"/v1/holders/{holder}", json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 200, response.content

    holder = create_holder(document())
    alias_body = {
        "ledgerId": str(uuid.uuid4()),
        "accountId": str(uuid.uuid4()),
        "bankingDetails": {"branch": "0001", "account": "4398187-0"},
    }
    response = client.post(
        f"/v1/holders/{holder}/aliases",
        json.dumps(alias_body),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content

    def list_by_account():
        response = client.get("/v1/aliases?banking_details_account=4398187-0")
        assert response.status_code == 200 and response.json()["items"], response.content

    requests = {
        "POST /v1/holders": lambda: create_holder(document()),
        "PATCH /v1/holders/{id}": update_holder,
        "GET /v1/aliases?banking_details_account=": list_by_account,
    }
    for label, request in requests.items():
        request()  # warm up
        with round_trips() as counted:
            request()
        files, moves, names = trace(request)
        trips = f", {counted[0]} round trips" if counted[0] else ""
        print(f"{label}: {files} files, {moves} moves{trips}")
        if "-v" in sys.argv:
            print("   " + "\n   ".join(names))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
