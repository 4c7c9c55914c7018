"""Issue 28 items 2 and 3 in Chromium at 1440x900, in English and Brazilian Portuguese: a
clerk adds a holder picking the organization by its label and is told whom was added; a
supervisor sees a holder's accounts by bank, branch and masked number, soft-deletes the
customer with its accounts from a confirmation page and restores it the same way; a
data-protection officer finds the record's name in History, the audit trail, the dashboard
and on the hard-delete page. Screenshots go to artifacts/screenshots/ (`make screenshots`:
docs/screenshots/)."""

import pytest
from playwright.sync_api import Browser, Page, expect

from aliases.models import AliasAccount
from crm.lifecycle.audit import Actor, acting_as
from crm.models import AuditEntry, Organization
from holders.models import Holder
from holders.services import holder_update
from staff.roles import CLERK, DATA_PROTECTION_OFFICER, SUPERVISOR, ensure_roles
from tests.browser.conftest import settle
from tests.browser.test_admin_back_office import log_in, member
from tests.conftest import ORG_A
from tests.factories import AliasFactory, HolderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JOANA = "Joana Prado · ***.***.247-25 · Banco Exemplo"
# What each language calls things on these pages.
WORDS = {
    "en-US": {
        "added": "was added successfully",
        "account": "bank 341 branch 0001 account ****187-0",
        "soft_delete": "Soft delete…",
        "restore": "Restore…",
        "deleted": "was soft-deleted with 2 alias account(s).",
        "restored": "was restored with 2 alias account(s).",
        "history": "History: ",
        "type": "Natural person",
        "command": "command",
        "holder": "holder",
    },
    "pt-BR": {
        "added": "foi adicionado com sucesso",
        "account": "banco 341 agência 0001 conta ****187-0",
        "soft_delete": "Excluir logicamente…",
        "restore": "Restaurar…",
        "deleted": "foi excluído logicamente com 2 conta(s) alias.",
        "restored": "foi restaurado com 2 conta(s) alias.",
        "history": "Histórico: ",
        "type": "Pessoa física",
        "command": "comando",
        "holder": "titular",
    },
}
PREFIX = {"en-US": "", "pt-BR": "pt_br_"}


@pytest.fixture
def customer(db):
    ensure_roles()
    Organization.objects.create(id=ORG_A, label="Banco Exemplo")
    joana = HolderFactory(name="Joana Prado", document="52998224725", externalId="CUST-9")
    accounts = [
        AliasFactory(
            holder=joana,
            type="NATURAL_PERSON",
            bankingDetails={"bankId": "341", "branch": branch, "account": number},
        )
        for branch, number in (("0001", "4398187-0"), ("0002", "7654321-9"))
    ]
    return joana, accounts


@pytest.fixture(params=["en-US", "pt-BR"])
def locale(request) -> str:
    return request.param


