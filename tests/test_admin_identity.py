"""Records named as staff know them everywhere in the back-office (issue 28 item 2): name,
masked document and organization label (`crm.admin.naming.staff_name`) in messages, titles,
breadcrumbs, History, the audit list, the dashboard and the hard-delete page; accounts by
bank, branch and masked number; lists opening with the name; an organization picker; human
labels for enums. In English and Brazilian Portuguese, by role."""

import re

import pytest
from django.urls import reverse

from aliases.services import alias_soft_delete
from crm.admin.naming import staff_name
from crm.lifecycle.audit import Actor, acting_as
from crm.models import AuditEntry
from holders.models import Holder
from holders.services import holder_update
from staff.roles import CLERK, DATA_PROTECTION_OFFICER, SUPERVISOR
from tests.conftest import ORG_A, ORG_B
from tests.factories import AliasFactory, HolderFactory
from tests.test_admin import form_data
from tests.test_admin_customer_operation import log_in

HOLDERS = reverse("admin:holders_holder_changelist")
ALIASES = reverse("admin:aliases_aliasaccount_changelist")
AUDIT = reverse("admin:crm_auditentry_changelist")
DASHBOARD = reverse("crm-dashboard")
PT = {"HTTP_ACCEPT_LANGUAGE": "pt-BR"}

JOANA = "Joana Prado · ***.***.247-25 · Banco Alfa"
ACCOUNT = "bank 341 branch 0001 account ****187-0"
CONTA = "banco 341 agência 0001 conta ****187-0"


@pytest.fixture
def joana(customer):
    """Joana Prado of Banco Alfa and her first account (341 / 0001 / 4398187-0)."""
    holder, first, _second = customer
    return holder, first


def change_page(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_staff_name_is_name_masked_document_and_organization_label(joana):
    holder, alias = joana
    assert staff_name(holder) == JOANA
    assert staff_name(alias) == f"{ACCOUNT} · {JOANA}"
    # An organization without a label: its shortened id.
    other = HolderFactory(organization_id=ORG_B, name="Rui Dias", document="11144477735")
    assert staff_name(other) == f"Rui Dias · ***.***.777-35 · {str(ORG_B)[:8]}…{str(ORG_B)[-4:]}"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "The holder “{link}” was added successfully."),
        (PT, "O titular “{link}” foi adicionado com sucesso."),
    ],
)
def test_clerk_adds_a_holder_picking_the_organization_by_label(client, joana, headers, expected):
    clerk = log_in(client, CLERK)
    page = clerk.get(reverse("admin:holders_holder_add"), **headers)
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', page.text)
    assert ("", "---------") in options and (str(ORG_A), "Banco Alfa") in options
    data = {
        "organization": str(ORG_A),
        "type": "NATURAL_PERSON",
        "document": "111.444.777-35",
        "name": "Carlos Souza",
        "metadata": "",
    }
    response = clerk.post(reverse("admin:holders_holder_add"), data, follow=True, **headers)
    carlos = Holder.objects.exclude(pk=joana[0].pk).get()
    link = f'<a href="{change_page(carlos)}">Carlos Souza · ***.***.777-35 · Banco Alfa</a>'
    assert messages_of(response) == [expected.format(link=link)]
    assert "Holder " + str(carlos.pk) not in response.text


def test_add_holder_refuses_an_organization_not_offered(client, joana):
    clerk = log_in(client, CLERK)
    data = {"organization": str(ORG_B), "type": "NATURAL_PERSON", "document": "111.444.777-35"}
    response = clerk.post(reverse("admin:holders_holder_add"), {**data, "name": "X"})
    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors


