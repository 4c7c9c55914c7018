"""No input a client can send produces a 500 (docs/api.md §6): every field of full holder and
alias bodies is replaced, one at a time, by each garbage value, on create and on PATCH."""

import copy

import pytest

from tests.factories import AliasFactory, HolderFactory
from tests.test_holders_api import FULL_HOLDER

GARBAGE = [
    None,
    0,
    -1,
    1.5,
    10**40,
    True,
    "",
    " ",
    "\x00",
    "x" * 3000,
    "💥" * 10,
    [],
    [None],
    {},
    {"nested": {"deep": 1}},
    "2024-02-30",
    "9999-99-99T99:99:99Z",
]

FULL_ALIAS = {
    "ledgerId": "0196a3f4-0000-7000-8000-000000000001",
    "accountId": "0196a3f4-0000-7000-8000-000000000a01",
    "bankingDetails": {
        "branch": "0001",
        "account": "12345-1",
        "type": "CACC",
        "openingDate": "2024-01-15",
        "closingDate": "2030-01-01",
        "iban": "BR18",
        "countryCode": "BR",
        "bankId": "001",
    },
    "regulatoryFields": {"participantDocument": "12345678000190"},
    "relatedParties": [
        {
            "document": "98765432100",
            "name": "Ana",
            "role": "PRIMARY_HOLDER",
            "startDate": "2024-01-01",
            "endDate": "2025-01-01",
        }
    ],
    "metadata": {"use": "main"},
}


def _leaf_paths(value, prefix=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _leaf_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _leaf_paths(item, (*prefix, index))


def _replaced(document, path, garbage):
    result = copy.deepcopy(document)
    node = result
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = garbage
    return result


def _assert_never_5xx(send, document):
    failures = []
    for path in _leaf_paths(document):
        for garbage in GARBAGE:
            response = send(_replaced(document, path, garbage))
            if response.status_code >= 500 or not response["Content-Type"].startswith(
                "application/json"
            ):
                failures.append((path, repr(garbage)[:40], response.status_code))
            elif response.status_code >= 400:
                assert response.json()["code"].startswith("CRM-")
    assert failures == []


def test_holder_create_never_500(api):
    counter = iter(range(10**6))

    def send(body):
        body = dict(body)
        if isinstance(body.get("document"), str) and body["document"] == FULL_HOLDER["document"]:
            body["document"] = f"doc-{next(counter)}"
        return api.post("/v1/holders", body)

    _assert_never_5xx(send, FULL_HOLDER)


def test_holder_patch_never_500(api):
    holder = HolderFactory()
    patchable = {k: v for k, v in FULL_HOLDER.items() if k not in {"type", "document"}}

    _assert_never_5xx(lambda body: api.patch(f"/v1/holders/{holder.id}", body), patchable)


def test_alias_create_never_500(api):
    holder = HolderFactory()
    counter = iter(range(10**6))

    def send(body):
        if body.get("accountId") == FULL_ALIAS["accountId"]:
            body = {**body, "accountId": f"acc-{next(counter)}"}
        return api.post(f"/v1/holders/{holder.id}/aliases", body)

    _assert_never_5xx(send, FULL_ALIAS)


def test_alias_patch_never_500(api):
    alias = AliasFactory()
    patchable = {k: v for k, v in FULL_ALIAS.items() if k not in {"ledgerId", "accountId"}}

    _assert_never_5xx(
        lambda body: api.patch(f"/v1/holders/{alias.holder_id}/aliases/{alias.id}", body),
        patchable,
    )


@pytest.mark.parametrize("path", ["/v1/holders", "/v1/aliases"])
def test_list_query_garbage_never_500(api, path):
    params = [
        "page",
        "limit",
        "sort_order",
        "include_deleted",
        "document",
        "external_id",
        "holder_id",
        "account_id",
        "ledger_id",
        "banking_details_account",
        "related_party_role",
        "metadata.k",
        "metadata.",
        "metadata",
    ]
    for name in params:
        for garbage in ["", "\x00", "x" * 3000, "-1", "1e9", "%", "' OR 1=1 --", "💥"]:
            response = api.get(path, {name: garbage})
            assert response.status_code < 500, (name, garbage)
