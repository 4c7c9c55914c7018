"""A safer CSV export (issue 28 item 4): documents and account numbers masked by default, in full
only for a role with `export_unmasked_<model>` and with a reason kept on the audit entry; a
confirmation page with the selection's size (a bounded count) before a large export; a readable
audit title ("Export of 2 holders (state Live; a search)")."""

import csv
import io

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from crm.admin import export
from crm.admin.audit import entry_title
from crm.admin.counting import EstimatedCountPaginator
from crm.crypto.encryption import UNREADABLE_TEXT, UnreadableText
from crm.crypto.masking import mask_account, mask_document
from crm.models import AuditEntry
from staff.roles import CLERK, DATA_PROTECTION_OFFICER, SUPERVISOR, ensure_roles
from tests.conftest import ORG_A
from tests.factories import AliasFactory, HolderFactory

HOLDERS = reverse("admin:holders_holder_changelist")
HOLDER_EXPORT = reverse("admin:holders_holder_export")
HOLDER_EXPORT_UNMASKED = reverse("admin:holders_holder_export_unmasked")
ALIASES = reverse("admin:aliases_aliasaccount_changelist")
ALIAS_EXPORT = reverse("admin:aliases_aliasaccount_export")
ALIAS_EXPORT_UNMASKED = reverse("admin:aliases_aliasaccount_export_unmasked")
AUDIT = reverse("admin:crm_auditentry_changelist")
IBAN = "BR1800360305000010009795493C1"


@pytest.fixture
def as_role(client, db):
    def log_in(role: str):
        ensure_roles()  # a transactional test before this one may have flushed the groups
        user = User.objects.create_user(role.split()[0].lower(), password="pw", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def people(db):
    maria = HolderFactory(name="Maria José da Conceição", document="52998224725")
    company = HolderFactory(
        type="LEGAL_PERSON",
        name="Padaria Estrela Ltda",
        document="12345678000195",
        legalPerson={"representative": {"name": "Rita Souza", "document": "11144477735"}},
    )
    alias = AliasFactory(
        holder=maria,
        bankingDetails={"branch": "0001", "account": "4398187-0", "type": "CACC", "iban": IBAN},
        regulatoryFields={"participantDocument": "39053344705"},
        relatedParties=[
            {
                "document": "98765432100",
                "name": "Pedro Alves",
                "role": "PRIMARY_HOLDER",
                "startDate": "2024-01-01",
            }
        ],
    )
    return {"maria": maria, "company": company, "alias": alias}


def read_csv(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse), getattr(response, "status_code", None)
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def exports() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).order_by("created_at"))


