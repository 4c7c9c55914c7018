"""Alias endpoints A1-A6 (docs/api.md §3): A1-A5 under `/v1/holders/{holder_id}/aliases`, the list
A6 at `/v1/aliases`, and an alias's past under its holder (§12: versions, `as_of`). Reads through
`aliases.selectors`, list filters in `aliases.filtersets`, writes through `aliases.services`
(with the request's `If-Match`); the OpenAPI text is `aliases.schema`."""

from typing import Any

from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from aliases import selectors, services
from aliases.filtersets import AliasFilterSet
from aliases.schema import alias_list_schema, holder_alias_schema
from aliases.serializers import (
    AliasCreateSerializer,
    AliasSerializer,
    AliasUpdateSerializer,
    alias_body,
)
from crm.api.history import HistoryMixin
from crm.api.viewsets import (
    CreateMixin,
    DestroyMixin,
    ListMixin,
    MergePatchMixin,
    RegistryViewSet,
)


class AliasViewSetBase(RegistryViewSet):
    resource = "aliases"
    not_found_code = "CRM-0008"
    serializer_class = AliasSerializer


@holder_alias_schema
class HolderAliasViewSet(
    CreateMixin,
    HistoryMixin,
    MergePatchMixin,
    DestroyMixin,
    AliasViewSetBase,
):
    """A1-A5: alias routes nested under their holder. The alias must belong to the holder in
    the path (404 CRM-0008 otherwise)."""

    lookup_url_kwarg = "alias_id"
    input_serializer_classes = {
        "create": AliasCreateSerializer,
        "partial_update": AliasUpdateSerializer,
    }

    def _ids(self) -> dict:
        return {
            "organization_id": self.organization_id,
            "holder_id": self.path_id("holder_id"),
            "alias_id": self.path_id("alias_id"),
        }

    def get_object(self):
        return selectors.alias_get(**self._ids(), include_deleted=self.include_deleted())

    def owns(self, body: dict[str, Any]) -> bool:
        """A past body of the alias answers only under its own holder (404 CRM-0008
        otherwise, as for the alias itself)."""
        return body.get("holderId") == str(self.path_id("holder_id"))

    def perform_create(self, serializer) -> None:
        serializer.instance = services.alias_create(
            organization_id=self.organization_id,
            holder_id=self.path_id("holder_id"),
            data=serializer.validated_data,
        )

    def perform_update(self, serializer) -> None:
        serializer.instance = services.alias_update(
            **self._ids(), patch=serializer.validated_data, if_match=self.if_match
        )

    def perform_destroy(self, *, hard: bool) -> None:
        delete = services.alias_hard_delete if hard else services.alias_soft_delete
        delete(**self._ids(), if_match=self.if_match)

    @action(
        detail=True,
        methods=["delete"],
        url_path=r"related-parties/(?P<related_party_id>[^/]+)",
        url_name="related-party",
    )
    def remove_related_party(self, request, *args, **kwargs):
        services.related_party_remove(
            **self._ids(),
            related_party_id=self.path_id("related_party_id"),
            if_match=self.if_match,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@alias_list_schema
class AliasViewSet(ListMixin, AliasViewSetBase):
    """A6: the organization's aliases, filtered (every filter of docs/api.md §3) and paged."""

    filterset_class = AliasFilterSet

    def get_queryset(self):
        return selectors.alias_list(
            organization_id=self.organization_id, include_deleted=self.include_deleted()
        )

    def bodies(self, rows: list) -> list[dict[str, Any]]:
        parties = selectors.related_parties_of([row.id for row in rows])
        return [alias_body(row, parties[row.id]) for row in rows]
