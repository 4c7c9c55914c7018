"""Alias uniqueness and deletion rules (docs/api.md §5, docs/api.md §5): live accountId unique per
organization (a database constraint, so concurrent POSTs give one 201), holder deletes refused
while live aliases exist, erasure of soft-deleted aliases with their holder, restore."""

import uuid

import pytest

from aliases import services
from aliases.models import AliasAccount, RelatedParty
from crm.api.errors import CRMError
from crm.models import AuditEntry
from holders.models import Holder
from tests.conftest import ORG_A, ORG_B, OrgClient
from tests.factories import AliasFactory, HolderFactory, alias_payload
from tests.sessions import answer_after_another_session_commits, concurrently

THREADS = 8


def alias_url(alias) -> str:
    return f"/v1/holders/{alias.holder_id}/aliases/{alias.id}"


def post_alias(api, holder, **overrides):
    return api.post(f"/v1/holders/{holder.id}/aliases", alias_payload(**overrides))


def test_duplicate_live_account_id_is_crm_0013(api):
    AliasFactory(accountId="acc-1")

    response = post_alias(api, HolderFactory(), accountId="acc-1", ledgerId="another-ledger")

    assert response.status_code == 409
    assert response.json() == {
        "code": "CRM-0013",
        "title": "Account Already Associated",
        "message": "This account is already associated with a live alias in this organization.",
    }
    assert AliasAccount.objects.count() == 1


def test_duplicate_account_id_under_the_same_holder_is_crm_0013(api):
    alias = AliasFactory(accountId="acc-1")

    response = post_alias(api, alias.holder, accountId="acc-1")

    assert response.json()["code"] == "CRM-0013"


def test_account_id_is_reusable_after_soft_delete(api):
    alias = AliasFactory(accountId="acc-1")
    assert api.delete(alias_url(alias)).status_code == 204

    response = post_alias(api, alias.holder, accountId="acc-1")

    assert response.status_code == 201
    assert AliasAccount.all_objects.filter(account_id="acc-1").count() == 2


def test_same_account_id_in_another_organization_is_fine(api_b):
    AliasFactory(accountId="acc-1")

    response = post_alias(api_b, HolderFactory(organization_id=ORG_B), accountId="acc-1")

    assert response.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_account_ids_give_one_201_and_409s():
    holder = HolderFactory()

    answers = concurrently(
        THREADS,
        lambda _: OrgClient(ORG_A).post(
            f"/v1/holders/{holder.id}/aliases", {"ledgerId": "L", "accountId": "race"}
        ),
    )

    statuses = [answer.status_code for answer in answers]
    assert sorted(statuses) == [201] + [409] * (THREADS - 1)
    assert AliasAccount.objects.filter(account_id="race").count() == 1


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("deleted", [True, False], ids=["holder deleted", "holder kept"])
def test_an_alias_create_waits_for_a_change_of_its_holder_and_sees_its_outcome(deleted):
    """The create reads the holder without a lock; its write locks the holder and checks it is
    still live (`crm.db.rows.Live`). While another transaction holds the holder (a delete in
    progress), the create waits; if that transaction deletes the holder, the create is a 404
    with nothing written, never an alias under a deleted holder; otherwise it goes on."""
    holder = HolderFactory(organization_id=ORG_A)
    held = [("SELECT 1 FROM holders_holder WHERE id = %s FOR UPDATE", [holder.id])]
    if deleted:
        held.append(("UPDATE holders_holder SET deleted_at = now() WHERE id = %s", [holder.id]))

    answer = answer_after_another_session_commits(
        held, lambda: post_alias(OrgClient(ORG_A), holder, accountId="race-1")
    )

    if deleted:
        assert (answer.status_code, answer.json()["code"]) == (404, "CRM-0006")
        assert not AliasAccount.all_objects.exists()
        assert not AuditEntry.objects.filter(object_type="alias").exists()
    else:
        assert answer.status_code == 201, answer.content
        assert AliasAccount.objects.get().holder_id == holder.id


