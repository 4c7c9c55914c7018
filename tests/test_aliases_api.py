"""Alias endpoints A1-A5: happy paths with the full JSON asserted, PATCH merge and append
semantics, related parties, soft and hard delete, and every error code of these routes."""

import datetime as dt
import re
import uuid

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from aliases.models import AliasAccount, RelatedParty
from crm.models import AuditEntry
from tests.factories import AliasFactory, HolderFactory, admin_log_entry, alias_payload

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

FULL_ALIAS = {
    "ledgerId": "00000000-0000-0000-0000-00000000000l",
    "accountId": "0196a3f4-aaaa-7000-8000-000000000001",
    "bankingDetails": {
        "branch": "0001",
        "account": "12345-1",
        "type": "CACC",
        "openingDate": "2024-01-15",
        "closingDate": "2099-12-31T10:00:00Z",
        "iban": "BR1800360305000010009795493C1",
        "countryCode": "BR",
        "bankId": "341",
    },
    "regulatoryFields": {"participantDocument": "12.345.678/0001-90"},
    "relatedParties": [
        {
            "document": "98765432100",
            "name": "Ana Representante",
            "role": "LEGAL_REPRESENTATIVE",
            "startDate": "2024-01-01T00:00:00",
            "endDate": "2025-01-01",
        },
        {
            "id": "00000000-0000-0000-0000-000000000000",
            "document": "11122233344",
            "name": "Bruno Titular",
            "role": "PRIMARY_HOLDER",
            "startDate": "2024-02-01",
        },
    ],
    "metadata": {"product": "main", "tier": 2, "active": True},
}


@pytest.fixture
def holder():
    return HolderFactory(document="12345678900", type="NATURAL_PERSON")


def aliases_url(holder_id) -> str:
    return f"/v1/holders/{holder_id}/aliases"


def alias_url(holder_id, alias_id) -> str:
    return f"/v1/holders/{holder_id}/aliases/{alias_id}"


def party_url(holder_id, alias_id, party_id) -> str:
    return f"{alias_url(holder_id, alias_id)}/related-parties/{party_id}"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert set(body) <= {"code", "title", "message", "fields"}
    return body


# --- A1 create -------------------------------------------------------------------------------


def test_alias_create_returns_the_full_alias(api, holder):
    response = api.post(aliases_url(holder.id), FULL_ALIAS)

    assert response.status_code == 201
    body = response.json()
    assert UUID7.match(body["id"])
    parties = body["relatedParties"]
    assert all(UUID7.match(party["id"]) for party in parties)
    assert parties[1]["id"] != "00000000-0000-0000-0000-000000000000"
    assert TIMESTAMP.match(body["createdAt"])
    assert body == {
        "id": body["id"],
        "holderId": str(holder.id),
        "document": "12345678900",
        "type": "NATURAL_PERSON",
        "ledgerId": FULL_ALIAS["ledgerId"],
        "accountId": FULL_ALIAS["accountId"],
        "bankingDetails": {
            "branch": "0001",
            "account": "12345-1",
            "type": "CACC",
            "openingDate": "2024-01-15",
            "closingDate": "2099-12-31",
            "iban": "BR1800360305000010009795493C1",
            "countryCode": "BR",
            "bankId": "341",
        },
        "regulatoryFields": {"participantDocument": "12.345.678/0001-90"},
        "relatedParties": [
            {
                "id": parties[0]["id"],
                "document": "98765432100",
                "name": "Ana Representante",
                "role": "LEGAL_REPRESENTATIVE",
                "startDate": "2024-01-01",
                "endDate": "2025-01-01",
            },
            {
                "id": parties[1]["id"],
                "document": "11122233344",
                "name": "Bruno Titular",
                "role": "PRIMARY_HOLDER",
                "startDate": "2024-02-01",
            },
        ],
        "metadata": {"product": "main", "tier": 2, "active": True},
        "createdAt": body["createdAt"],
        "updatedAt": body["createdAt"],
        "deletedAt": None,
    }


def test_alias_create_minimal_leaves_empty_optionals_out(api, holder):
    response = api.post(aliases_url(holder.id), {"ledgerId": "L", "accountId": "A"})

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "holderId": str(holder.id),
        "document": "12345678900",
        "type": "NATURAL_PERSON",
        "ledgerId": "L",
        "accountId": "A",
        "createdAt": body["createdAt"],
        "updatedAt": body["updatedAt"],
        "deletedAt": None,
    }


