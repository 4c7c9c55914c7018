"""The inputs that once gave a 500 or poisoned a record (issue 9), each answered with the
contract's 400 and `fields`, and nothing stored."""

import pytest

from aliases.models import AliasAccount
from holders.models import Holder
from tests.factories import AliasFactory, HolderFactory, alias_payload, holder_payload

pytestmark = pytest.mark.django_db

OVERFLOWING_DATES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
PARTY = {"document": "1", "name": "N", "role": "PRIMARY_HOLDER", "startDate": "2024-01-01"}


def post_raw(api, path, raw: str):
    return api.post(path, raw, content_type="application/json")


@pytest.mark.parametrize("date", OVERFLOWING_DATES)
@pytest.mark.parametrize(
    ("field", "nest"), [("birthDate", "naturalPerson"), ("foundingDate", "legalPerson")]
)
def test_holder_date_that_overflows_utc_is_crm_0004_naming_the_field(api, date, field, nest):
    response = api.post("/v1/holders", holder_payload(**{nest: {field: date}}))
    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0004"
    assert list(response.json()["fields"]) == [f"{nest}.{field}"]
    assert not Holder.all_objects.exists()


@pytest.mark.parametrize("date", OVERFLOWING_DATES)
@pytest.mark.parametrize(
    ("body", "where"),
    [
        (lambda d: {"bankingDetails": {"openingDate": d}}, "bankingDetails.openingDate"),
        (lambda d: {"bankingDetails": {"closingDate": d}}, "bankingDetails.closingDate"),
        (lambda d: {"relatedParties": [{**PARTY, "startDate": d}]}, "relatedParties.0.startDate"),
        (lambda d: {"relatedParties": [{**PARTY, "endDate": d}]}, "relatedParties.0.endDate"),
    ],
)
def test_alias_date_that_overflows_utc_is_crm_0004_naming_the_field(api, date, body, where):
    holder = HolderFactory()
    response = api.post(f"/v1/holders/{holder.id}/aliases", alias_payload(**body(date)))
    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0004"
    assert list(response.json()["fields"]) == [where]
    assert not AliasAccount.all_objects.exists()


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" + "0" * 400])
def test_metadata_number_out_of_range_is_crm_0004_naming_the_key(api, number):
    raw = '{"type":"NATURAL_PERSON","name":"A","document":"1","metadata":{"k":NUMBER}}'
    raw = raw.replace("NUMBER", number)
    response = post_raw(api, "/v1/holders", raw)
    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0004"
    assert response.json()["fields"] == {"metadata.k": "number out of range"}
    assert not Holder.all_objects.exists()


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (
            '{"type":"NATURAL_PERSON","name":"A","document":"1","metadata":{"k":"\\udfff"}}',
            "metadata.k",
        ),
        ('{"type":"NATURAL_PERSON","name":"A\\ud800","document":"1"}', "name"),
        (
            '{"type":"NATURAL_PERSON","name":"A","document":"1","contact":{"\\udfff":"x"}}',
            "contact.\\udfff",
        ),
    ],
)
def test_lone_surrogate_is_crm_0015_and_nothing_is_stored(api, raw, where):
    response = post_raw(api, "/v1/holders", raw)
    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0015"
    assert list(response.json()["fields"]) == [where]
    assert not Holder.all_objects.exists()


def test_patch_with_a_lone_surrogate_cannot_poison_a_stored_holder(api):
    holder = HolderFactory(metadata={"x": "ok"})
    response = api.patch(
        f"/v1/holders/{holder.id}", '{"metadata":{"x":"\\ud800"}}', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0015"
    assert api.get(f"/v1/holders/{holder.id}").json()["metadata"] == {"x": "ok"}
    assert api.get("/v1/holders").status_code == 200


def test_patch_with_a_lone_surrogate_cannot_poison_a_stored_alias(api):
    alias = AliasFactory()
    path = f"/v1/holders/{alias.holder_id}/aliases/{alias.id}"
    response = api.patch(path, '{"metadata":{"\\udc00":"v"}}', content_type="application/json")
    assert response.status_code == 400
    assert api.get(path).status_code == 200
    assert api.get("/v1/aliases").status_code == 200


def test_unknown_key_with_a_lone_surrogate_is_echoed_safely(api):
    response = post_raw(api, "/v1/holders", '{"\\ud800\\u00e9": 1}')
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "CRM-0015"
    assert list(body["fields"]) == ["\\ud800é"]


def test_admin_path_shares_the_validation(db):
    """The admin validates with the same serializers (crm.api.serializers.validate_input)."""
    from crm.api.errors import CRMError
    from crm.api.serializers import validate_input
    from holders.serializers import HolderCreateSerializer

    with pytest.raises(CRMError) as excinfo:
        validate_input(HolderCreateSerializer, {**holder_payload(), "metadata": {"k": "\udfff"}})
    assert excinfo.value.code == "CRM-0015"
    with pytest.raises(CRMError) as excinfo:
        validate_input(HolderCreateSerializer, {**holder_payload(), "metadata": {"k": 10**400}})
    assert excinfo.value.code == "CRM-0004"


def test_related_parties_are_capped_per_request(api, settings):
    settings.MAX_RELATED_PARTIES = 3
    holder = HolderFactory()
    body = alias_payload(relatedParties=[PARTY] * 4)
    response = api.post(f"/v1/holders/{holder.id}/aliases", body)
    assert response.status_code == 400
    assert response.json()["code"] == "CRM-0015"
    assert list(response.json()["fields"]) == ["relatedParties"]
    assert not AliasAccount.all_objects.exists()


def test_related_parties_are_capped_per_alias_across_appends(api, settings):
    settings.MAX_RELATED_PARTIES = 3
    alias = AliasFactory(relatedParties=[PARTY, PARTY])
    path = f"/v1/holders/{alias.holder_id}/aliases/{alias.id}"
    assert api.patch(path, {"relatedParties": [PARTY]}).status_code == 200
    response = api.patch(path, {"relatedParties": [PARTY], "metadata": {"k": "v"}})
    assert response.status_code == 400
    assert response.json() == {
        "code": "CRM-0015",
        "title": "Bad Request",
        "message": "An alias account carries at most 3 related parties.",
        "fields": {"relatedParties": "at most 3 related parties per alias account"},
    }
    stored = api.get(path).json()
    assert len(stored["relatedParties"]) == 3
    assert "metadata" not in stored  # the refused PATCH changed nothing
