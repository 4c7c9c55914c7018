"""The back-office as each role uses it, in a real browser (issue 11 items 6-8): a supervisor
downloads a CSV export, a clerk is refused it and cannot soft-delete, the dashboard, the
ready-made groups, the Portuguese interface, the aliases near the top of the holder page. Each
test saves screenshots of the pages it walks under artifacts/screenshots/ (`make screenshots`:
docs/screenshots/, shown in docs/admin.md).

The roles are groups made by a data migration; the flush after each transactional test empties
the tables, so the fixture puts them back as `staff.roles` defines them (test_admin_bank_work
checks what the migration itself created)."""

import csv
import io
import pathlib

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from aliases.services import alias_soft_delete
from crm.models import AuditEntry
from holders.models import Holder
from holders.services import holder_soft_delete
from staff.roles import CLERK, DATA_PROTECTION_OFFICER, ROLES, SUPERVISOR, ensure_roles
from tests.conftest import ORG_A, ORG_B
from tests.factories import AliasFactory, HolderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "s3cret-pass"


def member(role: str) -> User:
    user = User.objects.create_user(role.split()[0].lower(), password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def log_in(page: Page, live_server, username: str, screenshot=None) -> None:
    page.goto(f"{live_server.url}/admin/")
    if screenshot:
        page.screenshot(path=str(screenshot), full_page=True)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()


def csv_rows(download) -> list[dict]:
    text = pathlib.Path(download.path()).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")


@pytest.fixture
def registry(db):
    ensure_roles()
    maria = HolderFactory(
        name="Maria José da Conceição",
        document="52998224725",
        externalId="CUST-42",
        contact={"primaryEmail": "maria@example.com", "mobilePhone": "+55 11 99999-0000"},
        addresses={
            "primary": {
                "line1": "Avenida Brigadeiro Faria Lima, 3477, 14º andar, conjunto 141",
                "zipCode": "04538-133",
                "city": "São Paulo",
                "state": "SP",
                "country": "BR",
            }
        },
        naturalPerson={"birthDate": "1980-01-02", "motherName": "Ana Conceição"},
        metadata={"segment": "retail"},
    )
    for number in ("12345-6", "98765-4"):
        AliasFactory(
            holder=maria,
            bankingDetails={
                "branch": "0001",
                "account": number,
                "type": "CACC",
                "iban": "BR1800360305000010009795493C1",
            },
        )
    HolderFactory(type="LEGAL_PERSON", name="Padaria Estrela Ltda", document="12345678000195")
    HolderFactory(name="Pedro Alves", document="98765432100", externalId="CUST-7")
    gone = HolderFactory(name="Ana Antiga", document="11144477735")
    holder_soft_delete(organization_id=ORG_A, holder_id=gone.id)
    other = HolderFactory(organization_id=ORG_B, name="Bruno Lima", document="39053344705")
    closed = AliasFactory(holder=other)
    alias_soft_delete(organization_id=ORG_B, holder_id=other.id, alias_id=closed.id)
    return {"maria": maria, "gone": gone}


def test_supervisor_exports_the_list_as_csv(page: Page, live_server, registry, screenshots):
    member(SUPERVISOR)
    log_in(page, live_server, "supervisor", screenshot=screenshots / "login.png")
    page.goto(f"{live_server.url}/admin/holders/holder/?organization={ORG_A}")
    expect(page.locator("#crm-export")).to_be_visible()
    page.screenshot(path=str(screenshots / "holder_list.png"), full_page=True)

    # The button: the list as filtered now.
    with page.expect_download() as download_info:
        page.click("#crm-export")
    download = download_info.value
    assert download.suggested_filename.startswith("holders-")
    rows = csv_rows(download)
    assert {row["name"] for row in rows} == {
        "Maria José da Conceição",
        "Padaria Estrela Ltda",
        "Pedro Alves",
    }

    # The action: ticked rows.
    page.locator("#result_list tbody tr").first.locator("input.action-select").check()
    page.select_option("select[name=action]", "export_selected")
    page.screenshot(path=str(screenshots / "export_action.png"), full_page=True)
    with page.expect_download() as download_info:
        page.click("button[name=index]")
    rows = csv_rows(download_info.value)
    assert len(rows) == 1
    settle(page)
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).order_by("created_at")
    assert [(e.actor, e.details["rows"], e.details["selection"]) for e in entries] == [
        ("supervisor", 3, "filters"),
        ("supervisor", 1, "ticked"),
    ]


def test_clerk_edits_but_may_not_export_or_soft_delete(page: Page, live_server, registry):
    member(CLERK)
    maria = registry["maria"]
    log_in(page, live_server, "clerk")
    page.goto(f"{live_server.url}/admin/holders/holder/")
    expect(page.locator("#result_list")).to_contain_text("Maria José da Conceição")
    expect(page.locator("#crm-export")).to_have_count(0)
    options = page.locator("select[name=action] option").all_inner_texts()
    assert not any("CSV" in option or "Soft-delete" in option for option in options)

    page.goto(f"{live_server.url}/admin/holders/holder/{maria.pk}/change/")
    expect(page.locator("#id_contact__primaryEmail")).to_have_value("maria@example.com")
    expect(page.locator("#crm-soft-delete")).to_have_count(0)
    expect(page.locator("#crm-hard-delete")).to_have_count(0)
    page.fill("#id_contact__primaryEmail", "maria.nova@example.com")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("changed successfully")

    response = page.goto(f"{live_server.url}/admin/holders/holder/export/")
    assert response.status == 403
    settle(page)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()
    assert Holder.objects.filter(pk=maria.pk).exists()


