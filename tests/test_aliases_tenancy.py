"""Tenant isolation of every alias route (docs/api.md §2): organization B gets 404 for A's
holders, aliases and related parties, changes nothing, and never sees A's aliases in lists."""

import pytest

from aliases.models import AliasAccount, RelatedParty
from tests.factories import AliasFactory

PARTY = {
    "document": "11122233344",
    "name": "N",
    "role": "PRIMARY_HOLDER",
    "startDate": "2024-01-01",
}


@pytest.fixture
def alias_of_a(db):
    return AliasFactory(
        accountId="acc-a",
        ledgerId="ledger-a",
        bankingDetails={"branch": "0001", "account": "12345-1", "iban": "BR00A"},
        regulatoryFields={"participantDocument": "999"},
        relatedParties=[PARTY],
        metadata={"k": "v"},
    )


def url(alias, suffix: str = "") -> str:
    return f"/v1/holders/{alias.holder_id}/aliases/{alias.id}{suffix}"


def assert_not_found(response, code: str) -> None:
    assert response.status_code == 404, response.content
    assert response.json()["code"] == code


def test_other_organization_cannot_create_alias_under_the_holder(api_b, alias_of_a):
    response = api_b.post(
        f"/v1/holders/{alias_of_a.holder_id}/aliases", {"ledgerId": "L", "accountId": "B"}
    )

    assert_not_found(response, "CRM-0006")
    assert AliasAccount.all_objects.count() == 1


@pytest.mark.parametrize("suffix", ["", "?include_deleted=true"])
def test_other_organization_gets_404_on_get(api_b, alias_of_a, suffix):
    assert_not_found(api_b.get(url(alias_of_a, suffix)), "CRM-0008")


def test_other_organization_gets_404_on_patch_and_nothing_changes(api_b, alias_of_a):
    response = api_b.patch(url(alias_of_a), {"metadata": {"k": "changed"}, "relatedParties": None})

    assert_not_found(response, "CRM-0008")
    alias = AliasAccount.objects.get(pk=alias_of_a.pk)
    assert alias.metadata == {"k": "v"}
    assert alias.related_parties.count() == 1


@pytest.mark.parametrize("suffix", ["", "?hard_delete=true"])
def test_other_organization_gets_404_on_delete_and_nothing_is_deleted(api_b, alias_of_a, suffix):
    assert_not_found(api_b.delete(url(alias_of_a, suffix)), "CRM-0008")

    assert AliasAccount.objects.filter(pk=alias_of_a.pk).exists()


def test_other_organization_gets_404_on_related_party_delete(api_b, alias_of_a):
    party = alias_of_a.related_parties.get()

    assert_not_found(api_b.delete(url(alias_of_a, f"/related-parties/{party.id}")), "CRM-0008")
    assert RelatedParty.objects.filter(pk=party.pk).exists()


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"include_deleted": "true"},
        {"account_id": "acc-a"},
        {"ledger_id": "ledger-a"},
        {"document": "__holder_document__"},
        {"banking_details_branch": "0001"},
        {"banking_details_account": "12345-1"},
        {"banking_details_iban": "BR00A"},
        {"regulatory_fields_participant_document": "999"},
        {"related_party_document": "11122233344"},
        {"related_party_role": "PRIMARY_HOLDER"},
        {"metadata.k": "v"},
        {"holder_id": "__holder_id__"},
    ],
)
def test_other_organization_never_sees_the_alias_in_lists(api, api_b, alias_of_a, query):
    placeholders = {
        "__holder_document__": alias_of_a.document,
        "__holder_id__": str(alias_of_a.holder_id),
    }
    query = {key: placeholders.get(value, value) for key, value in query.items()}

    response = api_b.get("/v1/aliases", query)

    assert response.status_code == 200
    assert response.json()["items"] == []
    assert [item["id"] for item in api.get("/v1/aliases", query).json()["items"]] == [
        str(alias_of_a.id)
    ]