def test_alias_create_copies_legal_person_type_from_holder(api):
    company = HolderFactory(type="LEGAL_PERSON", document="12345678000199")

    body = api.post(aliases_url(company.id), {"ledgerId": "L", "accountId": "A"}).json()

    assert (body["type"], body["document"]) == ("LEGAL_PERSON", "12345678000199")


def test_alias_create_records_audit_entry_without_values(api, holder):
    body = api.post(aliases_url(holder.id), FULL_ALIAS).json()

    entry = AuditEntry.objects.get(object_type="alias", object_id=body["id"])
    assert entry.action == "create"
    assert "relatedParties" in entry.changed_fields
    assert "12345-1" not in str(entry.changed_fields)


def test_alias_create_under_missing_holder_is_crm_0006(api):
    response = api.post(aliases_url(uuid.uuid4()), alias_payload())

    assert_error(response, 404, "CRM-0006")


def test_alias_create_under_soft_deleted_holder_is_crm_0006(api, holder):
    assert api.delete(f"/v1/holders/{holder.id}").status_code == 204

    response = api.post(aliases_url(holder.id), alias_payload())

    assert_error(response, 404, "CRM-0006")


def test_alias_create_validates_related_parties_before_the_holder(api):
    payload = alias_payload(relatedParties=[{"name": "X", "role": "PRIMARY_HOLDER"}])

    response = api.post(aliases_url(uuid.uuid4()), payload)

    assert_error(response, 400, "CRM-0026")


@pytest.mark.parametrize("missing", ["ledgerId", "accountId"])
def test_alias_create_without_required_field_is_crm_0003(api, holder, missing):
    payload = {"ledgerId": "L", "accountId": "A"}
    del payload[missing]

    body = assert_error(api.post(aliases_url(holder.id), payload), 400, "CRM-0003")

    assert body["fields"] == {missing: f"{missing} is a required field"}


def test_alias_create_with_blank_account_id_is_crm_0003(api, holder):
    response = api.post(aliases_url(holder.id), {"ledgerId": "L", "accountId": ""})

    assert_error(response, 400, "CRM-0003")


@pytest.mark.parametrize(
    "extra",
    [{"id": "x"}, {"holderId": "x"}, {"document": "1"}, {"type": "LEGAL_PERSON"}, {"foo": 1}],
)
def test_alias_create_with_unknown_or_server_field_is_crm_0007(api, holder, extra):
    response = api.post(aliases_url(holder.id), {"ledgerId": "L", "accountId": "A", **extra})

    body = assert_error(response, 400, "CRM-0007")
    assert set(body["fields"]) == set(extra)


def test_alias_create_with_unknown_banking_field_is_crm_0007(api, holder):
    payload = alias_payload(bankingDetails={"branch": "1", "swift": "X"})

    body = assert_error(api.post(aliases_url(holder.id), payload), 400, "CRM-0007")

    assert set(body["fields"]) == {"bankingDetails.swift"}


@pytest.mark.parametrize(
    "payload",
    [
        {"ledgerId": 1, "accountId": "A"},
        {"ledgerId": "L", "accountId": "A", "bankingDetails": "x"},
        {"ledgerId": "L", "accountId": "A", "relatedParties": {"a": 1}},
        {"ledgerId": "L", "accountId": "A", "bankingDetails": {"closingDate": "31/12/2025"}},
        {"ledgerId": "L", "accountId": "A", "bankingDetails": {"openingDate": "2025-13-01"}},
        {"ledgerId": "L", "accountId": "A", "bankingDetails": {"closingDate": 20250101}},
    ],
)
def test_alias_create_with_wrong_type_or_bad_date_is_crm_0004(api, holder, payload):
    assert_error(api.post(aliases_url(holder.id), payload), 400, "CRM-0004")


@pytest.mark.parametrize("field", ["startDate", "endDate"])
def test_alias_create_with_bad_related_party_date_is_crm_0004(api, holder, field):
    party = {"document": "1", "name": "N", "role": "PRIMARY_HOLDER", "startDate": "2024-01-01"}
    party[field] = "2024-02-30"

    body = assert_error(
        api.post(aliases_url(holder.id), alias_payload(relatedParties=[party])), 400, "CRM-0004"
    )

    assert set(body["fields"]) == {f"relatedParties.0.{field}"}


