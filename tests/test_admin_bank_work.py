"""Bank work in the back-office (issue 11 item 6): CSV export (own permission, audited, streamed),
the dashboard, the ready-made roles, a permission picker without meaningless entries, English
and Brazilian Portuguese with ISO dates."""

import csv
import importlib
import io
import json
import re

import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.core.signals import request_finished
from django.db import close_old_connections
from django.http import StreamingHttpResponse
from django.urls import reverse

from crm.admin import export
from crm.lifecycle.audit import Actor, acting_as
from crm.models import AuditEntry
from holders.models import Holder
from holders.services import holder_soft_delete
from staff.roles import CLERK, DATA_PROTECTION_OFFICER, ROLES, SUPERVISOR, ensure_roles
from tests.conftest import ORG_A, ORG_B
from tests.factories import AliasFactory, HolderFactory

HOLDERS = reverse("admin:holders_holder_changelist")
HOLDER_EXPORT = reverse("admin:holders_holder_export")
ALIASES = reverse("admin:aliases_aliasaccount_changelist")
ALIAS_EXPORT = reverse("admin:aliases_aliasaccount_export")
DASHBOARD = reverse("crm-dashboard")


def member_of(role: str, username: str | None = None) -> User:
    # The roles are made by a data migration; a transactional test run before this one on the
    # same worker flushes them, so they are put back as `staff.roles` defines them.
    ensure_roles()
    user = User.objects.create_user(username or role.lower().replace(" ", "_"), password="pw")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def as_role(client, db):
    def log_in(role: str):
        client.force_login(member_of(role))
        return client

    return log_in


@pytest.fixture
def people(db):
    maria = HolderFactory(
        name="Maria José da Conceição",
        document="52998224725",
        externalId="EXT-42",
        contact={"primaryEmail": "maria@example.com"},
        addresses={"primary": {"line1": "Rua das Flores, 10", "city": "São Paulo"}},
        metadata={"segment": "retail"},
    )
    pedro = HolderFactory(name="=Pedro Alves", document="98765432100")
    gone = HolderFactory(name="Ana Apagada", document="11144477735")
    holder_soft_delete(organization_id=ORG_A, holder_id=gone.id)
    other = HolderFactory(organization_id=ORG_B, name="Bruno Outro", document="39053344705")
    return {"maria": maria, "pedro": pedro, "gone": gone, "other": other}


def read_csv(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def export_entries():
    return list(AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT))


# --- CSV export --------------------------------------------------------------------------------


