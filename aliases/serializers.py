"""Alias wire format (docs/api.md §4.2, §4.4, §4.5): strict input serializers for POST and PATCH,
and the response serializer.

Related parties are only *decoded* here (types, dates, unknown keys: docs/api.md §4.7); their
business rules (CRM-0025..0029, in docs/api.md §4.4 order) run in
`services.validate_related_parties`.
"""

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db.models import prefetch_related_objects
from rest_framework import serializers

from aliases.models import AliasAccount, RelatedParty, RelatedPartyRole
from crm.api.documents import join, prune_empty
from crm.api.serializers import (
    ApiDateField,
    EnumField,
    MetadataField,
    StrictSerializer,
    optional_string,
    representation,
    required_string,
)
from holders.models import HolderType
from holders.serializers import timestamps


class BankingDetailsSerializer(StrictSerializer):
    branch = optional_string()
    account = optional_string()
    type = optional_string(50)
    openingDate = ApiDateField()
    closingDate = ApiDateField()
    iban = optional_string(64)
    countryCode = optional_string()
    bankId = optional_string()


BANKING_DETAILS_ORDER = tuple(BankingDetailsSerializer().fields)


class RegulatoryFieldsSerializer(StrictSerializer):
    participantDocument = optional_string()


def role_field(**kwargs: Any) -> EnumField:
    """A related party's role: any string is decoded, so that the service answers an unknown
    role with CRM-0025 in the documented order (docs/api.md §4.4); the OpenAPI document lists
    the valid roles."""
    return EnumField(tuple(RelatedPartyRole.values), checked=False, **kwargs)


class RelatedPartyInputSerializer(StrictSerializer):
    """One related party as sent. `id` is accepted and ignored (the server assigns one)."""

    id = optional_string(36)
    document = optional_string()
    name = optional_string()
    role = role_field(required=False, max_length=32)
    startDate = ApiDateField()
    endDate = ApiDateField()


def related_parties_field() -> serializers.ListField:
    # A null element decodes to None; the service answers it with CRM-0025 (docs/api.md §4.4).
    # The cap per request is the cap per alias; the service checks the total after an append.
    return serializers.ListField(
        child=RelatedPartyInputSerializer(allow_null=True),
        required=False,
        allow_null=True,
        allow_empty=True,
        max_length=settings.MAX_RELATED_PARTIES,
    )


class RelatedPartySerializer(serializers.Serializer):
    """Related party response: `endDate` is left out when unset."""

    id = serializers.UUIDField()
    document = serializers.CharField()
    name = serializers.CharField()
    role = role_field()
    startDate = serializers.DateField()
    endDate = serializers.DateField(required=False)

    def to_representation(self, party: RelatedParty) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": str(party.id),
            "document": party.document,
            "name": party.name,
            "role": party.role,
            "startDate": party.start_date.isoformat(),
        }
        if party.end_date:
            body["endDate"] = party.end_date.isoformat()
        return body


def _in_order(value: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """The documented key order (JSON objects are unordered, but people read them)."""
    return {key: value[key] for key in order if key in value}


class AliasSerializer(serializers.Serializer):
    """Alias response. `document`, `type`, `bankingDetails`, `regulatoryFields`,
    `relatedParties` and `metadata` are left out when empty; `ledgerId`, `accountId`,
    `holderId`, `createdAt`, `updatedAt` and `deletedAt` are always present. Built by hand in
    `to_representation` (one pass); the declared fields document the schema. Expects
    `related_parties` to be prefetched on lists."""

    id = serializers.UUIDField()
    holderId = serializers.UUIDField()
    document = serializers.CharField(required=False)
    type = serializers.ChoiceField(choices=HolderType.choices, required=False)
    ledgerId = serializers.CharField()
    accountId = serializers.CharField()
    bankingDetails = BankingDetailsSerializer(required=False)
    regulatoryFields = RegulatoryFieldsSerializer(required=False)
    relatedParties = RelatedPartySerializer(many=True, required=False)
    metadata = serializers.DictField(required=False)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    deletedAt = serializers.DateTimeField(allow_null=True)

    # The alias attributes `alias_body` reads: all a list page loads of a row
    # (`crm.api.viewsets.ListMixin`; the related parties are read apart), never the hashes.
    reads = (
        "id",
        "holder_id",
        "document",
        "type",
        "ledger_id",
        "account_id",
        "banking_details",
        "banking_details_private",
        "participant_document",
        "metadata",
        "created_at",
        "updated_at",
        "deleted_at",
    )

    def to_representation(self, alias: AliasAccount) -> dict[str, Any]:
        return alias_body(alias)


def alias_body(
    alias: AliasAccount, parties: Sequence[RelatedParty] | None = None
) -> dict[str, Any]:
    """The alias's response body (`AliasSerializer`), with `parties` as its related parties
    when given (a create's, as just built), else those stored (by id). What its versions
    keep (`crm.lifecycle.versions`: the services pass it as the writes' `body`)."""
    if parties is None:
        parties = alias.related_parties.all()
    body: dict[str, Any] = {"id": str(alias.id), "holderId": str(alias.holder_id)}
    if alias.document:
        body["document"] = alias.document
    if alias.type:
        body["type"] = alias.type
    body["ledgerId"] = alias.ledger_id
    body["accountId"] = alias.account_id
    optional = {
        "bankingDetails": _in_order(
            prune_empty(join(alias.banking_details, alias.banking_details_private)),
            BANKING_DETAILS_ORDER,
        ),
        "regulatoryFields": prune_empty({"participantDocument": alias.participant_document}),
        "relatedParties": [representation(RelatedPartySerializer, party) for party in parties],
        "metadata": alias.metadata or None,
    }
    body.update({key: value for key, value in optional.items() if value})
    return {**body, **timestamps(alias)}


def alias_version_body(
    alias: AliasAccount, parties: Sequence[RelatedParty] | None = None
) -> dict[str, Any]:
    """`alias_body` for a version (`crm.lifecycle.versions`: the services' `body`). Stored
    parties are read once into the alias's prefetch cache, so the response built from the same
    alias after the write reads them no second time: a change costs no extra query."""
    if parties is None:
        prefetch_related_objects([alias], "related_parties")
    return alias_body(alias, parties)


class AliasCreateSerializer(StrictSerializer):
    """`CreateAliasRequest`: ledgerId and accountId required (free strings, docs/api.md §4.2)."""

    response_serializer_class = AliasSerializer

    ledgerId = required_string()
    accountId = required_string()
    bankingDetails = BankingDetailsSerializer(required=False, allow_null=True)
    regulatoryFields = RegulatoryFieldsSerializer(required=False, allow_null=True)
    relatedParties = related_parties_field()
    metadata = MetadataField()


class AliasUpdateSerializer(StrictSerializer):
    """`UpdateAliasRequest`: a JSON merge patch. `ledgerId`, `accountId`, `document`, `type`,
    `holderId` are immutable and so not declared (CRM-0007); `relatedParties` appends."""

    response_serializer_class = AliasSerializer

    bankingDetails = BankingDetailsSerializer(required=False, allow_null=True)
    regulatoryFields = RegulatoryFieldsSerializer(required=False, allow_null=True)
    relatedParties = related_parties_field()
    metadata = MetadataField(allow_null_values=True)
