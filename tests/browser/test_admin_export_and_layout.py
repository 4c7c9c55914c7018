"""Issue 28 items 4 and 8 in Chromium at 1440x900: every admin list fits its area without a
horizontal scroll (English and Portuguese), the translation script comes from the browser's
cache on the second page, a large export is confirmed with its size first, and a
data-protection officer's export with full documents asks for a reason that the audit trail
then shows. Screenshots go to artifacts/screenshots/ (`make screenshots`: docs/screenshots/)."""

import csv
import io
import pathlib

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from crm.access.auth import issue_token
from crm.admin import export
from crm.lifecycle import approval
from crm.models import ApiToken, AuditEntry, Organization
from events.models import OutboxEvent
from staff.roles import DATA_PROTECTION_OFFICER, SUPERVISOR, ensure_roles
from tests.browser.conftest import settle
from tests.conftest import ORG_A, ORG_B
from tests.factories import AliasFactory, HolderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "s3cret-pass"
LISTS = (
    "/admin/holders/holder/",
    "/admin/aliases/aliasaccount/",
    "/admin/crm/auditentry/",
    "/admin/events/outboxevent/",
    "/admin/crm/apitoken/",
    "/admin/crm/organization/",
    "/admin/crm/erasurerequest/",
    "/admin/auth/user/",
    "/admin/auth/group/",
    "/admin/staff/loginrecord/",  # django-axes' access log, under its translated proxy
)
# Each column's header and width, to say which one pushed a list past its area.
COLUMN_WIDTHS = """() => [...document.querySelectorAll('#result_list thead th')].map(
    (th) => `${th.className}: ${Math.round(th.getBoundingClientRect().width)}`)"""
# How wide the table is against the area it is shown in, and the page against the window.
WIDTHS = """() => {
    const area = document.querySelector('#changelist .results');
    const table = document.querySelector('#result_list');
    return {area: area.clientWidth, areaScroll: area.scrollWidth, table: table.scrollWidth,
            page: document.documentElement.scrollWidth, window: window.innerWidth};
}"""


@pytest.fixture
def wide_registry(db):
    """Long names and labels, UUID account ids, and a row in every admin list."""
    ensure_roles()
    Organization.objects.create(id=ORG_A, label="Banco Exemplo S.A. — Agência Central de São Paulo")
    maria = HolderFactory(
        name="Maria José da Conceição de Albuquerque Cavalcanti Sobrinho",
        document="52998224725",
    )
    company = HolderFactory(
        type="LEGAL_PERSON",
        name="Padaria e Confeitaria Estrela do Norte Comércio de Alimentos Ltda",
        document="12345678000195",
    )
    for holder in (maria, company):
        AliasFactory(
            holder=holder,
            bankingDetails={
                "branch": "0001",
                "account": "4398187-0",
                "type": "CACC",
                "iban": "BR1800360305000010009795493C1",
            },
        )
    HolderFactory(organization_id=ORG_B, name="Bruno Lima", document="39053344705")
    for holder in (maria, company):
        OutboxEvent.objects.create(
            type="holder.created",
            aggregate_kind="holder",
            aggregate_id=holder.id,
            organization_id=holder.organization_id,
            payload={},
            occurred_at=timezone.now(),
            attempts=3,
            next_attempt_at=timezone.now(),
        )
    token = ApiToken(
        name="Ledger integration (production, Banco Exemplo)",
        organizations=[str(ORG_A)],
        permissions=["holders:read"],
    )
    issue_token(token)
    token.save()
    AuditEntry.objects.create(
        actor_type="staff",
        actor="archivist",
        action=AuditEntry.Action.EXPORT,
        object_type="holder",
        organization_id=ORG_A,
        details={"filters": {"state": "live"}, "search": True, "rows": 12345, "complete": True},
    )
    approval.erasure_request_create(
        obj=company,
        reason="LGPD Art. 18 VI, protocol 2026/000123",
        requested_by="dpo-central",
    )
    User.objects.create_superuser("boss", "boss@example.com", PASSWORD)
    return {"maria": maria}


def log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_be_visible()  # in either language


