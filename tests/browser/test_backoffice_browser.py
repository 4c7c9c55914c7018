"""Issue 11 (part A) in a real browser: a masked document revealed on click (and the view
recorded), a reason required before erasing, the deleted-matches hint, name-prefix search, the
alias page naming and linking its holder, and an admin 404 that is an admin page."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from aliases.services import alias_soft_delete
from crm.models import AuditEntry
from holders.models import Holder
from holders.services import holder_soft_delete
from tests.browser.conftest import log_in, settle
from tests.conftest import ORG_A
from tests.factories import AliasFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def boss(live_server):
    User.objects.create_superuser("boss", "boss@example.com", "s3cret-pass")


def test_document_is_masked_and_revealing_it_is_recorded(
    page: Page, live_server, holders, boss, screenshots
):
    holder = holders
    log_in(page, live_server, "boss", "s3cret-pass")
    page.goto(f"{live_server.url}/admin/holders/holder/{holder.pk}/change/")
    heading = page.locator("#content > h2")
    expect(heading).to_contain_text("Maria José da Conceição · ***.***.247-25")
    expect(page.locator("#crm-document")).to_have_text("***.***.247-25")
    expect(page.locator("body")).not_to_contain_text("52998224725")
    page.screenshot(path=str(screenshots / "holder_change_masked.png"), full_page=True)
    settle(page)
    assert not AuditEntry.objects.filter(object_id=holder.pk, action="view_document").exists()

    page.click("#crm-reveal-document")
    expect(page.locator("#crm-document")).to_have_text("52998224725")
    expect(page.locator("#crm-reveal-document")).to_have_count(0)
    settle(page)
    viewed = AuditEntry.objects.get(object_id=holder.pk, action="view_document")
    assert (viewed.actor_type, viewed.actor) == ("staff", "boss")

    page.click("a.historylink[href$='/history/']")
    expect(page.locator("#change-history")).to_contain_text("View Document")


def test_hard_delete_needs_a_reason(page: Page, live_server, holders, boss, screenshots):
    holder = holders
    log_in(page, live_server, "boss", "s3cret-pass")
    page.goto(f"{live_server.url}/admin/holders/holder/{holder.pk}/hard-delete/")
    page.click("#crm-confirm-erase")  # the browser refuses: the reason is required
    settle(page)
    assert Holder.all_objects.filter(pk=holder.pk).exists()
    assert page.eval_on_selector("#crm-erase-reason", "el => !el.validity.valid")

    page.fill("#crm-erase-reason", "   ")  # blank: the server refuses too
    page.eval_on_selector("#crm-erase-reason", "el => el.removeAttribute('required')")
    page.click("#crm-confirm-erase")
    expect(page.locator("#crm-reason-error")).to_be_visible()
    settle(page)
    assert Holder.all_objects.filter(pk=holder.pk).exists()

    page.fill("#crm-erase-reason", "LGPD Art. 18 VI, ticket 4711")
    page.screenshot(path=str(screenshots / "hard_delete_reason.png"), full_page=True)
    page.click("#crm-confirm-erase")
    expect(page.locator(".messagelist")).to_contain_text("erased")
    settle(page)
    assert not Holder.all_objects.filter(pk=holder.pk).exists()
    erasure = AuditEntry.objects.get(object_id=holder.pk, action="hard_delete")
    assert erasure.reason == "LGPD Art. 18 VI, ticket 4711"


def test_deleted_matches_hint_shows_the_hidden_holder(
    page: Page, live_server, holders, boss, screenshots
):
    holder = holders
    holder_soft_delete(organization_id=ORG_A, holder_id=holder.pk)
    log_in(page, live_server, "boss", "s3cret-pass")
    page.goto(f"{live_server.url}/admin/holders/holder/")
    page.fill("#searchbar", "conceicao")
    page.press("#searchbar", "Enter")
    expect(page.locator("#crm-deleted-hint")).to_contain_text(
        "1 match among deleted records — show them"
    )
    page.screenshot(path=str(screenshots / "holder_search_deleted_hint.png"), full_page=True)
    page.click("#crm-show-deleted")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Maria José da Conceição")
    expect(rows.first).to_contain_text("deleted")


def test_search_by_name_prefix(page: Page, live_server, holders, boss):
    log_in(page, live_server, "boss", "s3cret-pass")
    page.goto(f"{live_server.url}/admin/holders/holder/")
    for term, name in (("conc", "Maria José da Conceição"), ("Pada Estr", "Padaria Estrela")):
        page.fill("#searchbar", term)
        page.press("#searchbar", "Enter")
        rows = page.locator("#result_list tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(name)
    page.fill("#searchbar", "co")  # under 3 letters: a whole word only, and "co" is none
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list")).to_have_count(0)


def test_a_common_word_shows_its_newest_matches_and_asks_for_more(
    page: Page, live_server, holders, boss, screenshots, monkeypatch
):
    from crm.admin import searching
    from tests.factories import HolderFactory

    monkeypatch.setattr(searching, "SEARCH_LIMIT", 2)  # as "Silva" is against 1,000
    for n in range(3):
        HolderFactory(organization_id=ORG_A, name=f"Rita Conceição {n}")
    log_in(page, live_server, "boss", "s3cret-pass")
    page.goto(f"{live_server.url}/admin/holders/holder/")
    page.fill("#searchbar", "conceicao")
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#crm-search-truncated")).to_contain_text("2 newest matches")
    page.screenshot(path=str(screenshots / "holder_search_truncated.png"), full_page=True)
    page.fill("#searchbar", "rita conceicao 0")  # narrower: every match is looked at
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#crm-search-truncated")).to_have_count(0)


def test_alias_page_names_its_holder_and_links_back(
    page: Page, live_server, holders, boss, screenshots
):
    holder = holders
    alias = AliasFactory(holder=holder, accountId="acc-browser-1")
    log_in(page, live_server, "boss", "s3cret-pass")
    page.goto(f"{live_server.url}/admin/aliases/aliasaccount/{alias.pk}/change/")
    link = page.locator("#crm-holder-link")
    expect(link).to_have_text("Maria José da Conceição · ***.***.247-25")
    page.screenshot(path=str(screenshots / "alias_change.png"), full_page=True)
    link.click()
    expect(page).to_have_url(f"{live_server.url}/admin/holders/holder/{holder.pk}/change/")
    expect(page.locator("#content > h2")).to_contain_text("Maria José da Conceição")


def test_alias_list_hint_for_a_deleted_alias(page: Page, live_server, holders, boss):
    alias = AliasFactory(holder=holders, accountId="acc-browser-2")
    alias_soft_delete(organization_id=ORG_A, holder_id=holders.pk, alias_id=alias.pk)
    log_in(page, live_server, "boss", "s3cret-pass")
    page.goto(f"{live_server.url}/admin/aliases/aliasaccount/?q=acc-browser-2")
    expect(page.locator("#crm-deleted-hint")).to_contain_text("1 match among deleted records")


def test_admin_404_is_an_admin_page(page: Page, live_server, boss, screenshots):
    log_in(page, live_server, "boss", "s3cret-pass")
    response = page.goto(f"{live_server.url}/admin/no-such-page/")
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("#site-name")).to_contain_text("CRM back-office")
    expect(page.locator("#crm-error-message")).to_contain_text("no such page")
    page.screenshot(path=str(screenshots / "admin_404.png"), full_page=True)
