"""Alias personal data at rest (docs/api.md §7, docs/api.md §7.1): a raw SELECT of the alias and
related-party rows shows none of document, account, iban, participant document or
related-party document in plaintext; the API returns them decrypted; hashes are field-scoped."""

import pytest
from django.db import connection

from aliases.models import AliasAccount, RelatedParty
from tests.factories import HolderFactory

SECRETS = {
    "document": "73519842067",
    "account": "48213-7",
    "iban": "BR9700360305000010009795493P1",
    "participantDocument": "61283746000155",
    "partyDocument1": "25836914703",
    "partyDocument2": "95175385204",
}


@pytest.fixture
def stored_alias(api):
    holder = HolderFactory(document=SECRETS["document"])
    party = {"name": "Plain Party Name", "role": "PRIMARY_HOLDER", "startDate": "2024-01-01"}
    response = api.post(
        f"/v1/holders/{holder.id}/aliases",
        {
            "ledgerId": "plain-ledger",
            "accountId": "plain-account-id",
            "bankingDetails": {
                "branch": "7788",
                "account": SECRETS["account"],
                "iban": SECRETS["iban"],
                "bankId": "plain-bank",
            },
            "regulatoryFields": {"participantDocument": SECRETS["participantDocument"]},
            "relatedParties": [
                {**party, "document": SECRETS["partyDocument1"]},
                {**party, "document": SECRETS["partyDocument2"]},
            ],
        },
    )
    assert response.status_code == 201
    return response.json()


def _raw_rows(model, column: str, value) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {model._meta.db_table} WHERE {column} = %s",
            [AliasAccount._meta.pk.get_db_prep_value(value, connection)],
        )
        rows = cursor.fetchall()
    assert rows
    parts = []
    for row in rows:
        for value in row:
            if isinstance(value, bytes | memoryview):
                parts.append(bytes(value).decode("latin-1"))
            else:
                parts.append(str(value))
    return "\n".join(parts)


def _assert_no_secret(raw: str) -> None:
    for label, secret in SECRETS.items():
        assert secret not in raw, label
        assert secret.encode().hex() not in raw, label
        assert secret.replace("-", "") not in raw, label


def test_raw_select_of_alias_row_shows_no_personal_data(stored_alias):
    raw = _raw_rows(AliasAccount, "id", stored_alias["id"])

    _assert_no_secret(raw)
    assert "plain-account-id" in raw  # plaintext fields stay readable (docs/api.md §7.1)
    assert "7788" in raw
    assert "plain-bank" in raw


def test_raw_select_of_related_party_rows_shows_no_personal_data(stored_alias):
    raw = _raw_rows(RelatedParty, "alias_id", stored_alias["id"])

    _assert_no_secret(raw)
    assert "Plain Party Name" in raw


def test_api_returns_the_decrypted_values(api, stored_alias):
    body = api.get(f"/v1/holders/{stored_alias['holderId']}/aliases/{stored_alias['id']}").json()

    assert body["document"] == SECRETS["document"]
    assert body["bankingDetails"]["account"] == SECRETS["account"]
    assert body["bankingDetails"]["iban"] == SECRETS["iban"]
    assert body["regulatoryFields"]["participantDocument"] == SECRETS["participantDocument"]
    assert [party["document"] for party in body["relatedParties"]] == [
        SECRETS["partyDocument1"],
        SECRETS["partyDocument2"],
    ]


def test_search_hashes_are_distinct_per_field(stored_alias):
    alias = AliasAccount.objects.get(pk=stored_alias["id"])
    hashes = {
        alias.document_hash,
        alias.banking_account_hash,
        alias.banking_iban_hash,
        alias.participant_document_hash,
        *alias.related_parties.values_list("document_hash", flat=True),
    }

    assert len(hashes) == 6
    assert all(len(value) == 64 for value in hashes)


def test_audit_entries_carry_no_personal_values(api, stored_alias):
    api.patch(
        f"/v1/holders/{stored_alias['holderId']}/aliases/{stored_alias['id']}",
        {"bankingDetails": {"account": "00000-0"}},
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT changed_fields FROM crm_auditentry")
        raw = "\n".join(str(row[0]) for row in cursor.fetchall())

    _assert_no_secret(raw)
    assert "00000-0" not in raw
    assert "bankingDetails.account" in raw