def member(role: str) -> User:
    user = User.objects.create_user(role.split()[0].lower(), password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def csv_rows(download) -> list[dict]:
    text = pathlib.Path(download.path()).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("locale", ["en-US", "pt-BR"])
def test_every_list_fits_1440_pixels(
    browser: Browser, live_server, wide_registry, screenshots, locale
):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
    page = context.new_page()
    try:
        log_in(page, live_server, "boss")
        for url in LISTS:
            page.goto(f"{live_server.url}{url}")
            expect(page.locator("#result_list tbody tr").first).to_be_visible()
            widths = page.evaluate(WIDTHS)
            columns = page.evaluate(COLUMN_WIDTHS)  # said when a list is too wide
            assert widths["table"] <= widths["area"], (url, widths, columns)
            assert widths["areaScroll"] <= widths["area"], (url, widths)
            assert widths["page"] <= widths["window"] == 1440, (url, widths)
        if locale == "en-US":
            page.goto(f"{live_server.url}/admin/aliases/aliasaccount/")
            page.screenshot(path=str(screenshots / "alias_list.png"), full_page=True)
            page.goto(f"{live_server.url}/admin/crm/auditentry/")
            expect(page.locator("#result_list")).to_contain_text(
                "Export of 12,345 holders (state Live; a search)"
            )
        settle(page)
    finally:
        context.close()


def test_the_translation_script_is_cached_by_the_browser(page: Page, live_server, wide_registry):
    catalogs = []
    page.on(
        "response",
        lambda response: catalogs.append(response) if "/admin/jsi18n/" in response.url else None,
    )
    log_in(page, live_server, "boss")
    page.goto(f"{live_server.url}/admin/holders/holder/")
    settle(page)
    assert catalogs, "the list loads the translation script"
    headers = catalogs[0].all_headers()
    assert "max-age=86400" in headers["cache-control"]
    assert "private" in headers["cache-control"]
    assert headers["etag"]
    page.goto(f"{live_server.url}/admin/aliases/aliasaccount/")
    settle(page)
    # The second page takes it from the cache: nothing came over the network for it.
    fetched = page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter(e => e.name.includes('/admin/jsi18n/'))
            .map(e => ({transfer: e.transferSize, body: e.decodedBodySize}))"""
    )
    assert fetched and all(e["transfer"] == 0 and e["body"] > 0 for e in fetched), fetched


def test_a_large_export_is_confirmed_with_its_size_first(
    page: Page, live_server, wide_registry, screenshots, monkeypatch
):
    monkeypatch.setattr(export, "CONFIRM_ROWS", 1)
    member(SUPERVISOR)
    log_in(page, live_server, "supervisor")
    page.goto(f"{live_server.url}/admin/holders/holder/?organization={ORG_A}")
    page.click("#crm-export")
    expect(page.locator("#crm-export-size")).to_contain_text("This export holds 2 holders.")
    expect(page.locator("#crm-export-masked")).to_be_visible()
    expect(page.locator("#crm-export-full")).to_have_count(0)
    page.screenshot(path=str(screenshots / "export_confirmation.png"), full_page=True)
    settle(page)
    assert not AuditEntry.objects.filter(action="export", actor="supervisor").exists()
    with page.expect_download() as download_info:
        page.click("#crm-confirm-export")
    rows = csv_rows(download_info.value)
    assert {row["document"] for row in rows} == {"**.***.***/0001-95", "***.***.247-25"}
    settle(page)
    [entry] = AuditEntry.objects.filter(action="export", actor="supervisor")
    assert (entry.details["rows"], entry.details["unmasked"]) == (2, False)


def test_officer_exports_full_documents_with_a_reason(
    page: Page, live_server, wide_registry, screenshots
):
    member(DATA_PROTECTION_OFFICER)
    log_in(page, live_server, "data")
    page.goto(f"{live_server.url}/admin/aliases/aliasaccount/?organization={ORG_A}")
    page.click("#crm-export-unmasked")
    expect(page.locator("#crm-export-full")).to_contain_text("full documents and account numbers")
    page.fill("#crm-export-reason", "ANPD request 2026/17")
    page.screenshot(path=str(screenshots / "export_unmasked_reason.png"), full_page=True)
    page.fill("#crm-export-reason", "")
    page.click("#crm-confirm-export")  # the browser refuses: the reason is required
    settle(page)
    assert page.eval_on_selector("#crm-export-reason", "el => !el.validity.valid")
    page.fill("#crm-export-reason", "ANPD request 2026/17")
    with page.expect_download() as download_info:
        page.click("#crm-confirm-export")
    rows = csv_rows(download_info.value)
    assert {row["bankingDetails.account"] for row in rows} == {"4398187-0"}
    assert "52998224725" in {row["document"] for row in rows}
    settle(page)
    entry = AuditEntry.objects.get(action="export", actor="data")
    assert entry.reason == "ANPD request 2026/17"
    assert entry.details["unmasked"] is True
    page.goto(f"{live_server.url}/admin/crm/auditentry/?action=export")
    expect(page.locator("#result_list")).to_contain_text(
        "Export of 2 alias accounts (full documents)"
    )
    expect(page.locator("#result_list")).to_contain_text("ANPD request 2026/17")
