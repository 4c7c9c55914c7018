"""Trace one API request in-process and count the project files it passes through.

`python -m bench.trace` creates a throw-away SQLite database, sends `POST /v1/holders` and
`GET /v1/aliases?banking_details_account=…` once each to warm up, then traces the second of each
with `sys.setprofile`: every Python function call whose code lives in a project file (not
tests, migrations, the virtual environment or this module) is a step; a *move* is a step whose
file differs from the previous step's. docs/architecture.md reports the figures (how far a
reader must jump to follow a request)."""

import json
import os
import sys
import tempfile
import uuid
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


def main() -> None:
    database = Path(tempfile.mkdtemp()) / "trace.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    client = Client(HTTP_X_ORGANIZATION_ID=ORG, HTTP_HOST="localhost")

    def create_holder(document: str):
        body = {"type": "NATURAL_PERSON", "name": "Ana Lima", "document": document}
        response = client.post("/v1/holders", json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content
        return response.json()["id"]

    holder = create_holder("91315026015")
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

    results = {
        "POST /v1/holders": trace(lambda: create_holder("52998224725")),
        "GET /v1/aliases?banking_details_account=": (list_by_account(), trace(list_by_account))[1],
    }
    for label, (files, moves, names) in results.items():
        print(f"{label}: {files} files, {moves} moves")
        if "-v" in sys.argv:
            print("   " + "\n   ".join(names))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