# --- masking --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "masked"),
    [
        ("4398187-0", "****187-0"),
        ("12345-6", "**345-6"),
        (IBAN, "*" * 25 + "93C1"),
        ("0001 2345-6", "**** *345-6"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_account_keeps_the_last_four_and_the_punctuation(account, masked):
    assert mask_account(account) == masked


def test_masked_row_masks_each_path_also_inside_lists_and_leaves_the_rest():
    body = {
        "document": "52998224725",
        "bankingDetails": {"account": "4398187-0", "branch": "0001"},
        "relatedParties": [{"document": "98765432100", "name": "Pedro"}, {"name": "no document"}],
        "name": "Maria",
    }
    masks = {
        ("document",): mask_document,
        ("bankingDetails", "account"): mask_account,
        ("bankingDetails", "iban"): mask_account,  # absent: stays absent
        ("relatedParties", "document"): mask_document,
        ("legalPerson", "representative", "document"): mask_document,
    }
    assert export.masked_row(body, masks) == {
        "document": "***.***.247-25",
        "bankingDetails": {"account": "****187-0", "branch": "0001"},
        "relatedParties": [
            {"document": "***.***.321-00", "name": "Pedro"},
            {"name": "no document"},
        ],
        "name": "Maria",
    }
    assert body["document"] == "52998224725"  # the row itself is left as it was
    unreadable = {"document": UnreadableText(UNREADABLE_TEXT)}
    assert export.masked_row(unreadable, masks) == {"document": UNREADABLE_TEXT}


# --- by role --------------------------------------------------------------------------------------


def test_clerk_may_not_export_at_all(as_role, people):
    client = as_role(CLERK)
    assert client.get(HOLDER_EXPORT).status_code == 403
    assert client.get(HOLDER_EXPORT_UNMASKED).status_code == 403
    page = client.get(HOLDERS).text
    assert 'id="crm-export"' not in page and 'id="crm-export-unmasked"' not in page
    assert exports() == []


def test_supervisor_exports_documents_and_account_numbers_masked(as_role, people):
    client = as_role(SUPERVISOR)
    holders = {row["name"]: row for row in read_csv(client.get(HOLDER_EXPORT))}
    assert holders["Maria José da Conceição"]["document"] == "***.***.247-25"
    company = holders["Padaria Estrela Ltda"]
    assert company["document"] == "**.***.***/0001-95"
    assert company["legalPerson.representative.document"] == "***.***.777-35"
    assert company["legalPerson.representative.name"] == "Rita Souza"  # not a number: in full

    [alias] = read_csv(client.get(ALIAS_EXPORT))
    assert alias["document"] == "***.***.247-25"
    assert alias["bankingDetails.account"] == "****187-0"
    assert alias["bankingDetails.iban"] == "*" * 25 + "93C1"
    assert alias["bankingDetails.branch"] == "0001"
    assert alias["regulatoryFields.participantDocument"] == "***.***.447-05"
    assert "98765432100" not in alias["relatedParties"]
    assert "***.***.321-00" in alias["relatedParties"]
    for value in ("52998224725", "4398187-0", IBAN, "39053344705", "11144477735"):
        assert value not in str(holders) + str(alias)
    assert [entry.details["unmasked"] for entry in exports()] == [False, False]
    assert [entry.reason for entry in exports()] == ["", ""]


def test_supervisor_may_not_export_unmasked(as_role, people):
    client = as_role(SUPERVISOR)
    assert client.get(HOLDER_EXPORT_UNMASKED).status_code == 403
    response = client.post(HOLDER_EXPORT_UNMASKED, {"post": "yes", "reason": "audit request"})
    assert response.status_code == 403
    page = client.get(HOLDERS).text
    assert 'id="crm-export-unmasked"' not in page
    assert "export_unmasked_selected" not in page
    response = client.post(
        HOLDERS,
        {
            "action": "export_unmasked_selected",
            "_selected_action": [str(people["maria"].pk)],
            "post": "yes",
            "reason": "audit request",
        },
    )
    assert not isinstance(response, StreamingHttpResponse)
    assert exports() == []


def test_officer_exports_masked_by_default(as_role, people):
    client = as_role(DATA_PROTECTION_OFFICER)
    page = client.get(HOLDERS).text
    assert 'id="crm-export"' in page and 'id="crm-export-unmasked"' in page
    rows = read_csv(client.get(HOLDER_EXPORT))
    assert "52998224725" not in str(rows)
    [entry] = exports()
    assert entry.details["unmasked"] is False


def test_officer_export_unmasked_asks_for_a_reason_first(as_role, people):
    client = as_role(DATA_PROTECTION_OFFICER)
    page = client.get(HOLDER_EXPORT_UNMASKED, {"state": "live"})
    assert page.status_code == 200
    assert 'id="crm-export-reason"' in page.text
    assert "2 holders" in page.text  # the selection's size
    for reason in ("", "   ", "ticket\x00 4711", "x" * (export.REASON_MAX + 1)):
        refused = client.post(
            f"{HOLDER_EXPORT_UNMASKED}?state=live", {"post": "yes", "reason": reason}
        )
        assert refused.status_code == 400, repr(reason)
        assert 'id="crm-reason-error"' in refused.text
        assert not isinstance(refused, StreamingHttpResponse)
    assert exports() == []


def test_officer_exports_unmasked_with_a_reason_and_it_is_audited(as_role, people):
    client = as_role(DATA_PROTECTION_OFFICER)
    response = client.post(
        f"{ALIAS_EXPORT_UNMASKED}?organization={ORG_A}",
        {"post": "yes", "reason": "  ANPD request 2026/17  "},
    )
    [alias] = read_csv(response)
    assert alias["document"] == "52998224725"
    assert alias["bankingDetails.account"] == "4398187-0"
    assert alias["bankingDetails.iban"] == IBAN
    assert alias["regulatoryFields.participantDocument"] == "39053344705"
    assert "98765432100" in alias["relatedParties"]
    [entry] = exports()
    assert entry.actor == "data"
    assert entry.object_type == "alias"
    assert entry.reason == "ANPD request 2026/17"
    assert entry.details == {
        "filters": {"organization": str(ORG_A)},
        "search": False,
        "selection": "filters",
        "unmasked": True,
        "rows": 1,
        "complete": True,
    }


def test_unmasked_export_of_ticked_rows_is_an_action_with_a_reason(as_role, people):
    client = as_role(DATA_PROTECTION_OFFICER)
    ticked = {"action": "export_unmasked_selected", "_selected_action": [str(people["maria"].pk)]}
    page = client.post(HOLDERS, ticked)
    assert page.status_code == 200
    assert 'name="action" value="export_unmasked_selected"' in page.text
    assert f'name="_selected_action" value="{people["maria"].pk}"' in page.text
    assert exports() == []
    assert client.post(HOLDERS, {**ticked, "post": "yes"}).status_code == 400
    rows = read_csv(client.post(HOLDERS, {**ticked, "post": "yes", "reason": "court order 12"}))
    assert [row["document"] for row in rows] == ["52998224725"]
    [entry] = exports()
    assert (entry.details["selection"], entry.details["unmasked"]) == ("ticked", True)
    assert entry.reason == "court order 12"


# --- confirmation before a large export -----------------------------------------------------------


def test_export_over_the_threshold_is_confirmed_with_its_size_first(as_role, people, monkeypatch):
    monkeypatch.setattr(export, "CONFIRM_ROWS", 1)
    client = as_role(SUPERVISOR)
    page = client.get(HOLDER_EXPORT, {"state": "live"})
    assert page.status_code == 200
    assert not isinstance(page, StreamingHttpResponse)
    assert 'id="crm-export-size"' in page.text
    assert "<strong>2 holders</strong>" in page.text
    assert 'id="crm-export-masked"' in page.text
    assert exports() == []  # nothing exported yet
    rows = read_csv(client.post(f"{HOLDER_EXPORT}?state=live", {"post": "yes"}))
    assert len(rows) == 2
    [entry] = exports()
    assert entry.details["filters"] == {"state": "live"}


def test_export_at_the_threshold_downloads_at_once(as_role, people, monkeypatch):
    monkeypatch.setattr(export, "CONFIRM_ROWS", 2)
    assert len(read_csv(as_role(SUPERVISOR).get(HOLDER_EXPORT))) == 2


def test_selecting_across_pages_is_confirmed_too(as_role, people, monkeypatch):
    monkeypatch.setattr(export, "CONFIRM_ROWS", 1)
    client = as_role(SUPERVISOR)
    across = {
        "action": "export_selected",
        "select_across": "1",
        "_selected_action": [str(people["maria"].pk)],
    }
    page = client.post(f"{HOLDERS}?state=live", across)
    assert page.status_code == 200
    assert "<strong>2 holders</strong>" in page.text
    assert 'name="select_across" value="1"' in page.text
    rows = read_csv(client.post(f"{HOLDERS}?state=live", {**across, "post": "yes"}))
    assert len(rows) == 2
    [entry] = exports()
    assert entry.details["selection"] == "filters"


def test_the_size_is_a_bounded_count_never_a_full_one(as_role, people, monkeypatch):
    """Past the list's exact limit the page says "more than N" (SQLite) or "about N" (the
    planner's estimate on PostgreSQL), and the count reads at most the limit + 1 rows."""
    monkeypatch.setattr(export, "EXACT_LIMIT", 1)
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 1)
    client = as_role(SUPERVISOR)
    for ask in (
        lambda: client.get(HOLDER_EXPORT),  # the button: the list's own count
        lambda: client.post(  # the action, across pages: the export's count
            HOLDERS,
            {
                "action": "export_selected",
                "select_across": "1",
                "_selected_action": [str(people["maria"].pk)],
            },
        ),
    ):
        with CaptureQueriesContext(connection) as queries:
            page = ask()
        assert page.status_code == 200
        assert ("more than 1 holders" in page.text) or ("about " in page.text)
        counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
        assert counts
        assert all("LIMIT 2)" in sql.upper() for sql in counts), counts
    assert exports() == []


# --- the audit title ------------------------------------------------------------------------------


def test_export_audit_entry_has_a_readable_title(as_role, people):
    client = as_role(DATA_PROTECTION_OFFICER)
    read_csv(client.get(HOLDER_EXPORT, {"q": "Maria", "state": "live", "type": "NATURAL_PERSON"}))
    read_csv(client.post(f"{ALIAS_EXPORT_UNMASKED}", {"post": "yes", "reason": "ticket 9"}))
    holder_export, alias_export = exports()
    with translation.override("en"):
        assert entry_title(holder_export) == (
            "Export of 1 holder (state Live, type Natural person; a search)"
        )
        assert entry_title(alias_export) == "Export of 1 alias account (full documents)"
    listed = client.get(AUDIT).text
    assert "Export of 1 holder (state Live, type Natural person; a search)" in listed
    assert "None" not in listed
    page = client.get(reverse("admin:crm_auditentry_change", args=[holder_export.pk])).text
    assert page.count("Export of 1 holder (state Live, type Natural person; a search)") >= 2
    assert "export holder None" not in page


def test_export_title_groups_thousands_and_speaks_portuguese(db):
    entry = AuditEntry(
        action=AuditEntry.Action.EXPORT,
        object_type="alias",
        details={"rows": 1234, "selection": "ticked", "complete": False, "filters": {}},
    )
    with translation.override("en"):
        assert entry_title(entry) == "Export of 1,234 alias accounts (ticked rows; cut off)"
    with translation.override("pt-br"):
        title = entry_title(entry)
    assert title.startswith("Exportação de 1.234 ")
    assert "Export of" not in title


@pytest.mark.parametrize(
    ("object_type", "english", "portuguese"),
    [
        (
            "holder",
            "(state Deleted, type Legal person)",
            "(situação Excluídos, tipo Pessoa jurídica)",
        ),
        (
            "alias",
            "(state Deleted, type Legal person)",
            "(situação Excluídos, tipo Pessoa jurídica)",
        ),
    ],
)
def test_export_title_names_the_filters_as_the_list_does(db, object_type, english, portuguese):
    """The holder list filters by a field with choices, the alias list by a filter of fixed
    choices: both read as the list's own filter titles and choice labels, in either language."""
    entry = AuditEntry(
        action=AuditEntry.Action.EXPORT,
        object_type=object_type,
        details={"rows": 2, "filters": {"state": "deleted", "type": "LEGAL_PERSON"}},
    )
    with translation.override("en"):
        assert entry_title(entry).endswith(english)
    with translation.override("pt-br"):
        assert entry_title(entry).endswith(portuguese)


def test_an_unknown_filter_is_named_as_it_was_stored(db):
    entry = AuditEntry(
        action=AuditEntry.Action.EXPORT,
        object_type="holder",
        details={"rows": 2, "filters": {"colour": "blue"}},
    )
    with translation.override("en"):
        assert entry_title(entry) == "Export of 2 holders (colour blue)"
