"""Browser tests of the admin: Playwright driving Debian's system Chromium, headless.

No browser download: `executable_path` points at `/usr/bin/chromium` (install it with
`apt-get install chromium`). Without it the tests fail loudly rather than skip.
Playwright's sync API runs an event loop in this thread, so Django's async-safety check is
switched off for the test process (DJANGO_ALLOW_ASYNC_UNSAFE).

The live server answers one request at a time: with the in-memory SQLite test database every
server thread shares one connection, and Chromium's parallel requests on it crash SQLite.
"""

import os
import pathlib

import pytest
from django.contrib.auth.models import Group, User
from django.core.servers.basehttp import WSGIServer
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.factories import HolderFactory

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
ROOT = pathlib.Path(__file__).resolve().parents[2]
# Every run saves its screenshots under artifacts/ (git-ignored), so a test run never changes
# the committed ones. `make screenshots` (CRM_REFRESH_SCREENSHOTS=1) writes them to
# docs/screenshots/, which docs/admin.md shows: refreshing them is a deliberate act.


def screenshots_folder(environment) -> pathlib.Path:
    refresh = environment.get("CRM_REFRESH_SCREENSHOTS", "") == "1"
    return ROOT / ("docs" if refresh else "artifacts") / "screenshots"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not pathlib.Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium", pytrace=False)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}}


@pytest.fixture
def screenshots() -> pathlib.Path:
    folder = screenshots_folder(os.environ)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class SerialWSGIServer(WSGIServer):
    """Django's WSGIServer, one request at a time, in the live-server thread (which already
    uses the test database connection); it answers `Connection: close`."""

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)


@pytest.fixture(scope="session")
def live_server(request):
    server = LiveServer(
        request.config.getvalue("liveserver")
        or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost",
        start=False,
    )
    server.thread.server_class = SerialWSGIServer
    server.start()
    yield server
    server.stop()


# --- shared by the browser tests -----------------------------------------------------------------

STAFF_PASSWORD = "s3cret-pass"


def staff_member(username: str, role: str) -> User:
    """A staff user in one of the ready-made groups (`staff.roles`; `ensure_roles()` first)."""
    person = User.objects.create_user(username, password=STAFF_PASSWORD, is_staff=True)
    person.groups.add(Group.objects.get(name=role))
    return person


def session_of(browser, live_server, username: str, locale: str) -> Page:
    """A page in a browser session of its own (cookies apart: two people at once), signed in as
    `username`, in `locale`, at 1,440 by 900 pixels. Close it with `page.context.close()`."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()
    return page


def log_in(page: Page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("CRM back-office")


def settle(page: Page) -> None:
    """Let the page finish its requests before the test reads the database (the in-memory
    SQLite connection is shared with the live server)."""
    page.wait_for_load_state("networkidle")


@pytest.fixture
def holders(db):
    HolderFactory(name="Pedro Alves", document="98765432100", externalId="EXT-1")
    HolderFactory(type="LEGAL_PERSON", name="Padaria Estrela Ltda", document="12345678000195")
    return HolderFactory(
        name="Maria José da Conceição",
        document="52998224725",
        externalId="EXT-42",
        contact={"primaryEmail": "maria@example.com", "mobilePhone": "+55 11 99999-0000"},
        addresses={
            "primary": {
                "line1": "Rua das Flores, 10",
                "city": "São Paulo",
                "state": "SP",
                "country": "BR",
            }
        },
        naturalPerson={"birthDate": "1980-01-02", "motherName": "Ana Conceição"},
        metadata={"segment": "retail"},
    )