@pytest.mark.parametrize("headers", [{}, {"CONTENT_TYPE": "application/json"}])
def test_alias_create_without_a_body_is_crm_0004(api, holder, headers):
    response = api.generic("POST", aliases_url(holder.id), **headers)

    assert_error(response, 400, "CRM-0004")
    assert not AliasAccount.all_objects.exists()


def test_alias_create_with_an_empty_object_is_crm_0003(api, holder):
    body = assert_error(api.post(aliases_url(holder.id), {}), 400, "CRM-0003")

    assert body["fields"] == {
        "ledgerId": "ledgerId is a required field",
        "accountId": "accountId is a required field",
    }
    assert not AliasAccount.all_objects.exists()


def test_alias_create_with_invalid_json_is_crm_0004(api, holder):
    response = api.post(aliases_url(holder.id), "{not json", content_type="application/json")

    assert_error(response, 400, "CRM-0004")


def test_alias_create_with_nul_byte_is_crm_0015(api, holder):
    response = api.post(aliases_url(holder.id), {"ledgerId": "L\x00", "accountId": "A"})

    assert_error(response, 400, "CRM-0015")


def test_alias_create_with_too_long_account_id_is_crm_0015(api, holder):
    response = api.post(aliases_url(holder.id), {"ledgerId": "L", "accountId": "A" * 257})

    assert_error(response, 400, "CRM-0015")


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ({"a": {"b": 1}}, "CRM-0001"),
        ({"a": None}, "CRM-0001"),
        ({"k" * 101: "v"}, "CRM-0002"),
        ({"a": "v" * 2001}, "CRM-0012"),
    ],
)
def test_alias_create_with_bad_metadata(api, holder, metadata, code):
    response = api.post(aliases_url(holder.id), alias_payload(metadata=metadata))

    assert_error(response, 400, code)


def test_alias_create_with_non_uuid_holder_id_is_crm_0005(api):
    body = assert_error(api.post(aliases_url("not-a-uuid"), alias_payload()), 400, "CRM-0005")

    assert "holder_id" in body["message"]


def test_alias_create_closing_date_in_the_past_is_accepted(api, holder):
    """CRM-0023 applies to updates only (docs/api.md §4.4)."""
    payload = alias_payload(bankingDetails={"closingDate": "2000-01-01"})

    response = api.post(aliases_url(holder.id), payload)

    assert response.status_code == 201
    assert response.json()["bankingDetails"] == {"closingDate": "2000-01-01"}


# --- related-party validation (docs/api.md §4.4) --------------------------------------------------

VALID_PARTY = {"document": "1", "name": "N", "role": "PRIMARY_HOLDER", "startDate": "2024-01-01"}


@pytest.mark.parametrize(
    ("party", "code"),
    [
        ({**VALID_PARTY, "document": "   "}, "CRM-0026"),
        ({k: v for k, v in VALID_PARTY.items() if k != "document"}, "CRM-0026"),
        ({**VALID_PARTY, "name": ""}, "CRM-0027"),
        ({**VALID_PARTY, "name": None}, "CRM-0027"),
        ({**VALID_PARTY, "role": "OWNER"}, "CRM-0025"),
        ({k: v for k, v in VALID_PARTY.items() if k != "role"}, "CRM-0025"),
        (None, "CRM-0025"),
        ({k: v for k, v in VALID_PARTY.items() if k != "startDate"}, "CRM-0028"),
        ({**VALID_PARTY, "startDate": ""}, "CRM-0028"),
        ({**VALID_PARTY, "endDate": "2023-12-31"}, "CRM-0029"),
    ],
)
def test_alias_create_related_party_rules(api, holder, party, code):
    response = api.post(aliases_url(holder.id), alias_payload(relatedParties=[party]))

    assert_error(response, 400, code)
    assert not AliasAccount.all_objects.exists()


