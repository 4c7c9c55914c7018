"""Shared fixtures: an API client bound to an organization, factories, a second organization
for tenant-isolation tests; the `postgresql` marker's deselection on SQLite runs, and the
`failover` marker's outside its own CI step."""

import uuid

import pytest
from rest_framework.test import APIClient

ORG_A = uuid.UUID("0196a3f4-1c2b-7cde-8f00-00000000000a")
ORG_B = uuid.UUID("0196a3f4-1c2b-7cde-8f00-00000000000b")


class OrgClient(APIClient):
    """An APIClient that sends `X-Organization-Id` and JSON bodies by default."""

    def __init__(self, organization_id: uuid.UUID | None, **kwargs):
        super().__init__(**kwargs)
        self.organization_id = organization_id
        if organization_id is not None:
            self.credentials(HTTP_X_ORGANIZATION_ID=str(organization_id))

    def _json(self, method, path, data=None, **extra):
        if data is not None and not isinstance(data, str | bytes):
            extra.setdefault("format", "json")
        return getattr(super(), method)(path, data, **extra)

    def post(self, path, data=None, **extra):
        return self._json("post", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self._json("patch", path, data, **extra)


@pytest.fixture
def org_a() -> uuid.UUID:
    return ORG_A


@pytest.fixture
def org_b() -> uuid.UUID:
    return ORG_B


@pytest.fixture
def api(db) -> OrgClient:
    """Client for organization A."""
    return OrgClient(ORG_A)


@pytest.fixture
def api_b(db) -> OrgClient:
    """Client for organization B (tenant isolation)."""
    return OrgClient(ORG_B)


@pytest.fixture
def anonymous_api(db) -> OrgClient:
    """Client that sends no organization header."""
    return OrgClient(None)


# --- Tests that need the suite's database to be PostgreSQL ---------------------------------------
# `@pytest.mark.postgresql`: the test needs DATABASE_URL=postgres://… (row locks, server-side
# prepared statements, arrays). It is collected everywhere; on a SQLite run it is DESELECTED
# (never skipped, never a silent pass) and the run ends with a line that counts and names
# them. Tests that start PostgreSQL clusters of their own do not need the marker: they run on
# both legs. Under xdist the workers deselect and the controller prints the line.

POSTGRESQL_ONLY = pytest.StashKey[list[str]]()

# `@pytest.mark.failover` (tests/test_failover.py: a pg_auto_failover formation, two failovers,
# minutes): it runs in a CI step of its own, `make test-failover` (`-m failover`), once; every
# run whose `-m` does not name it deselects it, and the deselected count says so.


def _suite_database_is_postgresql() -> bool:
    from django.db import connections

    return connections["default"].vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    if "failover" not in (config.option.markexpr or ""):
        own_step = [item for item in items if item.get_closest_marker("failover")]
        if own_step:
            items[:] = [item for item in items if not item.get_closest_marker("failover")]
            config.hook.pytest_deselected(items=own_step)
    if _suite_database_is_postgresql():
        return
    needs = [item for item in items if item.get_closest_marker("postgresql")]
    if not needs:
        return
    items[:] = [item for item in items if not item.get_closest_marker("postgresql")]
    config.hook.pytest_deselected(items=needs)
    names = sorted(item.nodeid for item in needs)
    config.stash[POSTGRESQL_ONLY] = names
    if hasattr(config, "workeroutput"):  # an xdist worker: tell the controller
        config.workeroutput["postgresql_only"] = names


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist controller: every worker collects (and deselects) the same tests."""
    names = getattr(node, "workeroutput", {}).get("postgresql_only", [])
    known = node.config.stash.get(POSTGRESQL_ONLY, [])
    node.config.stash[POSTGRESQL_ONLY] = sorted(set(known) | set(names))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    names = config.stash.get(POSTGRESQL_ONLY, [])
    if not names or hasattr(config, "workeroutput"):
        return
    terminalreporter.write_sep(
        "-",
        f"{len(names)} tests need DATABASE_URL=postgres://…: deselected on SQLite",
        yellow=True,
    )
    for name in names:
        terminalreporter.write_line(f"  {name}")


@pytest.fixture
def customer(db):
    """Joana Prado of "Banco Alfa" (a labelled organization) with two live alias accounts at
    bank 341, branches 0001 and 0002 (the back-office tests of issue 28 items 2 and 3)."""
    from crm.models import Organization
    from tests.factories import AliasFactory, HolderFactory

    Organization.objects.create(id=ORG_A, label="Banco Alfa")
    holder = HolderFactory(name="Joana Prado", document="52998224725")
    first = AliasFactory(
        holder=holder,
        accountId="acc-1",
        bankingDetails={"bankId": "341", "branch": "0001", "account": "4398187-0"},
    )
    second = AliasFactory(
        holder=holder,
        accountId="acc-2",
        bankingDetails={"bankId": "341", "branch": "0002", "account": "7654321-9"},
    )
    return holder, first, second


@pytest.fixture(autouse=True)
def _no_language_left_active():
    """A request in Portuguese leaves its language active in the thread (LocaleMiddleware
    activates it and nothing deactivates it): a test after it, in the same worker, would read
    translated text where it expects the default."""
    yield
    from django.utils import translation

    translation.deactivate()
