"""The README's shell examples run as written, twice in a row, against a live server (issue 25).

Every ```sh / ```bash / ```console block of README.md is either marked runnable, by the HTML
comment `<!-- readme-test: run -->` on the line before its fence (invisible on GitHub), or listed
in `EXCLUDED` below with the reason it cannot run here; a block that is neither fails the suite,
and so does an exclusion that names no block.

The server is the one `make run` starts, started the same way: the development `.env` that
`crm/crypto/devkeys.py` generates (fresh keys, `ENV_NAME=development`) given as the environment,
`manage.py migrate`, then `manage.py runserver`, on a free port and a SQLite file of its own;
`localhost:4003` in the examples becomes that port. Each runnable block runs in bash with
`set -euo pipefail`, from the repository root as a reader would, with the requirements the README
lists (`curl`, `jq`, Python), twice in a row, and must exit 0 both times: an example
that only works on an empty database, or that needs something the README does not list, fails.
`curl` is wrapped with `--fail-with-body`, so an HTTP error answer (a 404 for an unset id, a 409
for a document taken by the first run) fails the block too instead of printing an error body
with exit status 0.
"""

import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from tests.servers import ROOT, call, development_environment, free_port

README = ROOT / "README.md"
MARKER = "<!-- readme-test: run -->"
LANGUAGES = ("sh", "bash", "console")
# The requirements the README lists for its examples, besides Python and make.
TOOLS = ("curl", "jq")

# Blocks that cannot run against the test's server, by their first line (spaces collapsed), with
# the reason; each is a summary over placeholders, a server or tool of its own, or the suite.
EXCLUDED = {
    "make run # creates .venv, installs, generates dev keys in .env, migrates SQLite, serves on "
    "127.0.0.1:4003": "the quickstart itself: this test serves the app as `make run` does, and "
    "`make test` is the whole suite",
    "DEBUG=false": "a production environment's variables, not commands; "
    "tests/test_production_security.py runs `check --deploy` with exactly this block",
    "make run # first terminal: creates .venv and .env, migrates, serves on :4003": "starts a "
    "second server on the fixed port, and `make superuser` asks questions (interactive)",
    ".venv/bin/python manage.py hard_delete holders 0196a3f4-... # dry run: what would go": "a "
    "summary of the command's forms over ids of your own (placeholders); "
    "tests/test_hard_delete_command.py runs each form",
    "LCRYPTO_ENCRYPT_SECRET_KEY=<new>": "a deployment's variables, with placeholders for keys",
    ".venv/bin/python manage.py seal_audit --follow # beside the web servers: seals every 5 s": (
        "`--follow` runs until stopped; tests/test_audit_chain.py runs both commands"
    ),
    ".venv/bin/python manage.py import_holders --organization $ORG customers.jsonl # JSON Lines": (
        "reads customer files of your own; tests/test_import_holders.py runs each form"
    ),
    ".venv/bin/python manage.py migrate # applies nothing new, then analyses": "alternatives per "
    "database: `psql` needs a PostgreSQL DATABASE_URL, `sqlite3` its CLI and the default "
    "db.sqlite3; this test's server start runs `migrate`",
    "EVENTS_ENABLED=true make run # the service writes events": "starts a server of its own on "
    "the fixed port and the relay, both running until stopped; tests/test_events_relay.py runs "
    "the relay against RabbitMQ",
    "PLUGIN_AUTH_ENABLED=true make run": "starts a server of its own with access control on; the "
    "token is a placeholder (made in the admin); tests/test_api_tokens.py",
    ".venv/bin/python -m tests.fake_access_manager --port 4000 --mode allow &": "starts an Access "
    "Manager stand-in and a server on fixed ports, running until stopped; "
    "tests/test_access_manager.py",
    "make test # SQLite": "the test suite, lint, fuzzing and benchmarks themselves",
}


