"""Two people edit one holder at once, each in their own browser session (docs/admin.md, "Two
people, one record"): a clerk and a supervisor open the same change page; the clerk corrects
the address and saves; the supervisor, whose page still shows the old address, changes the name
and saves. The supervisor's save is refused with the fields the clerk changed, when and by
whom, in the supervisor's language, and nothing of it is written: the clerk's correction stands.
Reloading the page and saving again then works.

The issue behind it: a supervisor's stale form put the old address back over a clerk's
correction, and both were told "changed successfully" (tests/test_admin_stale_form.py holds
the same rule through Django's test client; this is the walk-through in Chromium)."""

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Browser, expect

from holders.models import Holder
from staff.roles import CLERK, SUPERVISOR, ensure_roles
from tests.factories import HolderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "s3cret-pass"
# The refusal's first words, as each language shows them (locale/pt_BR/LC_MESSAGES/django.po).
REFUSED = {
    "en": "Someone else changed this record after you opened this page",
    "pt-BR": "Outra pessoa alterou este registro depois que você abriu esta página",
}


def staff_member(username: str, role: str) -> None:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))


def signed_in_page(browser: Browser, live_server, username: str, locale: str):
    """A page of a browser session of its own (cookies apart), signed in as `username`."""
    context = browser.new_context(locale=locale, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()
    return context, page


@pytest.mark.parametrize("supervisor_locale", ["en", "pt-BR"])
def test_a_stale_page_saved_in_a_second_session_is_refused_and_writes_nothing(
    browser: Browser, live_server, screenshots, supervisor_locale
):
    ensure_roles()
    staff_member("clerk", CLERK)
    staff_member("supervisor", SUPERVISOR)
    holder = HolderFactory(
        name="Maria Estável",
        addresses={"primary": {"line1": "Rua Velha, 1", "city": "Belém", "country": "BR"}},
    )
    change_page = f"{live_server.url}/admin/holders/holder/{holder.pk}/change/"
    clerk_context, clerk = signed_in_page(browser, live_server, "clerk", "en")
    supervisor_context, supervisor = signed_in_page(
        browser, live_server, "supervisor", supervisor_locale
    )
    try:
        # Both open the record.
        clerk.goto(change_page)
        supervisor.goto(change_page)
        expect(supervisor.locator("#id_addresses__primary__line1")).to_have_value("Rua Velha, 1")

        # The clerk corrects the address and saves first.
        clerk.fill("#id_addresses__primary__line1", "Rua Nova, 2")
        clerk.click("input[name=_save]")
        expect(clerk.locator("ul.messagelist .success")).to_be_visible()

        # The supervisor, on the page opened before, changes the name and saves.
        supervisor.fill("#id_name", "Maria Estável Souza")
        supervisor.click("input[name=_save]")
        refusal = supervisor.locator("form .errornote, form ul.errorlist.nonfield")
        expect(refusal.first).to_be_visible()
        text = supervisor.locator("#content").inner_text()
        assert REFUSED[supervisor_locale] in text
        assert "addresses.primary" in text and "clerk" in text
        supervisor.screenshot(
            path=str(screenshots / f"stale_form_refused_{supervisor_locale}.png"), full_page=True
        )

        stored = Holder.objects.get(pk=holder.pk)
        assert (stored.name, stored.addresses["primary"]["line1"]) == (
            "Maria Estável",
            "Rua Nova, 2",
        )
        assert stored.version == 2

        # Reloaded, the page shows the clerk's correction, and the supervisor's save goes in.
        supervisor.goto(change_page)
        expect(supervisor.locator("#id_addresses__primary__line1")).to_have_value("Rua Nova, 2")
        supervisor.fill("#id_name", "Maria Estável Souza")
        supervisor.click("input[name=_save]")
        expect(supervisor.locator("ul.messagelist .success")).to_be_visible()
        stored = Holder.objects.get(pk=holder.pk)
        assert (stored.name, stored.addresses["primary"]["line1"]) == (
            "Maria Estável Souza",
            "Rua Nova, 2",
        )
        assert stored.version == 3
    finally:
        clerk_context.close()
        supervisor_context.close()