def test_related_party_checks_run_in_reference_order(api, holder):
    """document -> name -> role -> startDate -> endDate; the first failure wins."""
    party = {"document": "", "name": "", "role": "X", "endDate": "2000-01-01"}

    assert_error(
        api.post(aliases_url(holder.id), alias_payload(relatedParties=[party])), 400, "CRM-0026"
    )
    party["document"] = "1"
    assert_error(
        api.post(aliases_url(holder.id), alias_payload(relatedParties=[party])), 400, "CRM-0027"
    )
    party["name"] = "N"
    assert_error(
        api.post(aliases_url(holder.id), alias_payload(relatedParties=[party])), 400, "CRM-0025"
    )
    party["role"] = "RESPONSIBLE_PARTY"
    assert_error(
        api.post(aliases_url(holder.id), alias_payload(relatedParties=[party])), 400, "CRM-0028"
    )


def test_related_party_end_date_same_day_is_allowed(api, holder):
    party = {**VALID_PARTY, "endDate": "2024-01-01T23:00:00Z"}

    response = api.post(aliases_url(holder.id), alias_payload(relatedParties=[party]))

    assert response.status_code == 201
    assert response.json()["relatedParties"][0]["endDate"] == "2024-01-01"


def test_related_party_with_unknown_field_is_crm_0007(api, holder):
    party = {**VALID_PARTY, "email": "x@example.com"}

    body = assert_error(
        api.post(aliases_url(holder.id), alias_payload(relatedParties=[party])), 400, "CRM-0007"
    )

    assert set(body["fields"]) == {"relatedParties.0.email"}


# --- A2 get ----------------------------------------------------------------------------------


def test_alias_get_returns_the_same_body_as_create(api, holder):
    created = api.post(aliases_url(holder.id), FULL_ALIAS).json()

    response = api.get(alias_url(holder.id, created["id"]))

    assert response.status_code == 200
    assert response.json() == created


def test_alias_get_unknown_is_crm_0008(api, holder):
    assert_error(api.get(alias_url(holder.id, uuid.uuid4())), 404, "CRM-0008")


def test_alias_get_under_another_holder_is_crm_0008(api, holder):
    alias = AliasFactory(holder=holder)
    other = HolderFactory()

    assert_error(api.get(alias_url(other.id, alias.id)), 404, "CRM-0008")


@pytest.mark.parametrize(
    ("holder_part", "alias_part", "name"),
    [
        ("bad", "0196a3f4-1c2b-7cde-8f00-000000000001", "holder_id"),
        ("0196a3f4-1c2b-7cde-8f00-000000000001", "bad", "alias_id"),
    ],
)
def test_alias_routes_with_non_uuid_path_are_crm_0005(api, holder_part, alias_part, name):
    for method in ("get", "patch", "delete"):
        body = assert_error(
            getattr(api, method)(alias_url(holder_part, alias_part)), 400, "CRM-0005"
        )
        assert name in body["message"]


def test_alias_get_soft_deleted_needs_include_deleted(api, holder):
    alias = AliasFactory(holder=holder)
    assert api.delete(alias_url(holder.id, alias.id)).status_code == 204

    assert_error(api.get(alias_url(holder.id, alias.id)), 404, "CRM-0008")
    response = api.get(alias_url(holder.id, alias.id), {"include_deleted": "TRUE"})

    assert response.status_code == 200
    assert TIMESTAMP.match(response.json()["deletedAt"])


def test_alias_get_trailing_slash_is_accepted(api, holder):
    alias = AliasFactory(holder=holder)

    assert api.get(alias_url(holder.id, alias.id) + "/").status_code == 200


def test_alias_put_is_crm_0904(api, holder):
    alias = AliasFactory(holder=holder)

    assert_error(api.put(alias_url(holder.id, alias.id), {}, format="json"), 405, "CRM-0904")


def test_alias_collection_under_holder_has_no_get(api, holder):
    assert_error(api.get(aliases_url(holder.id)), 405, "CRM-0904")


# --- A3 patch --------------------------------------------------------------------------------


@pytest.fixture
def full_alias(api, holder) -> dict:
    return api.post(aliases_url(holder.id), FULL_ALIAS).json()