def test_change_message_breadcrumb_and_title_name_the_holder(client, customer):
    holder, first, second = customer
    clerk = log_in(client, CLERK)
    page = clerk.get(change_page(holder))
    breadcrumbs = page.text.split('<div class="breadcrumbs">')[1].split("</div>")[0]
    assert JOANA in breadcrumbs
    assert f"<title>{JOANA} | Change holder" in page.text
    # The account's row in the inline posts its id, as the browser's hidden input does.
    data = {**form_data(page), "externalId": "EXT-1"}
    data.update({"aliases-0-id": str(first.pk), "aliases-1-id": str(second.pk)})
    response = clerk.post(change_page(holder), {**data, "_continue": "1"}, follow=True)
    link = f'<a href="{change_page(holder)}">{JOANA}</a>'
    assert messages_of(response) == [
        f"The holder “{link}” was changed successfully. You may edit it again below."
    ]


@pytest.mark.parametrize(
    ("headers", "account", "done"),
    [
        ({}, ACCOUNT, "was soft-deleted."),
        (PT, CONTA, "foi excluído logicamente."),
    ],
)
def test_supervisor_soft_deletes_an_alias_and_is_told_which(client, joana, headers, account, done):
    _holder, alias = joana
    supervisor = log_in(client, SUPERVISOR)
    response = supervisor.post(
        reverse("admin:aliases_aliasaccount_soft_delete", args=[alias.pk]), follow=True, **headers
    )
    assert messages_of(response) == [f"{account} · {JOANA} {done}"]


def test_holder_page_lists_accounts_by_bank_branch_and_masked_number(client, joana):
    holder, alias = joana
    page = log_in(client, CLERK).get(change_page(holder))
    inline = page.text.split('id="aliases-group"')[1].split("</fieldset>")[0]
    cells = re.findall(r"<td[^>]*>\s*(?:<p>)?(.*?)(?:</p>)?\s*</td>", inline, re.S)
    assert "341" in cells and "0001" in cells
    assert f'<a href="{change_page(alias)}" title="{alias.pk}">****187-0</a>' in inline
    assert "4398187-0" not in page.text and "acc-1" not in inline


def test_lists_open_with_the_name_linking_to_the_record(client, joana):
    holder, alias = joana
    clerk = log_in(client, CLERK)
    holders = clerk.get(HOLDERS).text
    first = re.search(r'<tr>.*?<t[hd] class="field-(\w+)"', holders.split("<tbody>")[1], re.S)
    assert first.group(1) == "holder_name"
    assert f'<a href="{change_page(holder)}" title="{holder.pk}">Joana Prado</a>' in holders
    aliases = clerk.get(ALIASES).text
    first = re.search(r'<tr>.*?<t[hd] class="field-(\w+)"', aliases.split("<tbody>")[1], re.S)
    assert first.group(1) == "alias_link"
    assert f'<a href="{change_page(alias)}" title="{alias.pk}">{ACCOUNT}</a>' in aliases


@pytest.mark.parametrize(("headers", "label"), [({}, "Natural person"), (PT, "Pessoa física")])
def test_alias_list_and_page_show_the_type_by_its_label(client, joana, headers, label):
    _holder, alias = joana
    clerk = log_in(client, CLERK)
    for url in (ALIASES, change_page(alias)):
        text = clerk.get(url, **headers).text
        assert label in text
        shown = re.sub(r'(value|href)="[^"]*"', "", text)  # what the page shows, not its links
        assert "NATURAL_PERSON" not in shown


@pytest.mark.parametrize(("headers", "history"), [({}, "History"), (PT, "Histórico")])
def test_history_is_titled_by_the_name(client, joana, headers, history):
    holder, _alias = joana
    holder_update(organization_id=ORG_A, holder_id=holder.pk, patch={"externalId": "E-2"})
    dpo = log_in(client, DATA_PROTECTION_OFFICER)
    page = dpo.get(reverse("admin:holders_holder_history", args=[holder.pk]), **headers)
    assert f"<h1>{history}: {JOANA}</h1>" in page.text
    breadcrumbs = page.text.split('<div class="breadcrumbs">')[1].split("</div>")[0]
    assert f'<a href="{change_page(holder)}">{JOANA}</a>' in breadcrumbs
    assert f">{holder.pk}<" not in breadcrumbs


