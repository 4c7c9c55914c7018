"""Holder body validation: every error code the holder endpoints return, in the reference's
order (docs/api.md §4.7), with the stricter rules of docs/api.md §4."""

import uuid

import pytest

from holders.models import Holder
from tests.factories import HolderFactory, holder_payload


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert set(body) <= {"code", "title", "message", "fields"}
    return body


@pytest.mark.parametrize("missing", ["type", "name", "document"])
def test_holder_create_missing_required_field_is_crm_0003(api, missing):
    payload = holder_payload()
    del payload[missing]

    body = _error(api.post("/v1/holders", payload), 400, "CRM-0003")

    assert body["title"] == "Missing Fields in Request"
    assert body["fields"] == {missing: f"{missing} is a required field"}


def test_holder_create_lists_every_missing_field(api):
    body = _error(api.post("/v1/holders", {}), 400, "CRM-0003")

    assert set(body["fields"]) == {"type", "name", "document"}


@pytest.mark.parametrize("field", ["name", "document"])
def test_holder_create_empty_or_null_required_field_is_crm_0003(api, field):
    _error(api.post("/v1/holders", holder_payload(**{field: ""})), 400, "CRM-0003")
    _error(api.post("/v1/holders", holder_payload(**{field: None})), 400, "CRM-0003")


@pytest.mark.parametrize("bad_type", ["natural_person", "COMPANY", "LEGAL PERSON"])
def test_holder_create_unknown_type_is_crm_0015_with_fields(api, bad_type):
    body = _error(api.post("/v1/holders", holder_payload(type=bad_type)), 400, "CRM-0015")

    assert "type" in body["fields"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": 123}, "name"),
        ({"document": ["1"]}, "document"),
        ({"externalId": True}, "externalId"),
        ({"contact": "x"}, "contact"),
        ({"addresses": {"primary": []}}, "addresses.primary"),
        ({"metadata": "x"}, "metadata"),
        ({"naturalPerson": {"birthDate": 19900101}}, "naturalPerson.birthDate"),
    ],
)
def test_holder_create_wrong_json_type_is_crm_0004_naming_the_field(api, payload, field):
    body = _error(api.post("/v1/holders", holder_payload(**payload)), 400, "CRM-0004")

    assert field in body["fields"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"naturalPerson": {"birthDate": "17/05/1990"}}, "naturalPerson.birthDate"),
        ({"legalPerson": {"foundingDate": "2020-13-01"}}, "legalPerson.foundingDate"),
        ({"legalPerson": {"foundingDate": "2021-02-30"}}, "legalPerson.foundingDate"),
        ({"legalPerson": {"foundingDate": "yesterday"}}, "legalPerson.foundingDate"),
    ],
)
def test_holder_create_unparseable_date_is_crm_0004_never_500(api, payload, field):
    body = _error(api.post("/v1/holders", holder_payload(**payload)), 400, "CRM-0004")

    assert field in body["fields"]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2015-03-01", "2015-03-01"),
        ("2015-03-01T10:20:30", "2015-03-01"),
        ("2015-03-01T23:30:00-03:00", "2015-03-02"),
        ("2015-03-01T10:20:30.123Z", "2015-03-01"),
    ],
)
def test_holder_dates_accept_reference_formats_and_return_yyyy_mm_dd(api, value, stored):
    body = api.post("/v1/holders", holder_payload(legalPerson={"foundingDate": value})).json()

    assert body["legalPerson"]["foundingDate"] == stored


@pytest.mark.parametrize(
    "payload",
    [
        {"unknown": 1},
        {"id": str(uuid.uuid4())},
        {"createdAt": "2020-01-01T00:00:00Z"},
        {"contact": {"fax": "1"}},
        {"addresses": {"secondary": {}}},
        {"legalPerson": {"representative": {"cpf": "1"}}},
    ],
)
def test_holder_create_unknown_field_is_crm_0007(api, payload):
    body = _error(api.post("/v1/holders", holder_payload(**payload)), 400, "CRM-0007")

    assert body["title"] == "Unexpected Fields in the Request"
    assert body["fields"]
    assert Holder.all_objects.count() == 0


@pytest.mark.parametrize("field", ["type", "document", "id", "createdAt", "deletedAt", "foo"])
def test_holder_patch_immutable_or_unknown_field_is_crm_0007(api, field):
    holder = HolderFactory()

    body = _error(api.patch(f"/v1/holders/{holder.id}", {field: "LEGAL_PERSON"}), 400, "CRM-0007")

    assert field in body["fields"]


def test_crm_0007_never_echoes_the_submitted_value(api):
    holder = HolderFactory()

    body = api.patch(f"/v1/holders/{holder.id}", {"document": "99988877766"}).json()

    assert "99988877766" not in str(body)


