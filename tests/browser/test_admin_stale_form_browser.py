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
from playwright.sync_api import Browser, expect

from holders.models import Holder
from staff.roles import CLERK, SUPERVISOR, ensure_roles
from tests.browser.conftest import session_of, staff_member
from tests.factories import HolderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The refusal's first words, as each language shows them (locale/pt_BR/LC_MESSAGES/django.po).
REFUSED = {
    "en": "Someone else changed this record after you opened this page",
    "pt-BR": "Outra pessoa alterou este registro depois que você abriu esta página",
}


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
    clerk = session_of(browser, live_server, "clerk", "en")
    supervisor = session_of(browser, live_server, "supervisor", supervisor_locale)
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
        clerk.context.close()
        supervisor.context.close()