def test_data_protection_officer_dashboard_erasure_and_audit(
    page: Page, live_server, registry, screenshots
):
    member(DATA_PROTECTION_OFFICER)
    gone = registry["gone"]
    log_in(page, live_server, "data")

    # Erase the soft-deleted holder through the confirmation page.
    page.goto(f"{live_server.url}/admin/holders/holder/{gone.pk}/change/")
    page.click("#crm-hard-delete")
    expect(page.locator("#erase-list")).to_contain_text(str(gone.pk))
    page.fill("#crm-erase-reason", "LGPD Art. 18 VI: erasure requested, ticket 4712")
    page.screenshot(path=str(screenshots / "hard_delete_confirmation.png"), full_page=True)
    page.click("#crm-confirm-erase")
    expect(page.locator(".messagelist")).to_contain_text("erased")

    page.click("#crm-dashboard-link")
    # Organizations without a label: their short id, the full one in the tooltip.
    counts = page.locator("#crm-counts")
    expect(counts.locator(f"[title='{ORG_A}']")).to_have_text(f"{str(ORG_A)[:8]}…{str(ORG_A)[-4:]}")
    expect(counts.locator(f"[title='{ORG_B}']")).to_have_count(1)
    expect(page.locator(f"#crm-recent-erasures [title='{gone.pk}']")).to_have_count(1)
    expect(page.locator("#crm-recent-changes")).to_contain_text("Create")
    # Records are named as staff know them; never a full document, nothing of the erased one.
    expect(page.locator("#crm-recent-changes")).to_contain_text(
        "Maria José da Conceição · ***.***.247-25"
    )
    expect(page.locator("#content")).not_to_contain_text("52998224725")
    expect(page.locator("#content")).not_to_contain_text("Ana Antiga")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440  # no sideways scroll
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/crm/auditentry/")
    expect(page.locator("#result_list")).to_contain_text("Hard Delete")
    page.screenshot(path=str(screenshots / "audit_list.png"), full_page=True)


def test_ready_made_groups_and_the_permission_picker(
    page: Page, live_server, registry, screenshots
):
    User.objects.create_superuser("boss", "boss@example.com", PASSWORD)
    log_in(page, live_server, "boss")
    page.goto(f"{live_server.url}/admin/auth/group/")
    for role in ROLES:
        expect(page.locator("#result_list")).to_contain_text(role)
    page.locator("#result_list a", has_text=CLERK).click()
    # The two-box picker is drawn by the admin's JavaScript once the page has loaded.
    expect(page.locator("#id_permissions_to option")).to_have_count(len(ROLES[CLERK]))
    chosen = page.locator("#id_permissions_to option").all_inner_texts()
    assert any("Can change holder" in option for option in chosen)
    assert not any("soft-delete" in option for option in chosen)
    offered = page.locator("#id_permissions_from option").all_inner_texts()
    assert any("Can export holders to CSV" in option for option in offered)
    assert any("Can erase a holder for good" in option for option in offered)
    for meaningless in ("content type", "session", "log entry", "idempotency", "Can delete holder"):
        assert not any(meaningless in option for option in chosen + offered), meaningless
    page.screenshot(path=str(screenshots / "group_permissions.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/crm/apitoken/")
    page.screenshot(path=str(screenshots / "token_list.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/holders/holder/add/")
    expect(page.locator("#id_addresses__primary__country")).to_contain_text("Brazil (BR)")
    page.screenshot(path=str(screenshots / "holder_add.png"), full_page=True)


def test_holder_page_shows_aliases_near_the_top(page: Page, live_server, registry, screenshots):
    member(SUPERVISOR)
    maria = registry["maria"]
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/admin/holders/holder/{maria.pk}/change/")
    inline = page.locator(".inline-group").first
    expect(inline).to_contain_text("Alias accounts")
    inline_top = inline.bounding_box()["y"]
    contact_top = page.locator("#fieldset-0-1-heading").bounding_box()["y"]
    assert inline_top < contact_top
    assert inline_top < 900  # in the first screenful
    line1 = page.locator("#id_addresses__primary__line1")
    assert line1.bounding_box()["width"] >= 400  # a long street address fits
    page.screenshot(path=str(screenshots / "holder_change.png"), full_page=True)

    page.locator(".inline-group a[href*='/aliasaccount/']").first.click()
    iban = page.locator("#id_bankingDetails__iban")
    expect(iban).to_have_value("BR1800360305000010009795493C1")
    assert iban.bounding_box()["width"] >= 400
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440  # no sideways scroll
    page.screenshot(path=str(screenshots / "alias_change.png"), full_page=True)


def test_portuguese_interface_from_the_browser_language(
    browser, live_server, registry, screenshots
):
    member(SUPERVISOR)
    maria = registry["maria"]
    context = browser.new_context(locale="pt-BR", viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        log_in(page, live_server, "supervisor")
        page.goto(f"{live_server.url}/admin/holders/holder/")
        expect(page.locator("html")).to_have_attribute("lang", "pt-br")
        expect(page.locator("#crm-export")).to_have_text("Exportar CSV")
        expect(page.locator("#changelist-filter")).to_contain_text("situação")
        expect(page.locator("#user-tools")).to_contain_text("Painel")
        page.screenshot(path=str(screenshots / "pt_br_holder_list.png"), full_page=True)
        page.goto(f"{live_server.url}/admin/holders/holder/{maria.pk}/change/")
        expect(page.locator("#fieldset-0-0-heading")).to_have_text("Identificação")
        expect(page.locator("#id_addresses__primary__country")).to_contain_text("Brasil (BR)")
        created = page.locator(".field-created_at .readonly").inner_text()
        assert created.startswith(maria.created_at.strftime("%Y-%m-%d"))
        page.screenshot(path=str(screenshots / "pt_br_holder_change.png"), full_page=True)
    finally:
        context.close()
