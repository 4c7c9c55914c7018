"""Alias endpoints A1-A6 (ref §2.2): A1-A5 under `/v1/holders/{holder_id}/aliases`, the list
A6 at `/v1/aliases`. Reads through `aliases.selectors`, writes through `aliases.services`."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from aliases import selectors, services
from aliases.filtersets import AliasFilterSet
from aliases.serializers import AliasCreateSerializer, AliasSerializer, AliasUpdateSerializer
from crm.openapi import (
    COMMON_HEADERS,
    HARD_DELETE,
    INCLUDE_DELETED,
    METADATA_FILTER,
    filter_parameters,
)
from crm.viewsets import DestroyMixin, MergePatchMixin, RegistryViewSet

HOLDER_ID = OpenApiParameter("holder_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
ALIAS_ID = OpenApiParameter("alias_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
RELATED_PARTY_ID = OpenApiParameter("related_party_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class AliasViewSetBase(RegistryViewSet):
    resource = "aliases"
    not_found_code = "CRM-0008"
    serializer_class = AliasSerializer


@extend_schema_view(
    create=extend_schema(
        summary="Create an alias account for a holder",
        parameters=[*COMMON_HEADERS, HOLDER_ID],
        responses={201: AliasSerializer},
    ),
    retrieve=extend_schema(
        summary="Get an alias account",
        parameters=[*COMMON_HEADERS, HOLDER_ID, ALIAS_ID, INCLUDE_DELETED],
    ),
    partial_update=extend_schema(
        summary="Update an alias account (JSON merge patch; relatedParties appends)",
        parameters=[*COMMON_HEADERS, HOLDER_ID, ALIAS_ID],
        responses={200: AliasSerializer},
    ),
    destroy=extend_schema(
        summary="Delete an alias account (soft by default)",
        parameters=[*COMMON_HEADERS, HOLDER_ID, ALIAS_ID, HARD_DELETE],
        responses={204: None},
    ),
    remove_related_party=extend_schema(
        summary="Remove a related party from an alias account",
        parameters=[*COMMON_HEADERS, HOLDER_ID, ALIAS_ID, RELATED_PARTY_ID],
        request=None,
        responses={204: None},
    ),
)
class HolderAliasViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
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

    def perform_create(self, serializer) -> None:
        serializer.instance = services.alias_create(
            organization_id=self.organization_id,
            holder_id=self.path_id("holder_id"),
            data=serializer.validated_data,
        )

    def perform_update(self, serializer) -> None:
        serializer.instance = services.alias_update(**self._ids(), patch=serializer.validated_data)

    def perform_destroy(self, *, hard: bool) -> None:
        delete = services.alias_hard_delete if hard else services.alias_soft_delete
        delete(**self._ids())

    @action(
        detail=True,
        methods=["delete"],
        url_path=r"related-parties/(?P<related_party_id>[^/]+)",
        url_name="related-party",
    )
    def remove_related_party(self, request, *args, **kwargs):
        services.related_party_remove(
            **self._ids(), related_party_id=self.path_id("related_party_id")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="List alias accounts",
        parameters=[
            *COMMON_HEADERS,
            INCLUDE_DELETED,
            *filter_parameters(AliasFilterSet),
            METADATA_FILTER,
        ],
    ),
)
class AliasViewSet(mixins.ListModelMixin, AliasViewSetBase):
    """A6: the organization's aliases, filtered (every filter of CONTRACT §3) and paged."""

    def get_queryset(self):
        return selectors.alias_list(
            organization_id=self.organization_id,
            filters=self.request.query_params,
            include_deleted=self.include_deleted(),
        )
