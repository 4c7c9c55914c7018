"""Legal holds (crm/lifecycle/holds.py, docs/api.md §12): a data-protection officer places and
lifts them with a reason (audited); while one stands every erasure path — the API, the admin,
`hard_delete` by id, retention and organization purges — refuses the record and what belongs to
it, and erases nothing of it."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from aliases.models import AliasAccount
from aliases.services import alias_soft_delete
from crm.lifecycle import holds
from crm.models import AuditEntry, LegalHold
from holders.models import Holder
from holders.services import holder_soft_delete
from staff.roles import CLERK, DATA_PROTECTION_OFFICER, SUPERVISOR
from tests.conftest import ORG_A
from tests.factories import AliasFactory, HolderFactory
from tests.test_admin_bank_work import member_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def held():
    """A soft-deleted holder with a soft-deleted alias (so every path could erase it), held."""
    holder = HolderFactory()
    alias = AliasFactory(holder=holder)
    alias_soft_delete(organization_id=ORG_A, holder_id=holder.id, alias_id=alias.id)
    holder_soft_delete(organization_id=ORG_A, holder_id=holder.id)
    holds.place(holder, reason="Case 2026/118: court order", placed_by="dpo-ana")
    return holder, alias


def still_there(holder, alias) -> bool:
    return (
        Holder.all_objects.filter(pk=holder.pk).exists()
        and AliasAccount.all_objects.filter(pk=alias.pk).exists()
    )


def test_placing_and_lifting_are_audited_with_the_reason(held):
    holder, _ = held
    placed = AuditEntry.objects.get(action="place_hold", object_id=holder.pk)
    assert (placed.object_type, placed.reason) == ("holder", "Case 2026/118: court order")

    holds.lift(holder, reason="Case closed")

    lifted = AuditEntry.objects.get(action="lift_hold", object_id=holder.pk)
    assert lifted.reason == "Case closed"
    assert not LegalHold.objects.exists()


def test_a_hold_needs_a_reason_and_cannot_be_placed_twice(held):
    holder, _ = held
    with pytest.raises(holds.HoldError, match="already under a legal hold"):
        holds.place(holder, reason="again", placed_by="dpo")
    with pytest.raises(holds.HoldError, match="needs a reason"):
        holds.lift(holder, reason="  ")
    other = HolderFactory(document="39053344705")
    with pytest.raises(holds.HoldError, match="needs a reason"):
        holds.place(other, reason="", placed_by="dpo")
    with pytest.raises(holds.HoldError, match="not under a legal hold"):
        holds.lift(other, reason="nothing to lift")


def test_api_hard_delete_of_a_held_holder_is_409_crm_0912(api, held):
    holder, alias = held

    response = api.delete(f"/v1/holders/{holder.pk}?hard_delete=true")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "CRM-0912"
    assert "legal hold" in body["message"]
    assert still_there(holder, alias)
    assert not AuditEntry.objects.filter(action="hard_delete").exists()


def test_api_hard_delete_of_an_account_of_a_held_holder_is_refused_too(api, held):
    holder, alias = held

    response = api.delete(f"/v1/holders/{holder.pk}/aliases/{alias.pk}?hard_delete=true")

    assert (response.status_code, response.json()["code"]) == (409, "CRM-0912")
    assert still_there(holder, alias)


def test_hard_delete_command_by_id_refuses_and_erases_nothing(held):
    holder, alias = held
    with pytest.raises(CommandError, match="under a legal hold"):
        call_command("hard_delete", "holders", str(holder.pk), "--yes", stdout=StringIO())
    with pytest.raises(CommandError, match="under a legal hold"):
        call_command("hard_delete", "aliases", str(alias.pk), "--yes", stdout=StringIO())
    assert still_there(holder, alias)


def test_retention_purge_skips_the_held_and_says_so(held):
    holder, alias = held
    free = HolderFactory(document="39053344705")
    holder_soft_delete(organization_id=ORG_A, holder_id=free.id)
    out = StringIO()
    call_command("hard_delete", "purge", "--older-than", "0d", "--yes", stdout=out)

    assert "Kept: 1 holder(s) and 1 alias account(s) under a legal hold" in out.getvalue()
    assert still_there(holder, alias)
    assert not Holder.all_objects.filter(pk=free.pk).exists()


def test_organization_purge_skips_the_held(held):
    holder, alias = held
    live = HolderFactory(document="39053344705")

    call_command("hard_delete", "organization", str(ORG_A), "--yes", stdout=StringIO())

    assert still_there(holder, alias)
    assert not Holder.all_objects.filter(pk=live.pk).exists()


def test_after_the_hold_is_lifted_the_erasure_goes_through(api, held):
    holder, alias = held
    holds.lift(holder, reason="Case closed")

    assert api.delete(f"/v1/holders/{holder.pk}?hard_delete=true").status_code == 204
    assert not Holder.all_objects.filter(pk=holder.pk).exists()
    assert not AliasAccount.all_objects.filter(pk=alias.pk).exists()


def test_admin_hard_delete_page_of_a_held_holder_offers_no_erasure(client, held):
    holder, alias = held
    client.force_login(member_of(DATA_PROTECTION_OFFICER))
    url = reverse("admin:holders_holder_hard_delete", args=[holder.pk])

    page = client.get(url)
    assert 'id="crm-erase-held"' in page.text
    assert 'id="crm-confirm-erase"' not in page.text
    response = client.post(url, {"post": "yes", "reason": "LGPD Art. 18 VI"}, follow=True)

    assert "under a legal hold" in response.text
    assert still_there(holder, alias)
    change = client.get(reverse("admin:holders_holder_change", args=[holder.pk])).text
    assert 'id="crm-legal-hold-banner"' in change and 'id="crm-hard-delete"' not in change


def test_a_data_protection_officer_places_and_lifts_a_hold_in_the_admin(client):
    holder = HolderFactory()
    client.force_login(member_of(DATA_PROTECTION_OFFICER, "dpo-bia"))
    url = reverse("admin:holders_holder_legal_hold", args=[holder.pk])

    assert client.post(url, {"reason": " "}).status_code == 200  # asked again for a reason
    assert not LegalHold.objects.exists()
    response = client.post(url, {"reason": "Regulator request 77"})
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert (hold.object_id, hold.placed_by, hold.reason) == (
        holder.pk,
        "dpo-bia",
        "Regulator request 77",
    )
    assert (
        'id="crm-legal-hold"'
        in client.get(reverse("admin:holders_holder_change", args=[holder.pk])).text
    )

    assert client.post(url, {"reason": "Request answered"}).status_code == 302
    assert not LegalHold.objects.exists()
    assert list(
        AuditEntry.objects.filter(object_id=holder.pk, action__in=["place_hold", "lift_hold"])
        .order_by("created_at")
        .values_list("action", "actor", "reason")
    ) == [
        ("place_hold", "dpo-bia", "Regulator request 77"),
        ("lift_hold", "dpo-bia", "Request answered"),
    ]


@pytest.mark.parametrize("role", [CLERK, SUPERVISOR])
def test_other_roles_cannot_place_a_hold(client, role):
    holder = HolderFactory()
    client.force_login(member_of(role))
    url = reverse("admin:holders_holder_legal_hold", args=[holder.pk])

    assert client.post(url, {"reason": "mine"}).status_code == 403
    change = client.get(reverse("admin:holders_holder_change", args=[holder.pk])).text
    assert 'id="crm-legal-hold"' not in change
    assert not LegalHold.objects.exists()