def test_alias_patch_merges_banking_details_and_metadata(api, holder, full_alias):
    response = api.patch(
        alias_url(holder.id, full_alias["id"]),
        {
            "bankingDetails": {"branch": "0002", "iban": None, "closingDate": None},
            "metadata": {"tier": None, "segment": "retail"},
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["bankingDetails"] == {
        "branch": "0002",
        "account": "12345-1",
        "type": "CACC",
        "openingDate": "2024-01-15",
        "countryCode": "BR",
        "bankId": "341",
    }
    assert body["metadata"] == {"product": "main", "active": True, "segment": "retail"}
    assert body["regulatoryFields"] == full_alias["regulatoryFields"]
    assert body["relatedParties"] == full_alias["relatedParties"]
    assert body["updatedAt"] >= full_alias["updatedAt"]
    assert api.get(alias_url(holder.id, full_alias["id"])).json() == body


def test_alias_patch_recomputes_search_hashes(api, holder, full_alias):
    api.patch(
        alias_url(holder.id, full_alias["id"]),
        {"bankingDetails": {"account": "99999-9"}, "regulatoryFields": None},
    )

    def found(**query) -> int:
        return len(api.get("/v1/aliases", query).json()["items"])

    assert found(banking_details_account="99999-9") == 1
    assert found(banking_details_account="12345-1") == 0
    assert found(regulatory_fields_participant_document="12345678000190") == 0
    assert "regulatoryFields" not in api.get(alias_url(holder.id, full_alias["id"])).json()


def test_alias_patch_removes_whole_objects_with_null(api, holder, full_alias):
    body = api.patch(
        alias_url(holder.id, full_alias["id"]),
        {"bankingDetails": None, "metadata": None},
    ).json()

    assert "bankingDetails" not in body
    assert "metadata" not in body


def test_alias_patch_empty_body_only_touches_updated_at(api, holder, full_alias):
    body = api.patch(alias_url(holder.id, full_alias["id"]), {}).json()

    assert {k: v for k, v in body.items() if k != "updatedAt"} == {
        k: v for k, v in full_alias.items() if k != "updatedAt"
    }


def test_alias_patch_appends_related_parties(api, holder, full_alias):
    new_party = {
        "id": full_alias["relatedParties"][0]["id"],
        "document": "55566677788",
        "name": "Carla Responsavel",
        "role": "RESPONSIBLE_PARTY",
        "startDate": "2024-03-01",
    }

    body = api.patch(alias_url(holder.id, full_alias["id"]), {"relatedParties": [new_party]}).json()

    parties = body["relatedParties"]
    assert parties[:2] == full_alias["relatedParties"]
    assert len(parties) == 3
    assert parties[2] == {**new_party, "id": parties[2]["id"]}
    assert parties[2]["id"] not in {p["id"] for p in full_alias["relatedParties"]}
    assert UUID7.match(parties[2]["id"])


def test_alias_patch_empty_related_parties_does_nothing(api, holder, full_alias):
    body = api.patch(alias_url(holder.id, full_alias["id"]), {"relatedParties": []}).json()

    assert body["relatedParties"] == full_alias["relatedParties"]


def test_alias_patch_null_related_parties_removes_all_and_their_hashes(api, holder, full_alias):
    body = api.patch(alias_url(holder.id, full_alias["id"]), {"relatedParties": None}).json()

    assert "relatedParties" not in body
    assert not RelatedParty.objects.exists()
    found = api.get("/v1/aliases", {"related_party_document": "98765432100"}).json()
    assert found["items"] == []


@pytest.mark.parametrize(
    ("party", "code"),
    [
        ({**VALID_PARTY, "document": ""}, "CRM-0026"),
        ({**VALID_PARTY, "name": " "}, "CRM-0027"),
        ({**VALID_PARTY, "role": "primary_holder"}, "CRM-0025"),
        (None, "CRM-0025"),
        ({**VALID_PARTY, "startDate": None}, "CRM-0028"),
        ({**VALID_PARTY, "endDate": "2020-01-01"}, "CRM-0029"),
    ],
)
def test_alias_patch_related_party_rules(api, holder, full_alias, party, code):
    response = api.patch(alias_url(holder.id, full_alias["id"]), {"relatedParties": [party]})

    assert_error(response, 400, code)
    assert RelatedParty.objects.count() == 2


@pytest.mark.parametrize(
    "field",
    ["ledgerId", "accountId", "document", "type", "holderId", "id", "createdAt", "deletedAt"],
)
def test_alias_patch_immutable_field_is_crm_0007(api, holder, full_alias, field):
    response = api.patch(alias_url(holder.id, full_alias["id"]), {field: "x"})

    body = assert_error(response, 400, "CRM-0007")
    assert body["fields"] == {field: f"{field} is not an allowed field"}


def test_alias_patch_closing_date_before_creation_is_crm_0023(api, holder, full_alias):
    yesterday = (timezone.now() - dt.timedelta(days=1)).date().isoformat()

    response = api.patch(
        alias_url(holder.id, full_alias["id"]), {"bankingDetails": {"closingDate": yesterday}}
    )

    assert_error(response, 400, "CRM-0023")


def test_alias_patch_closing_date_on_creation_day_is_accepted(api, holder, full_alias):
    today = full_alias["createdAt"][:10]

    response = api.patch(
        alias_url(holder.id, full_alias["id"]), {"bankingDetails": {"closingDate": today}}
    )

    assert response.status_code == 200
    assert response.json()["bankingDetails"]["closingDate"] == today


def test_alias_patch_bad_closing_date_is_crm_0004(api, holder, full_alias):
    response = api.patch(
        alias_url(holder.id, full_alias["id"]), {"bankingDetails": {"closingDate": "tomorrow"}}
    )

    body = assert_error(response, 400, "CRM-0004")
    assert set(body["fields"]) == {"bankingDetails.closingDate"}


def test_alias_patch_metadata_nesting_is_crm_0001(api, holder, full_alias):
    response = api.patch(alias_url(holder.id, full_alias["id"]), {"metadata": {"a": {"b": 1}}})

    assert_error(response, 400, "CRM-0001")


@pytest.mark.parametrize("headers", [{}, {"CONTENT_TYPE": "application/json"}])
def test_alias_patch_without_a_body_is_crm_0004(api, holder, headers):
    alias = AliasFactory(holder=holder)
    updated_at = AliasAccount.objects.get(pk=alias.pk).updated_at

    response = api.generic("PATCH", alias_url(holder.id, alias.id), **headers)

    assert_error(response, 400, "CRM-0004")
    assert AliasAccount.objects.get(pk=alias.pk).updated_at == updated_at


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"accountId": "other"}, "CRM-0007"),
        ({"bankingDetails": "x"}, "CRM-0004"),
        ({"metadata": {"a": {"nested": 1}}}, "CRM-0001"),
        (None, "CRM-0004"),
    ],
)
def test_alias_patch_invalid_body_on_unknown_alias_is_400_not_404(api, holder, body, code):
    url = alias_url(holder.id, uuid.uuid4())
    response = api.generic("PATCH", url) if body is None else api.patch(url, body)

    assert_error(response, 400, code)


