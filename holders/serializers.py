"""Holder wire format (docs/api.md §4.1, §4.3-§4.6, §4.12): strict input serializers for POST and
PATCH, and the response serializer."""

from collections.abc import Sequence
from typing import Any

from rest_framework import serializers

from crm.api.documents import join, prune_empty
from crm.api.serializers import (
    ApiDateField,
    CountryField,
    EmailField,
    EnumField,
    MetadataField,
    StrictCharField,
    StrictSerializer,
    optional_string,
    representation,
    required_string,
    timestamp,
)
from holders.models import Holder, HolderType


def timestamps(record) -> dict[str, str | None]:
    """`createdAt`, `updatedAt` and `deletedAt` (null while live), always present."""
    return {
        "createdAt": timestamp(record.created_at),
        "updatedAt": timestamp(record.updated_at),
        "deletedAt": timestamp(record.deleted_at),
    }


class AddressSerializer(StrictSerializer):
    line1 = optional_string(256)
    line2 = optional_string(256)
    zipCode = optional_string(20)
    city = optional_string(100)
    state = optional_string(100)
    country = CountryField()
    description = optional_string(100)


class AddressesSerializer(StrictSerializer):
    primary = AddressSerializer(required=False, allow_null=True)
    additional1 = AddressSerializer(required=False, allow_null=True)
    additional2 = AddressSerializer(required=False, allow_null=True)


class ContactSerializer(StrictSerializer):
    primaryEmail = EmailField(required=False)
    secondaryEmail = EmailField(required=False)
    mobilePhone = optional_string(50)
    otherPhone = optional_string(50)


class NaturalPersonSerializer(StrictSerializer):
    favoriteName = optional_string()
    socialName = optional_string()
    gender = optional_string(50)
    birthDate = ApiDateField()
    civilStatus = optional_string(50)
    nationality = optional_string(100)
    motherName = optional_string()
    fatherName = optional_string()
    status = optional_string(50)


class RepresentativeSerializer(StrictSerializer):
    name = optional_string()
    document = optional_string()
    email = EmailField(required=False)
    role = optional_string(100)


class LegalPersonSerializer(StrictSerializer):
    tradeName = optional_string()
    activity = optional_string()
    type = optional_string(100)
    foundingDate = ApiDateField()
    size = optional_string(50)
    status = optional_string(50)
    representative = RepresentativeSerializer(required=False, allow_null=True)


ADDRESS_ALWAYS = ("line1", "zipCode", "city", "state", "country")


def address_representation(address: dict[str, Any]) -> dict[str, Any]:
    """Address slots always carry line1/zipCode/city/state/country ("" when unset) and line2
    (null when unset), like the reference's shared Address model."""
    shaped: dict[str, Any] = {key: address.get(key) or "" for key in ADDRESS_ALWAYS}
    shaped["line2"] = address.get("line2")
    if address.get("description"):
        shaped["description"] = address["description"]
    return {
        key: shaped[key]
        for key in ("line1", "line2", "zipCode", "city", "state", "country", "description")
        if key in shaped
    }


class HolderSerializer(serializers.Serializer):
    """Holder response. Empty optional fields are left out; `createdAt`, `updatedAt` and
    `deletedAt` are always present. Built by hand in `to_representation` (one pass, one
    decryption per encrypted column); the declared fields document the schema."""

    id = serializers.UUIDField()
    externalId = serializers.CharField(required=False)
    type = serializers.ChoiceField(choices=HolderType.choices)
    name = serializers.CharField()
    document = serializers.CharField()
    addresses = AddressesSerializer(required=False)
    contact = ContactSerializer(required=False)
    naturalPerson = NaturalPersonSerializer(required=False)
    legalPerson = LegalPersonSerializer(required=False)
    metadata = serializers.DictField(required=False)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    deletedAt = serializers.DateTimeField(allow_null=True)

    # The holder attributes `to_representation` reads: all a list page loads of a row
    # (`crm.api.viewsets.ListMixin`), never the search hashes.
    reads = (
        "id",
        "external_id",
        "type",
        "name",
        "document",
        "addresses",
        "contact",
        "natural_person",
        "natural_person_private",
        "legal_person",
        "legal_person_private",
        "metadata",
        "created_at",
        "updated_at",
        "deleted_at",
    )

    def to_representation(self, holder: Holder) -> dict[str, Any]:
        body: dict[str, Any] = {"id": str(holder.id)}
        if holder.external_id:
            body["externalId"] = holder.external_id
        body["type"] = holder.type
        body["name"] = holder.name
        body["document"] = holder.document
        if holder.addresses:
            slots = {
                slot: address_representation(value)
                for slot, value in holder.addresses.items()
                if value
            }
            if slots:
                body["addresses"] = slots
        optional = {
            "contact": prune_empty(holder.contact),
            "naturalPerson": prune_empty(
                join(holder.natural_person, holder.natural_person_private)
            ),
            "legalPerson": prune_empty(join(holder.legal_person, holder.legal_person_private)),
            "metadata": holder.metadata or None,
        }
        body.update({key: value for key, value in optional.items() if value})
        return {**body, **timestamps(holder)}


def holder_body(holder: Holder, parts: Sequence[Any] | None = None) -> dict[str, Any]:
    """The holder's response body (`HolderSerializer`; a holder's body shows none of its
    parts). What its versions keep (`crm.lifecycle.versions`: the services pass it as the
    writes' `body`)."""
    return representation(HolderSerializer, holder)


class HolderCreateSerializer(StrictSerializer):
    """`CreateHolderRequest`: type, name and document required."""

    response_serializer_class = HolderSerializer

    type = EnumField(
        choices=tuple(HolderType.values),
        labels=dict(HolderType.choices),
        required=True,
        max_length=16,
    )
    name = required_string()
    document = required_string(100)
    externalId = optional_string()
    addresses = AddressesSerializer(required=False, allow_null=True)
    contact = ContactSerializer(required=False, allow_null=True)
    naturalPerson = NaturalPersonSerializer(required=False, allow_null=True)
    legalPerson = LegalPersonSerializer(required=False, allow_null=True)
    metadata = MetadataField()


class HolderUpdateSerializer(StrictSerializer):
    """`UpdateHolderRequest`: a JSON merge patch; `type` and `document` are immutable
    (CRM-0007), `name` cannot be removed (CRM-0003)."""

    response_serializer_class = HolderSerializer

    name = StrictCharField(required=False, allow_null=False, allow_blank=False)
    externalId = optional_string()
    addresses = AddressesSerializer(required=False, allow_null=True)
    contact = ContactSerializer(required=False, allow_null=True)
    naturalPerson = NaturalPersonSerializer(required=False, allow_null=True)
    legalPerson = LegalPersonSerializer(required=False, allow_null=True)
    metadata = MetadataField(allow_null_values=True)