def test_export_streams_the_filtered_list_and_audits_it(as_role, people):
    client = as_role(SUPERVISOR)
    response = client.get(HOLDER_EXPORT, {"organization": str(ORG_A), "state": "live"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="holders-')
    rows = read_csv(response)
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {str(people["maria"].id), str(people["pedro"].id)}
    maria = by_id[str(people["maria"].id)]
    assert maria["name"] == "Maria José da Conceição"
    assert maria["document"] == "***.***.247-25"  # masked unless exported unmasked
    assert maria["contact.primaryEmail"] == "maria@example.com"
    assert maria["addresses.primary.line1"] == "Rua das Flores, 10"
    assert maria["organizationId"] == str(ORG_A)
    assert json.loads(maria["metadata"]) == {"segment": "retail"}
    assert maria["deletedAt"] == ""
    # A cell that a spreadsheet would run as a formula is defused.
    assert by_id[str(people["pedro"].id)]["name"] == "'=Pedro Alves"

    [entry] = export_entries()
    assert entry.actor == "supervisor"
    assert entry.actor_type == "staff"
    assert entry.object_type == "holder"
    assert entry.organization_id == ORG_A
    assert entry.details == {
        "filters": {"organization": str(ORG_A), "state": "live"},
        "search": False,
        "selection": "filters",
        "unmasked": False,
        "rows": 2,
        "complete": True,
    }


def test_export_audit_entry_never_holds_a_value(as_role, people):
    client = as_role(SUPERVISOR)
    rows = read_csv(client.get(HOLDER_EXPORT, {"q": "529.982.247-25"}))
    assert [row["id"] for row in rows] == [str(people["maria"].id)]
    [entry] = export_entries()
    assert entry.details["search"] is True
    assert entry.details["rows"] == 1
    stored = json.dumps(
        {f.name: str(getattr(entry, f.name)) for f in AuditEntry._meta.fields}, ensure_ascii=False
    )
    for value in ("529.982.247-25", "52998224725", "Maria", "maria@example.com"):
        assert value not in stored


def test_export_of_ticked_rows_is_an_action(as_role, people):
    client = as_role(SUPERVISOR)
    response = client.post(
        HOLDERS,
        {
            "action": "export_selected",
            "_selected_action": [str(people["pedro"].id), str(people["maria"].id)],
        },
    )
    rows = read_csv(response)
    assert {row["id"] for row in rows} == {str(people["pedro"].id), str(people["maria"].id)}
    [entry] = export_entries()
    assert entry.details["selection"] == "ticked"
    assert entry.details["rows"] == 2


def test_alias_export_has_banking_columns(as_role, db):
    alias = AliasFactory(bankingDetails={"branch": "0001", "account": "12345-6", "type": "CACC"})
    rows = read_csv(as_role(SUPERVISOR).get(ALIAS_EXPORT))
    assert [row["id"] for row in rows] == [str(alias.id)]
    assert rows[0]["bankingDetails.account"] == "**345-6"  # masked unless exported unmasked
    assert rows[0]["accountId"] == alias.account_id
    assert export_entries()[0].object_type == "alias"


def test_export_streams_chunk_by_chunk(people, monkeypatch, rf):
    """Rows are read and written a chunk at a time; a download cut off half-way is audited
    with what was sent."""
    monkeypatch.setattr(export, "CHUNK_ROWS", 1)
    request = rf.get(HOLDER_EXPORT, {"state": "all"})
    request.user = member_of(SUPERVISOR)
    with acting_as(Actor("staff", "supervisor")):
        response = admin.site.get_model_admin(Holder).export_view(request)
    chunks = iter(response.streaming_content)
    header = next(chunks).decode()
    assert header.startswith('\ufeff"id","organizationId","type","document","name"')
    assert next(chunks).count(b"\n") == 1
    assert export_entries() == []
    # The client goes away: the server closes the response (which also signals the end of
    # the request; the test keeps its database connection).
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    [entry] = export_entries()
    assert entry.details["complete"] is False
    assert entry.details["rows"] == 1
    assert entry.actor == "supervisor"


def test_export_needs_its_own_permission(as_role, people):
    client = as_role(CLERK)
    assert client.get(HOLDER_EXPORT).status_code == 403
    page = client.get(HOLDERS)
    assert "export_selected" not in page.text
    assert 'id="crm-export"' not in page.text
    response = client.post(
        HOLDERS, {"action": "export_selected", "_selected_action": [str(people["maria"].id)]}
    )
    assert not isinstance(response, StreamingHttpResponse)
    assert export_entries() == []


def test_export_button_carries_the_current_filters(as_role, people):
    page = as_role(SUPERVISOR).get(HOLDERS, {"organization": str(ORG_A), "state": "deleted"})
    link = re.search(r'href="([^"]+)" id="crm-export"', page.text).group(1)
    assert link.startswith(HOLDER_EXPORT + "?")
    assert f"organization={ORG_A}" in link and "state=deleted" in link


def test_export_cell_defuses_formulas():
    assert export.csv_cell("+5511999990000") == "'+5511999990000"
    assert export.csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert export.csv_cell("plain") == "plain"
    assert export.csv_cell(None) == ""
    assert export.csv_cell({"b": 1, "a": "é"}) == '{"a": "é", "b": 1}'
    # What follows a separator a spreadsheet may split on (`,` `;` tab) is a cell there too.
    assert export.csv_cell("Ana Lima;=cmd|' /C calc'!A0") == "Ana Lima;'=cmd|' /C calc'!A0"
    assert export.csv_cell("a, +1;  @x\t-2") == "a, '+1;  '@x\t'-2"
    assert export.csv_cell("\t=1") == "\t'=1"
    assert export.csv_cell("Rua das Flores, 10; apto 2") == "Rua das Flores, 10; apto 2"


def test_exported_lines_hold_no_formula_whatever_a_spreadsheet_splits_on(as_role, people):
    HolderFactory(name="Ana Lima;=cmd|' /C calc'!A0", document="11144477735")
    HolderFactory(name="Bia\t@SUM(A1),+1", document="39053344705")
    response = as_role(SUPERVISOR).get(HOLDER_EXPORT, {"organization": str(ORG_A)})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.splitlines()
    assert all(line.startswith('"') and line.endswith('"') for line in lines)  # all quoted
    for separator in (",", ";", "\t"):
        # Read as a spreadsheet that honours quotes, and as one that splits naively.
        quoted = [cell for row in csv.reader(lines, delimiter=separator) for cell in row]
        naive = [cell.strip(' "') for line in lines for cell in line.split(separator)]
        for cell in quoted + naive:
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@")), (separator, cell)


# --- roles -------------------------------------------------------------------------------------


ROLES_MIGRATION = importlib.import_module("staff.migrations.0001_roles")
HOLDS_MIGRATION = importlib.import_module("staff.migrations.0002_legal_hold_permissions")
UNMASKED_MIGRATION = importlib.import_module("staff.migrations.0003_export_unmasked_permissions")


def test_roles_migration_creates_the_ready_made_roles(db):
    """The data migration's groups are the roles of `staff.roles` (run here on the live
    registry of apps, as `migrate` runs it on the historical one)."""
    Group.objects.filter(name__in=ROLES).delete()
    ROLES_MIGRATION.create_roles(django_apps, None)
    HOLDS_MIGRATION.grant(django_apps, None)
    UNMASKED_MIGRATION.grant(django_apps, None)
    for role, codes in ROLES.items():
        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=role).permissions.select_related("content_type")
        }
        assert granted == set(codes), role
    assert set(ROLES[CLERK]) < set(ROLES[SUPERVISOR]) < set(ROLES[DATA_PROTECTION_OFFICER])