@pytest.mark.parametrize("value", [None, ""])
def test_holder_patch_removing_the_name_is_crm_0003(api, value):
    holder = HolderFactory()

    body = _error(api.patch(f"/v1/holders/{holder.id}", {"name": value}), 400, "CRM-0003")

    assert body["fields"] == {"name": "name is a required field"}


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "John\x00Doe"},
        {"contact": {"primaryEmail": "a\x00@x.com"}},
        {"metadata": {"k": "v\x00"}},
        {"metadata": {"k\x00": "v"}},
    ],
)
def test_holder_nul_bytes_are_crm_0015(api, payload):
    _error(api.post("/v1/holders", holder_payload(**payload)), 400, "CRM-0015")


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({"country": "Brazil"}, "addresses.primary.country"),
        ({"country": "XX"}, "addresses.primary.country"),
        ({"country": "br"}, "addresses.primary.country"),
        ({"line1": "x" * 257}, "addresses.primary.line1"),
        ({"zipCode": "1" * 21}, "addresses.primary.zipCode"),
        ({"city": "c" * 101}, "addresses.primary.city"),
        ({"description": "d" * 101}, "addresses.primary.description"),
    ],
)
def test_holder_address_rules_are_crm_0015(api, address, field):
    payload = holder_payload(addresses={"primary": address})

    body = _error(api.post("/v1/holders", payload), 400, "CRM-0015")

    assert field in body["fields"]


def test_holder_metadata_nested_object_is_crm_0001(api):
    _error(api.post("/v1/holders", holder_payload(metadata={"a": {"b": 1}})), 400, "CRM-0001")


def test_holder_metadata_null_value_on_create_is_crm_0001(api):
    _error(api.post("/v1/holders", holder_payload(metadata={"a": None})), 400, "CRM-0001")


def test_holder_metadata_key_too_long_is_crm_0002(api):
    _error(api.post("/v1/holders", holder_payload(metadata={"k" * 101: "v"})), 400, "CRM-0002")


def test_holder_metadata_value_too_long_is_crm_0012(api):
    payload = holder_payload(metadata={"k": "v" * 2001})

    _error(api.post("/v1/holders", payload), 400, "CRM-0012")


def test_holder_metadata_array_value_is_crm_0012(api):
    _error(api.post("/v1/holders", holder_payload(metadata={"k": [1, 2]})), 400, "CRM-0012")


def test_holder_metadata_limits_are_inclusive(api):
    payload = holder_payload(metadata={"k" * 100: "v" * 2000})

    assert api.post("/v1/holders", payload).status_code == 201


def test_holder_metadata_more_than_100_keys_is_crm_0015(api):
    payload = holder_payload(metadata={f"k{i}": i for i in range(101)})

    _error(api.post("/v1/holders", payload), 400, "CRM-0015")


@pytest.mark.parametrize(
    "raw",
    [b"{", b"not json", b"[]", b'"string"', b"", b'{"name": NaN}', b"\xff\xfe"],
)
def test_malformed_body_is_crm_0004(api, raw):
    response = api.generic("POST", "/v1/holders", raw, content_type="application/json")

    _error(response, 400, "CRM-0004")


def test_body_nested_deeper_than_10_is_400(api):
    nested: dict = {"x": 1}
    for _ in range(12):
        nested = {"a": nested}

    response = api.post("/v1/holders", holder_payload(metadata=nested))

    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0015"


def test_body_over_1_mib_is_413_crm_0905(api):
    payload = holder_payload(name="x" * (2 * 1024 * 1024))

    body = _error(api.post("/v1/holders", payload), 413, "CRM-0905")

    assert body["title"] == "Request Entity Too Large"
    assert Holder.all_objects.count() == 0


def test_unknown_field_wins_over_missing_field(api):
    _error(api.post("/v1/holders", {"foo": 1}), 400, "CRM-0007")


def test_type_error_wins_over_unknown_field(api):
    _error(api.post("/v1/holders", {"foo": 1, "name": 5}), 400, "CRM-0004")


def test_nothing_is_written_when_validation_fails(api):
    api.post("/v1/holders", holder_payload(addresses={"primary": {"country": "ZZ"}}))

    assert Holder.all_objects.count() == 0


@pytest.mark.parametrize("body", [b" ", b"\n\t \r\n"])
def test_holder_create_with_a_blank_body_is_crm_0004(api, body):
    response = api.post("/v1/holders", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0004"
    assert not Holder.all_objects.exists()


def test_parser_refuses_a_body_over_the_limit_even_without_a_content_length(settings):
    """The middleware refuses a declared oversized body (413 CRM-0905); the parser reads at
    most one byte more than the limit, so an undeclared one is refused the same."""
    from crm.api.errors import CRMError
    from crm.api.parsers import parse_json_object

    settings.MAX_REQUEST_BODY_BYTES = 10
    with pytest.raises(CRMError) as excinfo:
        parse_json_object(b'{"name": "more than ten bytes"}')
    assert excinfo.value.code == "CRM-0905"
