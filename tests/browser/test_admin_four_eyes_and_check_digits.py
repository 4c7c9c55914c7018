"""Issue 28 items 5 and 6 in Chromium at 1440x900, in English and Portuguese: with
`ERASURE_APPROVAL` on, one data-protection officer asks for a holder's erasure and cannot
approve it; a second one finds it under Erasure requests with its plan and reason and approves
it, which erases the holder with its account. A clerk who types a CPF with wrong check digits
is warned and saves it with "Save anyway". Screenshots go to artifacts/screenshots/
(`make screenshots`: docs/screenshots/; the request page and the warning in Portuguese too)."""

import pytest
from playwright.sync_api import Browser, Page, expect

from aliases.models import AliasAccount
from crm.models import AuditEntry, ErasureRequest, Organization
from holders.models import Holder
from staff.roles import CLERK, DATA_PROTECTION_OFFICER, ensure_roles
from tests.browser.conftest import session_of, settle, staff_member
from tests.conftest import ORG_A
from tests.factories import AliasFactory, HolderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON = "LGPD Art. 18 VI: erasure requested by the customer, ticket 4711"
TEXT = {
    "en-US": {
        "ask": "Ask for the erasure of 2 records",
        "requests": "Erasure requests",
        "approve": "Approve and erase 2 records for good",
        "approved": "Approved: 2 records were erased for good.",
        "warning": "The check digits of this CPF do not match",
        "save_anyway": "Save anyway",
    },
    "pt-BR": {
        "ask": "Solicitar o apagamento de 2 registros",
        "requests": "Solicitações de apagamento",
        "approve": "Aprovar e apagar 2 registros definitivamente",
        "approved": "Aprovado: 2 registros foram apagados definitivamente.",
        "warning": "Os dígitos verificadores deste CPF não conferem",
        "save_anyway": "Salvar mesmo assim",
    },
}


# The pages docs/admin.md also shows in Portuguese.
IN_PORTUGUESE_TOO = {"erasure_request", "check_digits_warning"}


def shot(page: Page, screenshots, name: str, locale: str) -> None:
    if locale == "en-US":
        page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    elif name in IN_PORTUGUESE_TOO:
        page.screenshot(path=str(screenshots / f"pt_br_{name}.png"), full_page=True)


@pytest.fixture
def four_eyes(settings, db):
    settings.ERASURE_APPROVAL = True
    ensure_roles()
    staff_member("dpo-ana", DATA_PROTECTION_OFFICER)
    staff_member("dpo-bia", DATA_PROTECTION_OFFICER)
    holder = HolderFactory(name="Maria José da Conceição", document="52998224725")
    alias = AliasFactory(
        holder=holder, bankingDetails={"branch": "0001", "account": "4398187-0", "type": "CACC"}
    )
    return holder, alias


@pytest.mark.parametrize("locale", ["en-US", "pt-BR"])
def test_two_officers_erase_with_four_eyes(
    browser: Browser, live_server, four_eyes, screenshots, locale
):
    holder, alias = four_eyes
    text = TEXT[locale]
    ana = session_of(browser, live_server, "dpo-ana", locale)
    ana.goto(f"{live_server.url}/admin/holders/holder/{holder.pk}/change/")
    ana.click("#crm-hard-delete")
    expect(ana.locator("#crm-four-eyes")).to_be_visible()
    expect(ana.locator("#crm-confirm-erase")).to_have_value(text["ask"])
    ana.fill("#crm-erase-reason", REASON)
    shot(ana, screenshots, "four_eyes_ask", locale)
    ana.click("#crm-confirm-erase")

    # The requester lands on the request: no approval for them, only a withdrawal.
    expect(ana.locator("#crm-request-own")).to_be_visible()
    expect(ana.locator("#crm-approve")).to_have_count(0)
    expect(ana.locator("#crm-request-reason")).to_have_text(REASON)
    settle(ana)
    assert Holder.objects.filter(pk=holder.pk).exists()

    bia = session_of(browser, live_server, "dpo-bia", locale)
    bia.goto(f"{live_server.url}/admin/")
    bia.get_by_role("link", name=text["requests"]).first.click()
    expect(bia.locator("#result_list tbody tr")).to_have_count(1)
    expect(bia.locator("#result_list")).to_contain_text(REASON)
    shot(bia, screenshots, "erasure_requests", locale)
    bia.locator("#result_list tbody tr a").first.click()
    expect(bia.locator("#erase-list")).to_contain_text(alias.account_id)
    expect(bia.locator("#crm-request-record")).to_contain_text("Maria José da Conceição")
    expect(bia.locator("#crm-approve")).to_have_value(text["approve"])
    shot(bia, screenshots, "erasure_request", locale)
    bia.click("#crm-approve")

    expect(bia.locator(".messagelist")).to_contain_text(text["approved"])
    settle(bia)
    assert not Holder.all_objects.filter(pk=holder.pk).exists()
    assert not AliasAccount.all_objects.filter(pk=alias.pk).exists()
    assert not ErasureRequest.objects.exists()
    assert list(
        AuditEntry.objects.filter(object_id=holder.pk)
        .exclude(action="create")
        .order_by("created_at", "id")
        .values_list("action", "actor")
    ) == [
        ("request_erasure", "dpo-ana"),
        ("approve_erasure", "dpo-bia"),
        ("hard_delete", "dpo-bia"),
    ]
    ana.context.close()
    bia.context.close()


@pytest.mark.parametrize("locale", ["en-US", "pt-BR"])
def test_clerk_is_warned_of_wrong_check_digits_and_saves_anyway(
    browser: Browser, live_server, db, screenshots, locale
):
    ensure_roles()
    staff_member("clerk-caio", CLERK)
    Organization.objects.create(id=ORG_A, label="Banco Exemplo")  # the Add page's picker
    text = TEXT[locale]
    page = session_of(browser, live_server, "clerk-caio", locale)
    page.goto(f"{live_server.url}/admin/holders/holder/add/")
    page.select_option("#id_organization", str(ORG_A))
    page.select_option("#id_type", "NATURAL_PERSON")
    page.fill("#id_document", "529.982.247-24")
    page.fill("#id_name", "Carla Dias")
    page.click("input[name=_save]")

    expect(page.locator(".field-document .errorlist")).to_contain_text(text["warning"])
    checkbox = page.locator("#id_document__save_anyway")
    expect(checkbox).to_be_visible()
    expect(page.locator("label.crm-save-anyway")).to_contain_text(text["save_anyway"])
    shot(page, screenshots, "check_digits_warning", locale)
    settle(page)
    assert not Holder.all_objects.exists()
    checkbox.check()
    page.click("input[name=_save]")

    expect(page.locator(".messagelist .success")).to_be_visible()
    settle(page)
    assert Holder.objects.get().document == "529.982.247-24"
    page.context.close()
