"""A customer soft-deleted and restored as one operation (issue 28 item 3): the holder page's
"Soft delete…" / "Restore…" open a page listing the accounts that go or come back with it, then
write everything in one transaction audited as one action, through the services (versions and
change events as on every path); the API keeps CRM-0017; the list action's refusal names the
holder and links to that page."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from aliases.models import AliasAccount
from aliases.services import alias_soft_delete
from crm.models import AuditEntry, RecordVersion
from events.models import OutboxEvent
from holders.models import Holder
from registry import services
from staff.roles import CLERK, DATA_PROTECTION_OFFICER, SUPERVISOR
from tests.conftest import ORG_A
from tests.factories import AliasFactory, HolderFactory
from tests.test_admin_bank_work import member_of

HOLDERS = reverse("admin:holders_holder_changelist")


def soft_delete_page(holder) -> str:
    return reverse("admin:holders_holder_customer_soft_delete", args=[holder.pk])


def restore_page(holder) -> str:
    return reverse("admin:holders_holder_customer_restore", args=[holder.pk])


def change_page(holder) -> str:
    return reverse("admin:holders_holder_change", args=[holder.pk])


def log_in(client, role: str):
    client.force_login(member_of(role))
    return client


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("created_at", "id"))


@pytest.mark.parametrize("role", [SUPERVISOR, DATA_PROTECTION_OFFICER])
def test_customer_soft_delete_page_lists_what_goes_then_deletes_all_as_one_action(
    client, customer, role, settings
):
    settings.EVENTS_ENABLED = True
    holder, first, second = customer
    staff = log_in(client, role)
    page = staff.get(soft_delete_page(holder))
    assert page.status_code == 200
    # The holder and every live account, as staff know them; no full number or document.
    assert "Joana Prado · ***.***.247-25 · Banco Alfa" in page.text
    assert "bank 341 branch 0001 account ****187-0" in page.text
    assert "bank 341 branch 0002 account ****321-9" in page.text
    assert "4398187-0" not in page.text and "52998224725" not in page.text
    assert "Yes, soft-delete the holder and 2 alias accounts" in page.text

    accounts = [str(first.pk), str(second.pk)]
    response = staff.post(
        soft_delete_page(holder), {"post": "yes", "account": accounts, "reason": "ticket 12"}
    )
    assert response.status_code == 302
    assert response["Location"] == change_page(holder)
    assert not Holder.objects.filter(pk=holder.pk).exists()
    assert not AliasAccount.objects.filter(holder_id=holder.pk).exists()
    # One action: three entries (two accounts, then the holder) sharing one action id.
    written = entries(AuditEntry.Action.SOFT_DELETE)
    assert [(e.object_type, e.object_id) for e in written] == [
        ("alias", first.pk),
        ("alias", second.pk),
        ("holder", holder.pk),
    ]
    assert {e.details["actionId"] for e in written} == {written[0].details["actionId"]}
    assert {e.details["action"] for e in written} == {services.SOFT_DELETE}
    assert {e.details["of"] for e in written} == {f"holder {holder.pk}"}
    assert {e.reason for e in written} == {"ticket 12"}
    assert {e.actor for e in written} == {User.objects.get().username}
    # The write path's own rows: a version and a change event for each record.
    for record in (holder, first, second):
        assert RecordVersion.objects.filter(object_id=record.pk, action="soft_delete").exists()
        assert OutboxEvent.objects.filter(
            aggregate_id=record.pk, type__endswith=".deleted"
        ).exists()
    # Staff are told by name.
    message = staff.get(change_page(holder)).text
    assert (
        "Joana Prado · ***.***.247-25 · Banco Alfa was soft-deleted with 2 alias account(s)."
        in message
    )


def test_customer_restore_brings_back_the_accounts_deleted_with_it(client, customer):
    holder, first, second = customer
    # An account deleted on its own earlier is not part of the customer's deletion.
    third = AliasFactory(holder=holder, accountId="acc-3", bankingDetails={"account": "1111222-3"})
    alias_soft_delete(organization_id=ORG_A, holder_id=holder.pk, alias_id=third.pk)
    services.customer_soft_delete(
        organization_id=ORG_A, holder_id=holder.pk, alias_ids=[first.pk, second.pk]
    )
    staff = log_in(client, SUPERVISOR)
    page = staff.get(restore_page(holder))
    assert page.status_code == 200
    boxes = {account["id"]: account["checked"] for account in page.context["accounts"]}
    assert boxes == {first.pk: True, second.pk: True, third.pk: False}
    assert f'id="crm-account-{first.pk}" checked' in page.text
    assert f'id="crm-account-{third.pk}">' in page.text

    response = staff.post(
        restore_page(holder), {"post": "yes", "account": [str(first.pk), str(second.pk)]}
    )
    assert response["Location"] == change_page(holder)
    assert Holder.objects.filter(pk=holder.pk).exists()
    live = set(AliasAccount.objects.filter(holder_id=holder.pk).values_list("pk", flat=True))
    assert live == {first.pk, second.pk}
    restored = entries(AuditEntry.Action.RESTORE)
    assert [e.object_id for e in restored] == [holder.pk, first.pk, second.pk]
    assert len({e.details["actionId"] for e in restored}) == 1
    assert {e.details["action"] for e in restored} == {services.RESTORE}


def test_customer_operation_is_one_transaction(client, customer):
    """An account added after the page was shown: the holder's soft delete is refused
    (CRM-0017) and the accounts listed on the page are not deleted either."""
    holder, first, second = customer
    staff = log_in(client, SUPERVISOR)
    AliasFactory(holder=holder, accountId="acc-late")
    response = staff.post(
        soft_delete_page(holder),
        {"post": "yes", "account": [str(first.pk), str(second.pk)]},
        follow=True,
    )
    assert "Joana Prado · ***.***.247-25 · Banco Alfa was not deleted" in response.text
    assert "CRM-0017" in response.text
    assert Holder.objects.filter(pk=holder.pk).exists()
    assert AliasAccount.objects.filter(holder_id=holder.pk).count() == 3
    assert not entries(AuditEntry.Action.SOFT_DELETE)
    assert not RecordVersion.objects.filter(action="soft_delete").exists()


def test_customer_restore_refuses_another_holders_account(client, customer):
    holder, first, _second = customer
    other = AliasFactory(holder=HolderFactory(), accountId="acc-other")
    alias_soft_delete(organization_id=ORG_A, holder_id=other.holder_id, alias_id=other.pk)
    services.customer_soft_delete(
        organization_id=ORG_A, holder_id=holder.pk, alias_ids=[first.pk, _second.pk]
    )
    staff = log_in(client, SUPERVISOR)
    response = staff.post(
        restore_page(holder), {"post": "yes", "account": [str(other.pk)]}, follow=True
    )
    assert "CRM-0008" in response.text
    assert not Holder.objects.filter(pk=holder.pk).exists()  # rolled back with the refusal
    assert not entries(AuditEntry.Action.RESTORE)


def test_the_clerk_may_not_open_the_customer_pages(client, customer):
    holder, _first, _second = customer
    clerk = log_in(client, CLERK)
    assert clerk.get(soft_delete_page(holder)).status_code == 403
    assert clerk.post(soft_delete_page(holder), {"post": "yes"}).status_code == 403
    assert Holder.objects.filter(pk=holder.pk).exists()
    page = clerk.get(change_page(holder)).text
    assert 'id="crm-soft-delete"' not in page


def test_holder_page_opens_the_confirmation_pages(client, customer):
    holder, first, second = customer
    staff = log_in(client, SUPERVISOR)
    assert f'href="{soft_delete_page(holder)}"' in staff.get(change_page(holder)).text
    services.customer_soft_delete(
        organization_id=ORG_A, holder_id=holder.pk, alias_ids=[first.pk, second.pk]
    )
    assert f'href="{restore_page(holder)}"' in staff.get(change_page(holder)).text
    # Asking for what is already done goes back to the holder's page.
    assert staff.get(soft_delete_page(holder))["Location"] == change_page(holder)


def test_list_action_refusal_names_the_holder_and_links_to_the_customer_page(client, customer):
    holder, _first, _second = customer
    staff = log_in(client, SUPERVISOR)
    response = staff.post(
        HOLDERS,
        {"action": "soft_delete_selected", "_selected_action": [str(holder.pk)]},
        follow=True,
    )
    assert (
        "Joana Prado · ***.***.247-25 · Banco Alfa was not deleted: it has live alias "
        "accounts (CRM-0017)."
    ) in response.text
    assert f'<a href="{soft_delete_page(holder)}">Soft-delete it with its accounts…</a>' in (
        response.text
    )
    assert Holder.objects.filter(pk=holder.pk).exists()


def test_the_api_keeps_crm_0017(customer, api):
    holder, _first, _second = customer
    response = api.delete(f"/v1/holders/{holder.pk}")
    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0017"
    assert Holder.objects.filter(pk=holder.pk).exists()


def test_customer_pages_in_portuguese(client, customer):
    holder, first, second = customer
    staff = log_in(client, SUPERVISOR)
    page = staff.get(soft_delete_page(holder), HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert "Excluir logicamente este cliente com suas contas alias?" in page.text
    assert "banco 341 agência 0001 conta ****187-0" in page.text
    response = staff.post(
        soft_delete_page(holder),
        {"post": "yes", "account": [str(first.pk), str(second.pk)]},
        HTTP_ACCEPT_LANGUAGE="pt-BR",
        follow=True,
    )
    assert (
        "Joana Prado · ***.***.247-25 · Banco Alfa foi excluído logicamente com 2 conta(s) alias."
        in (response.text)
    )
    page = staff.get(restore_page(holder), HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert "Restaurar este cliente e suas contas alias?" in page.text
