"""End-to-end scenario of the "many accounts per customer" guide (seed 002): one holder,
document 12345678900, owns three alias accounts (main 0001/12345-1, benefit 0001/88888-2,
blocked 0002/77777-0). Each external identifier resolves to exactly one account through
`GET /v1/aliases`, and the holder's aliases list together."""

import pytest

LEDGER_ID = "0196a3f4-0000-7000-8000-000000000001"
ACCOUNTS = {
    "main": {"entityId": "0001/12345-1", "accountId": "0196a3f4-0000-7000-8000-000000000a01"},
    "benefit": {"entityId": "0001/88888-2", "accountId": "0196a3f4-0000-7000-8000-000000000a02"},
    "blocked": {"entityId": "0002/77777-0", "accountId": "0196a3f4-0000-7000-8000-000000000a03"},
}


@pytest.fixture
def customer(api) -> dict:
    """Given the holder and its three accounts, registered through the API."""
    holder = api.post(
        "/v1/holders",
        {"type": "NATURAL_PERSON", "name": "Cliente Exemplo", "document": "12345678900"},
    )
    assert holder.status_code == 201
    holder_id = holder.json()["id"]
    aliases = {}
    for use, account in ACCOUNTS.items():
        branch, number = account["entityId"].split("/")
        response = api.post(
            f"/v1/holders/{holder_id}/aliases",
            {
                "ledgerId": LEDGER_ID,
                "accountId": account["accountId"],
                "bankingDetails": {
                    "branch": branch,
                    "account": number,
                    "type": "CACC",
                    "countryCode": "BR",
                },
                "metadata": {"use": use, "alias": f"@cust_12345678900_{use}"},
            },
        )
        assert response.status_code == 201, response.content
        aliases[use] = response.json()
    return {"holder_id": holder_id, "aliases": aliases}


@pytest.mark.parametrize("use", list(ACCOUNTS))
def test_each_external_identifier_resolves_to_exactly_one_account(api, customer, use):
    branch, number = ACCOUNTS[use]["entityId"].split("/")

    by_account = api.get(
        "/v1/aliases", {"banking_details_branch": branch, "banking_details_account": number}
    ).json()["items"]
    by_account_id = api.get("/v1/aliases", {"account_id": ACCOUNTS[use]["accountId"]}).json()[
        "items"
    ]

    expected = customer["aliases"][use]
    assert by_account == [expected]
    assert by_account_id == [expected]
    assert expected["document"] == "12345678900"
    assert expected["holderId"] == customer["holder_id"]
    assert expected["bankingDetails"] == {
        "branch": branch,
        "account": number,
        "type": "CACC",
        "countryCode": "BR",
    }
    assert expected["metadata"]["alias"] == f"@cust_12345678900_{use}"


def test_account_number_alone_resolves_across_branches(api, customer):
    items = api.get("/v1/aliases", {"banking_details_account": "77777-0"}).json()["items"]

    assert [item["metadata"]["use"] for item in items] == ["blocked"]


def test_the_holders_three_accounts_list_together(api, customer):
    response = api.get("/v1/aliases", {"holder_id": customer["holder_id"]})

    assert response.status_code == 200
    assert response.json() == {
        "items": list(customer["aliases"].values()),
        "page": 1,
        "limit": 10,
    }
    by_document = api.get("/v1/aliases", {"document": "123.456.789-00"}).json()["items"]
    assert by_document == list(customer["aliases"].values())


def test_the_holder_cannot_be_deleted_while_it_owns_accounts(api, customer):
    response = api.delete(f"/v1/holders/{customer['holder_id']}")

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0017"


def test_a_second_customer_cannot_claim_an_account_already_linked(api, customer):
    other = api.post(
        "/v1/holders", {"type": "NATURAL_PERSON", "name": "Outro", "document": "98765432100"}
    ).json()

    response = api.post(
        f"/v1/holders/{other['id']}/aliases",
        {"ledgerId": LEDGER_ID, "accountId": ACCOUNTS["main"]["accountId"]},
    )

    assert response.status_code == 409
    assert response.json()["code"] == "CRM-0013"