@dataclass
class Block:
    line: int  # 1-based line of the opening fence, for the reader of a failure
    language: str
    text: str
    runnable: bool

    @property
    def first_line(self) -> str:
        return " ".join(self.text.strip().splitlines()[0].split())

    def script(self) -> str:
        """The commands of the block: a console block's `$ ` lines, any other block whole."""
        if self.language != "console":
            return self.text
        return "".join(line[2:] for line in self.text.splitlines(True) if line.startswith("$ "))


def readme_blocks() -> list[Block]:
    """The shell blocks of README.md, with whether the line before each fence marks it."""
    lines = README.read_text().splitlines(True)
    blocks, index = [], 0
    while index < len(lines):
        opening = re.match(r"\s*```(\w*)\s*$", lines[index])
        if not opening:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
        if opening.group(1) in LANGUAGES:
            indent = len(lines[index]) - len(lines[index].lstrip())
            text = "".join(line[indent:] for line in lines[index + 1 : end])
            marked = index > 0 and lines[index - 1].strip() == MARKER
            blocks.append(Block(index + 1, opening.group(1), text, marked))
        index = end + 1
    return blocks


RUNNABLE = [block for block in readme_blocks() if block.runnable]


def test_every_shell_block_is_run_or_excluded_with_a_reason():
    blocks = readme_blocks()
    unmarked = [block.first_line for block in blocks if not block.runnable]
    assert len(set(unmarked)) == len(unmarked), "two excluded blocks start alike"
    assert sorted(unmarked) == sorted(EXCLUDED), (
        "mark a README block with <!-- readme-test: run --> or list it in EXCLUDED"
    )
    assert not [block.first_line for block in RUNNABLE if block.first_line in EXCLUDED]
    assert len(RUNNABLE) >= 5  # the API walk-throughs: try it, cursors, holders, aliases, retries


# --- The server, as `make run` starts it ---------------------------------------------------


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    """`make run`'s development environment, migrated and served by runserver on a free port;
    yields (port, environment, the server's whole output so far)."""
    for tool in TOOLS:
        assert shutil.which(tool), f"{tool} is a README requirement (.ci/system-packages)"
    directory = tmp_path_factory.mktemp("readme")
    port = free_port()
    env = development_environment(f"sqlite:///{directory / 'db.sqlite3'}")
    log = directory / "server.log"
    with log.open("wb") as out:
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
        assert migrate.returncode == 0, log.read_text(errors="replace")[-3000:]
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 60
            while call(port, "GET", "/health").status != 200:
                assert server.poll() is None, log.read_text(errors="replace")[-3000:]
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.2)
            yield port, env, log
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


PRELUDE = """set -euo pipefail
curl() { command curl --fail-with-body "$@"; }
"""


def run_block(block: Block, port: int, env: dict[str, str]) -> subprocess.CompletedProcess:
    script = block.script().replace("localhost:4003", f"127.0.0.1:{port}")
    return subprocess.run(
        ["bash", "-c", PRELUDE + script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize(
    "block", RUNNABLE, ids=[f"line{block.line}-{block.language}" for block in RUNNABLE]
)
def test_readme_block_runs_twice_in_a_row(block, dev_server):
    port, env, _ = dev_server
    for attempt in ("first", "second"):
        done = run_block(block, port, env)
        assert done.returncode == 0, (
            f"README line {block.line}, {attempt} run, exit {done.returncode}\n"
            f"--- stderr\n{done.stderr[-3000:]}\n--- stdout\n{done.stdout[-3000:]}"
        )


def test_the_development_server_prints_no_production_warning(dev_server):
    """What `make run` prints (migrate, runserver, the examples' requests): no crm.W001, no
    start-up warning about access control, yet the mode line is there."""
    port, _, log = dev_server
    assert call(port, "GET", "/v1/holders").status == 200
    output = log.read_text(errors="replace")
    assert "access control: mode=off" in output
    assert "ACCESS CONTROL IS OFF" not in output
    assert "crm.W001" not in output
    assert " WARNING crm.access " not in output