@pytest.fixture
def page(browser: Browser, locale: str):
    """A page of a browser set to `locale`, at 1440x900."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
    yield context.new_page()
    context.close()


def test_clerk_adds_a_holder_picking_the_organization(
    page: Page, live_server, customer, screenshots, locale
):
    member(CLERK)
    log_in(page, live_server, "clerk")
    page.goto(f"{live_server.url}/admin/holders/holder/add/")
    picker = page.locator("#id_organization")
    expect(picker.locator("option")).to_have_text(["---------", "Banco Exemplo"])
    picker.select_option(label="Banco Exemplo")
    page.select_option("#id_type", "NATURAL_PERSON")
    page.fill("#id_document", "111.444.777-35")
    page.fill("#id_name", "Carlos Souza")
    page.screenshot(
        path=str(screenshots / f"{PREFIX[locale]}holder_add_organization.png"), full_page=True
    )
    page.click("input[name=_save]")
    message = page.locator(".messagelist")
    expect(message).to_contain_text(
        f"“Carlos Souza · ***.***.777-35 · Banco Exemplo” {WORDS[locale]['added']}"
    )
    expect(message).not_to_contain_text("Holder 0")
    # The list opens with the name, linked to the record.
    row = page.locator("#result_list tbody tr").first
    first = row.locator("td:not(.action-checkbox), th:not(.action-checkbox)").first
    expect(first).to_have_class("field-holder_name")
    expect(first.locator("a")).to_have_text("Carlos Souza")
    page.screenshot(path=str(screenshots / f"{PREFIX[locale]}holder_added.png"), full_page=True)
    first.locator("a").click()
    expect(page.locator(".breadcrumbs")).to_contain_text(
        "Carlos Souza · ***.***.777-35 · Banco Exemplo"
    )
    # A clerk neither soft-deletes nor restores.
    expect(page.locator("#crm-soft-delete")).to_have_count(0)


def test_supervisor_soft_deletes_and_restores_the_customer_with_its_accounts(
    page: Page, live_server, customer, screenshots, locale
):
    joana, accounts = customer
    words = WORDS[locale]
    member(SUPERVISOR)
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/admin/holders/holder/{joana.pk}/change/")
    inline = page.locator(".inline-group").first
    expect(inline).to_contain_text("****187-0")
    expect(inline).to_contain_text("341")
    expect(inline).not_to_contain_text(str(accounts[0].pk), use_inner_text=True)  # as seen

    page.click("#crm-soft-delete")
    expect(page.locator("#crm-soft-delete")).to_have_count(0)
    records = page.locator("#crm-customer-records")
    expect(records).to_contain_text(JOANA)
    expect(records).to_contain_text(words["account"])
    expect(records).not_to_contain_text("4398187-0")
    page.fill("#crm-customer-reason", "ticket 4711")
    page.screenshot(
        path=str(screenshots / f"{PREFIX[locale]}customer_soft_delete.png"), full_page=True
    )
    page.click("#crm-customer-confirm")
    expect(page.locator(".messagelist")).to_contain_text(f"{JOANA} {words['deleted']}")
    expect(page.locator(".crm-banner")).to_be_visible()
    settle(page)
    assert not Holder.objects.filter(pk=joana.pk).exists()
    assert not AliasAccount.objects.filter(holder_id=joana.pk).exists()
    entries = AuditEntry.objects.filter(action="soft_delete")
    assert entries.count() == 3
    assert len({entry.details["actionId"] for entry in entries}) == 1

    page.click("#crm-restore")
    expect(page.get_by_role("checkbox")).to_have_count(2)
    for account in accounts:
        expect(page.locator(f"#crm-account-{account.pk}")).to_be_checked()
    page.screenshot(path=str(screenshots / f"{PREFIX[locale]}customer_restore.png"), full_page=True)
    page.click("#crm-customer-confirm")
    expect(page.locator(".messagelist")).to_contain_text(f"{JOANA} {words['restored']}")
    expect(page.locator("#crm-soft-delete")).to_have_text(words["soft_delete"])
    settle(page)
    assert AliasAccount.objects.filter(holder_id=joana.pk).count() == 2


def test_data_protection_officer_reads_names_in_history_audit_dashboard_and_erasure(
    page: Page, live_server, customer, screenshots, locale
):
    joana, _accounts = customer
    words = WORDS[locale]
    with acting_as(Actor("command", "nightly-sync")):  # the actor, whatever ran before
        holder_update(organization_id=ORG_A, holder_id=joana.pk, patch={"externalId": "CUST-10"})
    member(DATA_PROTECTION_OFFICER)
    prefix = PREFIX[locale]
    log_in(page, live_server, "data")
    page.goto(f"{live_server.url}/admin/holders/holder/{joana.pk}/history/")
    expect(page.locator("h1")).to_have_text(f"{words['history']}{JOANA}")
    expect(page.locator(".breadcrumbs")).to_contain_text(JOANA)
    page.screenshot(path=str(screenshots / f"{prefix}holder_history.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/aliases/aliasaccount/")
    first = page.locator("#result_list tbody tr").first
    expect(first).to_contain_text(words["type"])
    expect(first).not_to_contain_text("NATURAL_PERSON")
    page.screenshot(path=str(screenshots / f"{prefix}alias_list_names.png"), full_page=True)

    page.click("#crm-dashboard-link")
    expect(page.locator("#crm-counts")).to_contain_text("Banco Exemplo")
    expect(page.locator("#crm-counts")).not_to_contain_text(str(ORG_A))
    expect(page.locator("#crm-recent-changes")).to_contain_text(JOANA)
    expect(page.locator("#content")).not_to_contain_text("52998224725")
    page.screenshot(path=str(screenshots / f"{prefix}dashboard_names.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/holders/holder/{joana.pk}/hard-delete/")
    expect(page.locator("#content h2").first).to_have_text(JOANA)
    erase_list = page.locator("#erase-list")
    expect(erase_list).to_contain_text(JOANA)
    expect(erase_list).to_contain_text(words["account"])
    expect(erase_list).to_contain_text(words["type"])
    expect(erase_list).not_to_contain_text("NATURAL_PERSON")
    page.screenshot(path=str(screenshots / f"{prefix}hard_delete_names.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/crm/auditentry/")
    update = page.locator("#result_list tbody tr").first  # the newest: the update
    expect(update.locator(".field-record_link a")).to_have_text(JOANA)
    expect(update.locator(".field-who")).to_contain_text(f"{words['command']}: ")
    expect(update.locator(".field-object_type_label")).to_have_text(words["holder"])
    page.screenshot(path=str(screenshots / f"{prefix}audit_names.png"), full_page=True)
