"""Where the browser tests save their screenshots: a test run never changes the working tree
(the committed docs/screenshots/ change only through `make screenshots`)."""

from tests.browser.conftest import ROOT, screenshots_folder


def test_a_test_run_saves_screenshots_in_an_ignored_folder():
    assert screenshots_folder({}) == ROOT / "artifacts" / "screenshots"
    assert screenshots_folder({"CRM_REFRESH_SCREENSHOTS": ""}) == ROOT / "artifacts" / "screenshots"
    assert "/artifacts/" in (ROOT / ".gitignore").read_text().splitlines()


def test_refreshing_the_committed_screenshots_is_asked_for_by_name():
    assert screenshots_folder({"CRM_REFRESH_SCREENSHOTS": "1"}) == ROOT / "docs" / "screenshots"
    assert "CRM_REFRESH_SCREENSHOTS=1" in (ROOT / "Makefile").read_text()
