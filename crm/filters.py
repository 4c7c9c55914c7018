"""Filter plumbing shared by the list endpoints (CONTRACT §3).

* `SearchHashFilter`: equality on an encrypted value through its search hash (index-backed).
* `RegistryFilterSet`: adds any number of `metadata.<key>=<value>` filters (AND); on PostgreSQL
  all of them are one containment on the organization-scoped metadata (`filter_scoped_metadata`,
  served by a GIN index with per-organization statistics).
* `apply_filters`: what the list selectors call; refuses NUL bytes and oversized values and
  reports bad values as 400 CRM-0016.
"""

from typing import Any

import django_filters
from django.db import connection
from django.db.models import F, Func, JSONField
from django.db.models.fields.json import KeyTransform

from crm.errors import CRMError
from crm.search import lookup_hashes
from crm.serializers import MAX_METADATA_VALUE_LENGTH

METADATA_PREFIX = "metadata."
MAX_QUERY_VALUE_LENGTH = 2000


class SearchHashFilter(django_filters.CharFilter):
    """`?<param>=<plaintext>` matched against `<hash column>` with the organization's hashes."""

    def __init__(self, *, hash_field: str, search_field: str, **kwargs: Any) -> None:
        self.search_field = search_field
        super().__init__(field_name=hash_field, lookup_expr="in", **kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        hashes = lookup_hashes(self.parent.organization_id, self.search_field, value)
        return qs.filter(**{f"{self.field_name}__in": hashes})


class RegistryFilterSet(django_filters.FilterSet):
    """Base FilterSet: declared filters plus `metadata.<key>` equality filters, for one
    organization (search hashes are per organization)."""

    def __init__(self, data=None, queryset=None, *, organization_id, **kwargs: Any) -> None:
        self.organization_id = organization_id
        super().__init__(data, queryset, **kwargs)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        metadata = self.metadata_filters()
        if metadata and connection.vendor == "postgresql":
            return filter_scoped_metadata(queryset, self.organization_id, metadata)
        for index, (key, value) in enumerate(metadata.items()):
            queryset = filter_metadata(queryset, key, value, alias=f"metadata_filter_{index}")
        return queryset

    def metadata_filters(self) -> dict[str, str]:
        filters: dict[str, str] = {}
        for param in self.data:
            if not param.startswith(METADATA_PREFIX):
                continue
            key = param[len(METADATA_PREFIX) :]
            value = self.data.get(param)
            if not key:
                raise CRMError("CRM-0020", "The metadata filter needs a key: metadata.<key>=value.")
            if len(value) > MAX_METADATA_VALUE_LENGTH:
                raise CRMError("CRM-0012")
            filters[key] = value
        return filters


def filter_metadata(queryset, key: str, value: str, *, alias: str = "metadata_filter"):
    """String equality on one metadata key: a JSON key lookup (SQLite; the list filters on
    PostgreSQL use `filter_scoped_metadata`). On PostgreSQL this is a containment query."""
    if connection.vendor == "postgresql":
        return queryset.filter(metadata__contains={key: value})
    return queryset.alias(**{alias: KeyTransform(key, "metadata")}).filter(**{alias: value})


def scoped_metadata(organization_id, metadata: dict) -> dict:
    """The value `crm_scoped_metadata(metadata, organization_id)` contains when `metadata`
    does: the pairs plus the organization id under the key "" (holders migration 0005)."""
    return {**metadata, "": str(organization_id)}


def filter_scoped_metadata(queryset, organization_id, metadata: dict):
    """PostgreSQL: every `metadata.<k>=<v>` filter in one containment on the organization-scoped
    metadata, `crm_scoped_metadata(metadata, organization_id) @> {k: v, ..., "": o}`,
    served by the GIN index on that expression: one index probe that returns only this
    organization's matches, and a selectivity estimate from the statistics ANALYZE keeps on
    the expression (per organization, all keys together), which is what lets the planner choose
    between reading the matches and walking the organization in id order."""
    expression = Func(
        F("metadata"),
        F("organization_id"),
        function="crm_scoped_metadata",
        output_field=JSONField(),
    )
    return queryset.alias(scoped_metadata=expression).filter(
        scoped_metadata__contains=scoped_metadata(organization_id, metadata)
    )


def apply_filters(
    filterset_class: type["RegistryFilterSet"],
    params: Any,
    queryset,
    *,
    organization_id,
):
    """Run a list's query parameters through its FilterSet. Query-string hygiene first (NUL
    bytes, sizes), then the filters; every bad value is a 400 CRM-0016 naming the parameter."""
    for name, values in params.lists():
        for value in values:
            if "\x00" in name or "\x00" in value:
                raise CRMError("CRM-0016", "Query parameters must not contain NUL bytes.")
            if len(value) > MAX_QUERY_VALUE_LENGTH and not name.startswith(METADATA_PREFIX):
                raise CRMError("CRM-0016", f"Invalid query parameter '{name[:100]}'.")
    filterset = filterset_class(params, queryset, organization_id=organization_id)
    if not filterset.is_valid():
        fields = {name: "; ".join(errors) for name, errors in filterset.errors.items()}
        names = ", ".join(fields)
        raise CRMError("CRM-0016", f"Invalid query parameter(s): {names}.", fields=fields)
    return filterset.qs