@pytest.mark.parametrize(
    ("headers", "actor", "kind"), [({}, "staff", "alias account"), (PT, "equipe", "conta alias")]
)
def test_audit_list_names_records_with_human_labels(client, joana, headers, actor, kind):
    _holder, alias = joana
    supervisor = log_in(client, SUPERVISOR)
    supervisor.post(reverse("admin:aliases_aliasaccount_soft_delete", args=[alias.pk]))
    client.logout()
    page = log_in(client, DATA_PROTECTION_OFFICER).get(AUDIT, **headers)
    row = next(
        row
        for row in page.text.split("<tr")
        if f'href="{change_page(alias)}"' in row and "field-who" in row
    )
    assert f'<td class="field-who">{actor}: ' in row
    assert f'<td class="field-object_type_label">{kind}</td>' in row
    assert (CONTA if headers else ACCOUNT) in row
    assert f"{JOANA}</a>" in row
    entry = AuditEntry.objects.get(object_id=alias.pk, action="soft_delete")
    detail = client.get(reverse("admin:crm_auditentry_change", args=[entry.pk]), **headers)
    assert JOANA in detail.context["subtitle"]


def test_dashboard_shows_organization_labels_and_names(client, joana):
    holder, _alias = joana
    with acting_as(Actor("command", "nightly-sync")):
        holder_update(organization_id=ORG_A, holder_id=holder.pk, patch={"externalId": "E-3"})
    HolderFactory(organization_id=ORG_B, name="Rui Dias", document="11144477735")
    page = log_in(client, DATA_PROTECTION_OFFICER).get(DASHBOARD)
    counts = page.text.split('id="crm-counts"')[1].split("</table>")[0]
    assert f'<span title="{ORG_A}">Banco Alfa</span>' in counts
    assert f"{str(ORG_B)[:8]}…{str(ORG_B)[-4:]}" in counts  # no label: the short id
    changes = page.text.split('id="crm-recent-changes"')[1].split("</table>")[0]
    assert f'<a href="{change_page(holder)}" title="{holder.pk}">{JOANA}</a>' in changes
    assert "command: nightly-sync" in changes  # the actor type by its label
    assert "comando: nightly-sync" in client.get(DASHBOARD, **PT).text


def test_clerk_dashboard_shows_labels_too(client, joana):
    page = log_in(client, CLERK).get(DASHBOARD, **PT)
    assert "Banco Alfa" in page.text.split('id="crm-counts"')[1]


@pytest.mark.parametrize("headers", [{}, PT])
def test_hard_delete_page_names_the_holder_and_its_accounts(client, joana, headers):
    holder, _alias = joana
    deleted = AliasFactory(
        holder=holder, accountId="acc-old", bankingDetails={"bankId": "1", "account": "99887766"}
    )
    alias_soft_delete(organization_id=ORG_A, holder_id=holder.pk, alias_id=deleted.pk)
    dpo = log_in(client, DATA_PROTECTION_OFFICER)
    page = dpo.get(reverse("admin:holders_holder_hard_delete", args=[holder.pk]), **headers)
    account = CONTA if headers else ACCOUNT
    old = "banco 1 conta ****7766" if headers else "bank 1 account ****7766"
    assert page.context["subtitle"] == JOANA
    details = [row["details"] for row in page.context["rows"]]
    kind = "tipo Pessoa física" if headers else "type Natural person"
    assert details[0] == f"{JOANA} · {kind}"  # a choice by its label, not NATURAL_PERSON
    assert any(detail.startswith(f"{account} · {JOANA}") for detail in details)
    assert any(detail.startswith(f"{old} · {JOANA}") for detail in details)
    assert "52998224725" not in page.text and "4398187-0" not in page.text
    response = dpo.post(
        reverse("admin:holders_holder_hard_delete", args=[holder.pk]),
        {"post": "yes", "reason": "LGPD Art. 18 VI"},
        follow=True,
        **headers,
    )
    erased = "foi apagado." if headers else "was erased."
    assert messages_of(response) == [f"{JOANA} {erased}"]