def test_clerk_edits_but_cannot_soft_delete(as_role, people):
    client = as_role(CLERK)
    maria = people["maria"]
    page = client.get(reverse("admin:holders_holder_change", args=[maria.pk]))
    assert page.status_code == 200
    assert 'id="crm-soft-delete"' not in page.text
    assert 'id="crm-hard-delete"' not in page.text
    assert "soft_delete_selected" not in client.get(HOLDERS).text
    response = client.post(reverse("admin:holders_holder_soft_delete", args=[maria.pk]))
    assert response.status_code == 403
    assert Holder.objects.filter(pk=maria.pk).exists()


def test_supervisor_soft_deletes_but_cannot_erase(as_role, people):
    client = as_role(SUPERVISOR)
    maria = people["maria"]
    page = client.get(reverse("admin:holders_holder_change", args=[maria.pk]))
    assert 'id="crm-soft-delete"' in page.text
    assert 'id="crm-hard-delete"' not in page.text
    client.post(reverse("admin:holders_holder_soft_delete", args=[maria.pk]))
    assert not Holder.objects.filter(pk=maria.pk).exists()
    assert (
        client.get(reverse("admin:holders_holder_hard_delete", args=[maria.pk])).status_code == 403
    )
    assert client.get(reverse("admin:crm_auditentry_changelist")).status_code == 403


def test_data_protection_officer_erases_and_reads_the_audit_trail(as_role, people):
    client = as_role(DATA_PROTECTION_OFFICER)
    maria = people["maria"]
    assert (
        client.get(reverse("admin:holders_holder_hard_delete", args=[maria.pk])).status_code == 200
    )
    assert client.get(reverse("admin:crm_auditentry_changelist")).status_code == 200


# --- permission picker ---------------------------------------------------------------------------


def offered(client, url) -> set[str]:
    page = client.get(url)
    assert page.status_code == 200
    field = re.search(r'<select name="(?:user_)?permissions".*?</select>', page.text, re.S)
    values = re.findall(r'<option value="(\d+)"', field.group(0))
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(pk__in=values).select_related("content_type")
    }