def test_alias_patch_unknown_is_crm_0008(api, holder):
    assert_error(api.patch(alias_url(holder.id, uuid.uuid4()), {}), 404, "CRM-0008")


def test_alias_patch_soft_deleted_is_crm_0008(api, holder):
    alias = AliasFactory(holder=holder)
    api.delete(alias_url(holder.id, alias.id))

    assert_error(api.patch(alias_url(holder.id, alias.id), {}), 404, "CRM-0008")


def test_alias_patch_under_another_holder_is_crm_0008(api, holder):
    alias = AliasFactory(holder=holder)

    response = api.patch(alias_url(HolderFactory().id, alias.id), {"metadata": {"a": "b"}})

    assert_error(response, 404, "CRM-0008")
    assert AliasAccount.objects.get(pk=alias.pk).metadata == {}


# --- A4 delete -------------------------------------------------------------------------------


def test_alias_soft_delete(api, holder):
    alias = AliasFactory(holder=holder)

    response = api.delete(alias_url(holder.id, alias.id))

    assert response.status_code == 204
    assert response.content == b""
    assert AliasAccount.all_objects.get(pk=alias.pk).deleted_at is not None
    assert_error(api.delete(alias_url(holder.id, alias.id)), 404, "CRM-0008")


def test_alias_hard_delete_erases_row_parties_and_history(api, holder, full_alias):
    api.patch(alias_url(holder.id, full_alias["id"]), {"metadata": {"x": "y"}})

    response = api.delete(alias_url(holder.id, full_alias["id"]) + "?hard_delete=true")

    assert response.status_code == 204
    assert not AliasAccount.all_objects.exists()
    assert not RelatedParty.objects.exists()
    entries = AuditEntry.objects.filter(
        object_type="alias", object_id=full_alias["id"], redacted=False
    )
    assert [entry.action for entry in entries] == ["hard_delete"]


