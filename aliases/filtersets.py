"""Alias list filters (docs/api.md §3.2, docs/api.md §3): every one of them honoured and
index-backed.

Plaintext filters match columns; encrypted values match their search hashes; related-party
filters match any party of the alias (a subquery on the party table, so no duplicate rows).
"""

import django_filters

from aliases.models import (
    BANKING_ACCOUNT_FIELD,
    BANKING_IBAN_FIELD,
    DOCUMENT_FIELD,
    PARTICIPANT_DOCUMENT_FIELD,
    RELATED_PARTY_DOCUMENT_FIELD,
    AliasAccount,
    RelatedParty,
)
from crm.api.filters import RegistryFilterSet, SearchHashFilter
from crm.crypto.search import lookup_hashes


class AliasFilterSet(RegistryFilterSet):
    holder_id = django_filters.UUIDFilter(field_name="holder_id")
    account_id = django_filters.CharFilter(field_name="account_id")
    ledger_id = django_filters.CharFilter(field_name="ledger_id")
    document = SearchHashFilter(hash_field="document_hash", search_field=DOCUMENT_FIELD)
    banking_details_branch = django_filters.CharFilter(field_name="banking_branch")
    banking_details_account = SearchHashFilter(
        hash_field="banking_account_hash", search_field=BANKING_ACCOUNT_FIELD
    )
    banking_details_iban = SearchHashFilter(
        hash_field="banking_iban_hash", search_field=BANKING_IBAN_FIELD
    )
    regulatory_fields_participant_document = SearchHashFilter(
        hash_field="participant_document_hash", search_field=PARTICIPANT_DOCUMENT_FIELD
    )
    related_party_document = django_filters.CharFilter(method="filter_related_party_document")
    related_party_role = django_filters.CharFilter(method="filter_related_party_role")

    class Meta:
        model = AliasAccount
        fields = [
            "holder_id",
            "account_id",
            "ledger_id",
            "document",
            "banking_details_branch",
            "banking_details_account",
            "banking_details_iban",
            "regulatory_fields_participant_document",
            "related_party_document",
            "related_party_role",
        ]

    def _parties(self):
        return RelatedParty.objects.filter(organization_id=self.organization_id)

    def filter_related_party_document(self, queryset, name, value):
        hashes = lookup_hashes(self.organization_id, RELATED_PARTY_DOCUMENT_FIELD, value)
        parties = self._parties().filter(document_hash__in=hashes)
        return queryset.filter(id__in=parties.values("alias_id"))

    def filter_related_party_role(self, queryset, name, value):
        parties = self._parties().filter(role=value)
        return queryset.filter(id__in=parties.values("alias_id"))
