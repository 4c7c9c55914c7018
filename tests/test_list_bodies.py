"""A list page builds its bodies from named tuples of the columns the response serializer
reads (`crm.api.viewsets.ListMixin`), not from model instances: the bytes on the wire must be
exactly those the serializer gives for the same records (key order, nulls, date formats), for
every shape a record can take."""

import pytest

from aliases.models import AliasAccount
from aliases.serializers import AliasSerializer
from aliases.services import alias_soft_delete
from holders.models import Holder
from holders.serializers import HolderSerializer
from holders.services import holder_soft_delete
from tests.conftest import ORG_A
from tests.factories import AliasFactory, HolderFactory

ADDRESS = {"line1": "Rua A, 1", "zipCode": "01000-000", "city": "São Paulo", "state": "SP"}


def _varied_holders() -> list[Holder]:
    natural = HolderFactory(
        externalId="ext-1",
        addresses={"primary": {**ADDRESS, "country": "BR"}, "additional2": {"line1": "x"}},
        contact={"primaryEmail": "ana@example.com", "mobilePhone": "+55 11 99999-0000"},
        naturalPerson={"birthDate": "1990-02-03", "motherName": "Maria", "gender": "F"},
        metadata={"segment": "retail", "score": 7, "vip": True, "none": None},
    )
    legal = HolderFactory(
        type="LEGAL_PERSON",
        name="Acme Comércio Ltda",
        legalPerson={
            "tradeName": "Acme",
            "foundingDate": "2001-09-10",
            "representative": {"name": "João", "document": "11144477735", "email": "j@a.com"},
        },
    )
    bare = HolderFactory(contact=None, naturalPerson=None, addresses=None, metadata={})
    deleted = HolderFactory(name="Gone Person")
    holder_soft_delete(organization_id=ORG_A, holder_id=deleted.id)
    return [natural, legal, bare, deleted]


def _expected(response, serializer_class, records) -> bytes:
    """What the serializer's path (`serializer_class(records, many=True).data`) renders to,
    with the response's own renderer and envelope."""
    body = {"items": serializer_class(records, many=True).data, "page": 1, "limit": 100}
    return response.accepted_renderer.render(
        body, response.accepted_media_type, response.renderer_context
    )


@pytest.mark.parametrize("query", ["", "&include_deleted=true", "&sort_order=desc"])
def test_a_holder_page_is_byte_identical_to_the_serializers(api, query):
    _varied_holders()

    response = api.get(f"/v1/holders?limit=100{query}")

    assert response.status_code == 200
    records = Holder.all_objects.filter(organization_id=ORG_A).order_by(
        "-id" if "desc" in query else "id"
    )
    if "include_deleted" not in query:
        records = records.filter(deleted_at__isnull=True)
    assert len(response.json()["items"]) == len(records) >= 3
    assert response.content == _expected(response, HolderSerializer, list(records))


@pytest.mark.parametrize("query", ["", "&include_deleted=true"])
def test_an_alias_page_is_byte_identical_to_the_serializers(api, query):
    holder = HolderFactory()
    party = {"document": "11144477735", "name": "Rep", "role": "LEGAL_REPRESENTATIVE"}
    AliasFactory(
        holder=holder,
        bankingDetails={
            "branch": "0001",
            "account": "12345-6",
            "iban": "BR1800000000141455123924100C2",
            "type": "CACC",
            "openingDate": "2020-01-02",
            "countryCode": "BR",
        },
        regulatoryFields={"participantDocument": "12345678000190"},
        relatedParties=[
            {**party, "startDate": "2024-01-01", "endDate": "2025-01-01"},
            {**party, "name": "Other", "role": "PRIMARY_HOLDER", "startDate": "2024-02-01"},
        ],
        metadata={"channel": "branch", "n": 1},
    )
    AliasFactory(holder=holder, bankingDetails=None, metadata={})
    gone = AliasFactory(holder=holder)
    alias_soft_delete(organization_id=ORG_A, holder_id=holder.id, alias_id=gone.id)

    response = api.get(f"/v1/aliases?limit=100{query}")

    assert response.status_code == 200
    records = AliasAccount.all_objects.filter(organization_id=ORG_A).order_by("id")
    if not query:
        records = records.filter(deleted_at__isnull=True)
    records = records.prefetch_related("related_parties")
    assert len(response.json()["items"]) == len(records) >= 2
    assert response.content == _expected(response, AliasSerializer, list(records))


def test_a_page_item_is_the_records_own_body(api):
    holder = _varied_holders()[0]
    alias = AliasFactory(holder=holder)

    listed = api.get("/v1/holders?limit=100").json()["items"]
    aliases = api.get(f"/v1/aliases?holder_id={holder.id}").json()["items"]

    assert api.get(f"/v1/holders/{holder.id}").json() in listed
    assert aliases == [api.get(f"/v1/holders/{holder.id}/aliases/{alias.id}").json()]