def test_alias_hard_delete_removes_its_admin_log_and_leaves_one_audit_entry(
    api, holder, admin_user
):
    alias = AliasFactory(holder=holder)
    sibling = AliasFactory(holder=holder)
    admin_log_entry(admin_user, alias)
    kept = [admin_log_entry(admin_user, sibling), admin_log_entry(admin_user, holder)]

    response = api.delete(alias_url(holder.id, alias.id) + "?hard_delete=true")

    assert response.status_code == 204
    assert not LogEntry.objects.filter(object_id=str(alias.id)).exists()
    assert sorted(LogEntry.objects.values_list("pk", flat=True)) == sorted(e.pk for e in kept)
    entries = AuditEntry.objects.filter(object_type="alias", object_id=alias.id, redacted=False)
    assert [entry.action for entry in entries] == ["hard_delete"]
    assert AliasAccount.objects.filter(pk=sibling.pk).exists()


def test_alias_hard_delete_of_soft_deleted_alias_is_allowed(api, holder):
    alias = AliasFactory(holder=holder)
    api.delete(alias_url(holder.id, alias.id))

    response = api.delete(alias_url(holder.id, alias.id) + "?hard_delete=True")

    assert response.status_code == 204
    assert not AliasAccount.all_objects.exists()


def test_alias_hard_delete_unknown_is_crm_0008(api, holder):
    response = api.delete(alias_url(holder.id, uuid.uuid4()) + "?hard_delete=true")

    assert_error(response, 404, "CRM-0008")


def test_alias_delete_under_another_holder_is_crm_0008(api, holder):
    alias = AliasFactory(holder=holder)

    assert_error(api.delete(alias_url(HolderFactory().id, alias.id)), 404, "CRM-0008")
    assert AliasAccount.objects.filter(pk=alias.pk).exists()


# --- A5 related-party delete -----------------------------------------------------------------


def test_related_party_delete_removes_party_and_its_hash(api, holder, full_alias):
    removed, kept = full_alias["relatedParties"]

    response = api.delete(party_url(holder.id, full_alias["id"], removed["id"]))

    assert response.status_code == 204
    body = api.get(alias_url(holder.id, full_alias["id"])).json()
    assert body["relatedParties"] == [kept]
    assert body["updatedAt"] > full_alias["updatedAt"]
    assert api.get("/v1/aliases", {"related_party_document": "98765432100"}).json()["items"] == []
    assert RelatedParty.objects.filter(pk=removed["id"]).count() == 0


def test_related_party_delete_unknown_party_is_crm_0024(api, holder, full_alias):
    response = api.delete(party_url(holder.id, full_alias["id"], uuid.uuid4()))

    assert_error(response, 404, "CRM-0024")


def test_related_party_delete_party_of_another_alias_is_crm_0024(api, holder, full_alias):
    other = AliasFactory(holder=holder)
    party_id = full_alias["relatedParties"][0]["id"]

    assert_error(api.delete(party_url(holder.id, other.id, party_id)), 404, "CRM-0024")
    assert RelatedParty.objects.filter(pk=party_id).exists()


def test_related_party_delete_on_unknown_alias_is_crm_0008(api, holder, full_alias):
    party_id = full_alias["relatedParties"][0]["id"]

    assert_error(api.delete(party_url(holder.id, uuid.uuid4(), party_id)), 404, "CRM-0008")


def test_related_party_delete_on_soft_deleted_alias_is_crm_0008(api, holder, full_alias):
    api.delete(alias_url(holder.id, full_alias["id"]))
    party_id = full_alias["relatedParties"][0]["id"]

    assert_error(api.delete(party_url(holder.id, full_alias["id"], party_id)), 404, "CRM-0008")


def test_related_party_delete_with_non_uuid_id_is_crm_0005(api, holder, full_alias):
    body = assert_error(api.delete(party_url(holder.id, full_alias["id"], "nope")), 400, "CRM-0005")

    assert "related_party_id" in body["message"]


def test_alias_routes_need_the_organization_header(anonymous_api):
    response = anonymous_api.get(alias_url(uuid.uuid4(), uuid.uuid4()))

    assert_error(response, 400, "CRM-0018")
