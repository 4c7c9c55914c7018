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
from django.core.servers.basehttp import WSGIServer
from pytest_django.live_server_helper import LiveServer

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
# Committed: docs/admin.md shows them (every admin page type, refreshed by each run).
SCREENSHOTS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "screenshots"


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
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


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
