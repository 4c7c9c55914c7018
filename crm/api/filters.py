"""Filter plumbing shared by the list endpoints (docs/api.md §3).

* `SearchHashFilter`: equality on an encrypted value through its search hash (index-backed).
* `RegistryFilterSet`: adds any number of `metadata.<key>=<value>` filters (AND), each a join
  to the metadata pair index (`crm.crypto.metadata_index`): flat whatever the value's frequency.
* `apply_filters`: runs a FilterSet over one request's query parameters; refuses NUL bytes and
  oversized values and reports bad values as 400 CRM-0016.
* `RegistryFilterBackend`: the DRF filter backend of every `/v1` list. A view set declares
  `filterset_class`; `ListModelMixin.list` calls `filter_queryset`, which runs `apply_filters`.
"""

from typing import Any

import django_filters
from django_filters.rest_framework import DjangoFilterBackend

from crm.api.errors import CRMError
from crm.api.pagination import request_keyset
from crm.api.serializers import MAX_METADATA_VALUE_LENGTH
from crm.crypto.metadata_index import filter_metadata_pairs
from crm.crypto.search import lookup_hashes

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
        if not metadata:
            return queryset
        keyset = request_keyset(self.data)
        return filter_metadata_pairs(queryset, self.organization_id, metadata, keyset)

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


class RegistryFilterBackend(DjangoFilterBackend):
    """django-filter's DRF backend with the registry's rules: the view set's `filterset_class`
    gets the request's organization (search hashes are per organization) and its errors are
    400 CRM-0016 (`apply_filters`), never DRF's validation error."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        return apply_filters(
            filterset_class,
            request.query_params,
            queryset,
            organization_id=request.organization_id,
        )
