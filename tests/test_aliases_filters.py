"""`GET /v1/aliases`: one short test per filter (docs/api.md §3), pagination, include_deleted,
sort_order, and a query-count ceiling (no N+1 over related parties)."""

import pytest

from tests.factories import AliasFactory, HolderFactory

PARTY = {"name": "P", "startDate": "2024-01-01"}


@pytest.fixture
def holder():
    return HolderFactory(document="123.456.789-00")


@pytest.fixture
def first(holder):
    return AliasFactory(
        holder=holder,
        ledgerId="ledger-1",
        accountId="acc-1",
        bankingDetails={"branch": "0001", "account": "11111-1", "iban": "BR11 0001"},
        regulatoryFields={"participantDocument": "11.111.111/0001-11"},
        relatedParties=[{**PARTY, "document": "111.111.111-11", "role": "PRIMARY_HOLDER"}],
        metadata={"product": "main", "segment": "retail"},
    )


@pytest.fixture
def second():
    return AliasFactory(
        holder=HolderFactory(document="98765432100"),
        ledgerId="ledger-2",
        accountId="acc-2",
        bankingDetails={"branch": "0002", "account": "22222-2", "iban": "BR22 0002"},
        regulatoryFields={"participantDocument": "22222222000122"},
        relatedParties=[{**PARTY, "document": "22222222222", "role": "LEGAL_REPRESENTATIVE"}],
        metadata={"product": "main", "segment": "private"},
    )


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_list_without_filters_returns_all_in_creation_order(api, first, second):
    response = api.get("/v1/aliases")

    assert ids(response) == [str(first.id), str(second.id)]
    assert response.json()["page"] == 1
    assert response.json()["limit"] == 10


def test_list_envelope_when_empty(api):
    assert api.get("/v1/aliases").json() == {"items": [], "page": 1, "limit": 10}


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("account_id", "acc-1"),
        ("ledger_id", "ledger-1"),
        ("document", "12345678900"),
        ("document", "123.456.789-00"),
        ("banking_details_branch", "0001"),
        ("banking_details_account", "11111-1"),
        ("banking_details_account", "111111"),
        ("banking_details_iban", "BR110001"),
        ("regulatory_fields_participant_document", "11111111000111"),
        ("related_party_document", "11111111111"),
        ("related_party_role", "PRIMARY_HOLDER"),
        ("metadata.segment", "retail"),
    ],
)
def test_list_filter_selects_only_the_matching_alias(api, first, second, param, value):
    assert ids(api.get("/v1/aliases", {param: value})) == [str(first.id)]


def test_list_filter_by_holder_id(api, first, second):
    assert ids(api.get("/v1/aliases", {"holder_id": str(second.holder_id)})) == [str(second.id)]


def test_list_filter_by_holder_id_not_a_uuid_is_crm_0016(api):
    response = api.get("/v1/aliases", {"holder_id": "nope"})

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0016"
    assert response.json()["fields"].keys() == {"holder_id"}


def test_list_filter_branch_is_exact_plaintext(api, first):
    assert ids(api.get("/v1/aliases", {"banking_details_branch": "000-1"})) == []


def test_list_hash_filters_do_not_cross_fields(api, first):
    """The account number is not found through the iban or document filters."""
    assert ids(api.get("/v1/aliases", {"banking_details_iban": "11111-1"})) == []
    assert ids(api.get("/v1/aliases", {"document": "11111111111"})) == []


def test_list_related_party_role_matches_any_party_once(api, holder):
    alias = AliasFactory(
        holder=holder,
        relatedParties=[
            {**PARTY, "document": "1", "role": "PRIMARY_HOLDER"},
            {**PARTY, "document": "2", "role": "PRIMARY_HOLDER"},
        ],
    )

    assert ids(api.get("/v1/aliases", {"related_party_role": "PRIMARY_HOLDER"})) == [str(alias.id)]
    assert ids(api.get("/v1/aliases", {"related_party_document": "2"})) == [str(alias.id)]


def test_list_several_metadata_filters_combine_with_and(api, first, second):
    both = {"metadata.product": "main", "metadata.segment": "private"}

    assert ids(api.get("/v1/aliases", both)) == [str(second.id)]
    assert ids(api.get("/v1/aliases", {"metadata.product": "main"})) == [
        str(first.id),
        str(second.id),
    ]
    assert ids(api.get("/v1/aliases", {**both, "metadata.segment": "none"})) == []


def test_list_filters_combine_with_and(api, first, second):
    query = {"ledger_id": "ledger-1", "related_party_role": "LEGAL_REPRESENTATIVE"}

    assert ids(api.get("/v1/aliases", query)) == []


def test_list_hides_soft_deleted_unless_include_deleted(api, first, second):
    api.delete(f"/v1/holders/{first.holder_id}/aliases/{first.id}")

    assert ids(api.get("/v1/aliases")) == [str(second.id)]
    assert ids(api.get("/v1/aliases", {"include_deleted": "true"})) == [
        str(first.id),
        str(second.id),
    ]
    assert ids(api.get("/v1/aliases", {"include_deleted": "yes"})) == [str(second.id)]


def test_list_sort_order_desc_is_honoured(api, first, second):
    assert ids(api.get("/v1/aliases", {"sort_order": "DESC"})) == [str(second.id), str(first.id)]


def test_list_pages(api, first, second):
    assert ids(api.get("/v1/aliases", {"limit": 1, "page": 2})) == [str(second.id)]
    assert ids(api.get("/v1/aliases", {"limit": 1, "page": 3})) == []


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"page": "0"}, "CRM-0016"),
        ({"limit": "x"}, "CRM-0016"),
        ({"limit": "101"}, "CRM-0009"),
        ({"sort_order": "up"}, "CRM-0011"),
        ({"metadata.k": "v" * 2001}, "CRM-0012"),
    ],
)
def test_list_bad_query_parameters(api, query, code):
    response = api.get("/v1/aliases", query)

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_list_with_100_aliases_and_parties_runs_a_constant_number_of_queries(
    api, holder, django_assert_max_num_queries
):
    parties = [
        {**PARTY, "document": "1", "role": "PRIMARY_HOLDER"},
        {**PARTY, "document": "2", "role": "RESPONSIBLE_PARTY"},
    ]
    for _ in range(100):
        AliasFactory(holder=holder, relatedParties=parties)

    with django_assert_max_num_queries(3):
        response = api.get("/v1/aliases", {"limit": 100})

    items = response.json()["items"]
    assert len(items) == 100
    assert all(len(item["relatedParties"]) == 2 for item in items)
