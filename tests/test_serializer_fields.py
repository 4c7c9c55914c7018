"""`crm.api.serializers.unbound_copy`: each request serializer gets its own fields without DRF's
`deepcopy` of the declared ones. The copies must behave exactly as deep copies do, and share
nothing a request could change (binding, validator lists, nested fields, list children)."""

import copy

import pytest
from rest_framework import serializers

from aliases.serializers import AliasCreateSerializer
from crm.api import serializers as crm_serializers
from crm.api.errors import CRMError
from crm.api.serializers import validate_input
from holders.serializers import HolderCreateSerializer

HOLDER_BODIES = [
    {"type": "NATURAL_PERSON", "name": "Ana Costa", "document": "52998224725"},
    {
        "type": "LEGAL_PERSON",
        "name": "Empresa",
        "document": "11222333000181",
        "externalId": "X-1",
        "contact": {"primaryEmail": "a@example.com", "mobilePhone": "+5511987654321"},
        "addresses": {
            "primary": {
                "line1": "Rua A",
                "zipCode": "01000-000",
                "city": "SP",
                "state": "SP",
                "country": "BR",
            }
        },
        "legalPerson": {"tradeName": "Emp", "representative": {"name": "Rep", "document": "1"}},
        "metadata": {"segment": "retail", "n": 1},
    },
    {"type": "NATURAL_PERSON", "name": 7, "document": ["x"], "unknown": True},
    {"type": "ALIEN", "name": "", "document": "1", "contact": {"primaryEmail": "nope"}},
    {"type": "NATURAL_PERSON", "name": "A" * 5000, "document": "52998224725", "contact": []},
]
ALIAS_BODIES = [
    {"ledgerId": "l", "accountId": "a", "bankingDetails": {"branch": "0001", "account": "1-2"}},
    {
        "ledgerId": "l",
        "accountId": "a",
        "relatedParties": [
            {
                "document": "11144477735",
                "name": "Ana",
                "role": "LEGAL_REPRESENTATIVE",
                "startDate": "2025-01-01",
            },
            {"document": "", "role": "NOPE"},
            None,
        ],
    },
    {"ledgerId": 1, "accountId": None, "bankingDetails": "x", "relatedParties": {}},
]


def outcome(serializer_class, body):
    try:
        return ("ok", validate_input(serializer_class, body))
    except CRMError as error:
        return ("error", error.code, str(error.message), getattr(error, "fields", None))


@pytest.mark.parametrize(
    ("serializer_class", "body"),
    [(HolderCreateSerializer, body) for body in HOLDER_BODIES]
    + [(AliasCreateSerializer, body) for body in ALIAS_BODIES],
)
def test_copies_validate_exactly_as_deep_copies(serializer_class, body, monkeypatch):
    ours = outcome(serializer_class, copy.deepcopy(body))
    monkeypatch.setattr(crm_serializers, "unbound_copy", copy.deepcopy)
    drf = outcome(serializer_class, copy.deepcopy(body))
    assert ours == drf


def every_field(serializer):
    for field in serializer.fields.values():
        yield field
        if isinstance(field, serializers.Serializer):
            yield from every_field(field)
        child = getattr(field, "child", None)
        if child is not None:
            yield child
            if isinstance(child, serializers.Serializer):
                yield from every_field(child)


@pytest.mark.parametrize("serializer_class", [HolderCreateSerializer, AliasCreateSerializer])
def test_two_serializers_share_no_field_nor_validator_list(serializer_class):
    first, second = serializer_class(data={}), serializer_class(data={})
    fields_a, fields_b = list(every_field(first)), list(every_field(second))
    assert len(fields_a) == len(fields_b) > 10
    assert not {id(field) for field in fields_a} & {id(field) for field in fields_b}
    lists_a = {id(field.validators) for field in fields_a}
    assert not lists_a & {id(field.validators) for field in fields_b}
    for field in fields_a:
        assert field.parent is not None and field.root is first
        child = getattr(field, "child", None)
        if child is not None:
            assert child.parent is field
    declared = crm_serializers._declared[serializer_class].values()
    assert all(field.parent is None for field in declared)  # never bound, never used


def test_a_shared_response_serializer_gives_the_body_a_serializer_of_its_own_gives(api):
    """`crm.api.serializers.representation`: one response serializer per class answers for every
    instance, with the body `Serializer(instance).data` gives."""
    from aliases.models import AliasAccount, RelatedParty
    from aliases.serializers import AliasSerializer, RelatedPartySerializer
    from crm.api.serializers import representation
    from holders.models import Holder
    from holders.serializers import HolderSerializer

    holder = api.post(
        "/v1/holders",
        {
            "type": "NATURAL_PERSON",
            "name": "Ana Souza",
            "document": "12345678900",
            "externalId": "ext-1",
            "contact": {"primaryEmail": "ana@example.com"},
            "naturalPerson": {"motherName": "Maria"},
            "metadata": {"segment": "retail"},
        },
    ).json()
    party = {"document": "98765432100", "name": "Bia", "role": "PRIMARY_HOLDER"}
    party["startDate"] = "2025-01-02"
    alias = api.post(
        f"/v1/holders/{holder['id']}/aliases",
        {"ledgerId": "l1", "accountId": "a1", "relatedParties": [party]},
    ).json()
    for serializer_class, instance in (
        (HolderSerializer, Holder.objects.get(pk=holder["id"])),
        (AliasSerializer, AliasAccount.objects.get(pk=alias["id"])),
        (RelatedPartySerializer, RelatedParty.objects.get(alias_id=alias["id"])),
    ):
        assert representation(serializer_class, instance) == serializer_class(instance).data
    assert representation(HolderSerializer, Holder.objects.get(pk=holder["id"])) == holder
