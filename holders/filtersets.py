"""Holder list filters (docs/api.md §3.2): external_id, document (by search hash),
metadata.<key>."""

import django_filters

from crm.api.filters import RegistryFilterSet, SearchHashFilter
from holders.models import DOCUMENT_FIELD, Holder


class HolderFilterSet(RegistryFilterSet):
    external_id = django_filters.CharFilter(field_name="external_id")
    document = SearchHashFilter(hash_field="document_hash", search_field=DOCUMENT_FIELD)

    class Meta:
        model = Holder
        fields = ["external_id", "document"]