@pytest.mark.parametrize("page", ["admin:auth_group_add", "admin:auth_user_change"])
def test_permission_picker_offers_only_meaningful_permissions(client, db, page):
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(boss)
    url = reverse(page, args=[boss.pk]) if page.endswith("change") else reverse(page)
    codes = offered(client, url)
    for meaningful in (
        "holders.view_holder",
        "holders.change_holder",
        "holders.soft_delete_holder",
        "holders.export_holder",
        "holders.hard_delete_holder",
        "aliases.export_aliasaccount",
        "crm.view_auditentry",
        "crm.add_apitoken",
        "auth.change_user",
    ):
        assert meaningful in codes
    for meaningless in (
        "holders.delete_holder",
        "aliases.delete_aliasaccount",
        "crm.add_auditentry",
        "crm.change_auditentry",
        "crm.delete_auditentry",
        "crm.view_idempotencyrecord",
        "crm.change_keycheck",
        "holders.view_holdernametoken",
        "aliases.add_relatedparty",
        "contenttypes.view_contenttype",
        "sessions.view_session",
        "admin.view_logentry",
    ):
        assert meaningless not in codes


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_counts_per_organization_and_state(as_role, people):
    AliasFactory(holder=people["maria"])
    page = as_role(DATA_PROTECTION_OFFICER).get(DASHBOARD)
    assert page.status_code == 200
    rows = {row.organization_id: row.counts for row in page.context["rows"]}
    # holders live, holders deleted, aliases live, aliases deleted
    assert [c.number for c in rows[str(ORG_A)]] == [2, 1, 1, 0]
    assert [c.number for c in rows[str(ORG_B)]] == [1, 0, 0, 0]
    assert 'id="crm-recent-changes"' in page.text
    assert 'id="crm-recent-erasures"' in page.text


def test_dashboard_lists_recent_erasures(as_role, people, client):
    dpo = as_role(DATA_PROTECTION_OFFICER)
    gone = people["gone"]
    dpo.post(
        reverse("admin:holders_holder_hard_delete", args=[gone.pk]),
        {"post": "yes", "reason": "LGPD Art. 18 VI"},
    )
    dpo.get(DASHBOARD)  # shows (and so consumes) the "… was erased." message
    page = dpo.get(DASHBOARD)
    erasures = page.context["recent_erasures"]
    assert [entry.object_id for entry in erasures] == [gone.id]
    changes = page.context["recent_changes"]
    maria_link = reverse("admin:holders_holder_change", args=[people["maria"].pk])
    # A record that exists is named as staff know it: name, masked document, organization.
    maria = [name for _, url, name in changes if url == maria_link]
    assert maria and maria[0].startswith("Maria José da Conceição · ***.***.247-25 · ")
    # Never a full document, and nothing of the erased record.
    for value in ("52998224725", "Ana Apagada"):
        assert value not in page.text


def test_dashboard_shows_counts_only_to_who_may_not_read_the_trail(as_role, people):
    page = as_role(CLERK).get(DASHBOARD)
    assert page.status_code == 200
    assert 'id="crm-counts"' in page.text
    assert 'id="crm-recent-changes"' not in page.text


def test_dashboard_needs_a_registry_permission(client, db):
    client.force_login(User.objects.create_user("nobody", password="pw", is_staff=True))
    assert client.get(DASHBOARD).status_code == 403


def test_dashboard_counts_are_bounded(as_role, people, monkeypatch):
    from crm.admin import dashboard

    monkeypatch.setattr(dashboard, "COUNT_LIMIT", 1)
    page = as_role(SUPERVISOR).get(DASHBOARD)
    counts = {row.organization_id: row.counts for row in page.context["rows"]}[str(ORG_A)]
    assert counts[0].estimate in {"about", "more than"}
    assert counts[1].estimate == ""


# --- languages and dates -------------------------------------------------------------------------


def test_admin_speaks_brazilian_portuguese_when_the_browser_asks(as_role, people):
    client = as_role(SUPERVISOR)
    page = client.get(HOLDERS, HTTP_ACCEPT_LANGUAGE="pt-BR,pt;q=0.9")
    assert '<html lang="pt-br"' in page.text
    assert "Exportar CSV" in page.text
    assert "Painel" in page.text
    english = client.get(HOLDERS, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="en"' in english.text
    assert "Export CSV" in english.text


def test_dates_are_iso_in_both_languages(as_role, people):
    client = as_role(SUPERVISOR)
    maria = people["maria"]
    url = reverse("admin:holders_holder_change", args=[maria.pk])
    day = maria.created_at.strftime("%Y-%m-%d")
    for language in ("pt-BR", "en-US"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert re.search(rf"{day} \d\d:\d\d", page.text), language
        assert maria.created_at.strftime("%d/%m/%Y") not in page.text