@pytest.mark.parametrize("query", ["", "?hard_delete=true"])
def test_holder_with_live_alias_cannot_be_deleted(api, query):
    alias = AliasFactory()

    response = api.delete(f"/v1/holders/{alias.holder_id}{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0017"
    assert Holder.objects.filter(pk=alias.holder_id).exists()
    assert AliasAccount.objects.filter(pk=alias.pk).exists()


def test_holder_soft_delete_after_its_aliases_are_soft_deleted(api):
    alias = AliasFactory()
    api.delete(alias_url(alias))

    assert api.delete(f"/v1/holders/{alias.holder_id}").status_code == 204


def test_holder_hard_delete_erases_its_soft_deleted_aliases(api):
    alias = AliasFactory(
        relatedParties=[
            {"document": "1", "name": "N", "role": "PRIMARY_HOLDER", "startDate": "2024-01-01"}
        ]
    )
    api.delete(alias_url(alias))

    response = api.delete(f"/v1/holders/{alias.holder_id}?hard_delete=true")

    assert response.status_code == 204
    assert not Holder.all_objects.filter(pk=alias.holder_id).exists()
    assert not AliasAccount.all_objects.exists()
    assert not RelatedParty.objects.exists()
    # Beyond the entries cleared to their frame (crm.lifecycle.chain.redact): the erasure.
    alias_entries = AuditEntry.objects.filter(
        object_type="alias", object_id=alias.id, redacted=False
    )
    assert [entry.action for entry in alias_entries] == ["hard_delete"]


def test_alias_of_soft_deleted_holder_is_still_readable(api):
    alias = AliasFactory()
    api.delete(alias_url(alias))
    api.delete(f"/v1/holders/{alias.holder_id}")

    response = api.get(alias_url(alias) + "?include_deleted=true")

    assert response.status_code == 200


def test_alias_restore_brings_it_back(api):
    alias = AliasFactory()
    api.delete(alias_url(alias))

    services.alias_restore(organization_id=ORG_A, holder_id=alias.holder_id, alias_id=alias.id)

    assert api.get(alias_url(alias)).json()["deletedAt"] is None
    latest = AuditEntry.objects.filter(object_type="alias", object_id=alias.id).first()
    assert latest.action == "restore"


def test_alias_restore_when_account_taken_meanwhile_is_crm_0013(api):
    alias = AliasFactory(accountId="acc-1")
    api.delete(alias_url(alias))
    AliasFactory(accountId="acc-1")

    with pytest.raises(CRMError) as error:
        services.alias_restore(organization_id=ORG_A, holder_id=alias.holder_id, alias_id=alias.id)

    assert error.value.code == "CRM-0013"
    assert AliasAccount.all_objects.get(pk=alias.pk).deleted_at is not None


def test_alias_restore_under_soft_deleted_holder_is_crm_0006(api):
    alias = AliasFactory()
    api.delete(alias_url(alias))
    api.delete(f"/v1/holders/{alias.holder_id}")

    with pytest.raises(CRMError) as error:
        services.alias_restore(organization_id=ORG_A, holder_id=alias.holder_id, alias_id=alias.id)

    assert error.value.code == "CRM-0006"


def test_alias_restore_of_unknown_alias_is_crm_0008(db):
    holder = HolderFactory()

    with pytest.raises(CRMError) as error:
        services.alias_restore(organization_id=ORG_A, holder_id=holder.id, alias_id=uuid.uuid4())

    assert error.value.code == "CRM-0008"


def test_recompute_search_hashes_is_a_no_op_with_the_current_key(db):
    alias = AliasFactory(
        regulatoryFields={"participantDocument": "1"},
        relatedParties=[
            {"document": "2", "name": "N", "role": "PRIMARY_HOLDER", "startDate": "2024-01-01"}
        ],
    )

    assert alias.recompute_search_hashes() == []
    assert alias.related_parties.get().recompute_search_hashes() == []


def test_recompute_search_hashes_after_hash_key_change(db, settings):
    alias = AliasFactory(
        bankingDetails={"account": "1", "iban": "2"},
        regulatoryFields={"participantDocument": "3"},
    )
    party_alias = AliasFactory(
        relatedParties=[
            {"document": "4", "name": "N", "role": "PRIMARY_HOLDER", "startDate": "2024-01-01"}
        ]
    )
    settings.LCRYPTO_HASH_SECRET_KEY = "another-hash-key-" + "k" * 40

    assert sorted(alias.recompute_search_hashes()) == [
        "banking_account_hash",
        "banking_iban_hash",
        "document_hash",
        "participant_document_hash",
    ]
    assert party_alias.related_parties.get().recompute_search_hashes() == ["document_hash"]
