"""Alias endpoints A1-A6 (ref §2.2): A1-A5 under `/v1/holders/{holder_id}/aliases`, the list
A6 at `/v1/aliases`."""

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from aliases import services
from aliases.filtersets import AliasFilterSet
from aliases.models import AliasAccount, RelatedParty
from aliases.serializers import AliasCreateSerializer, AliasSerializer, AliasUpdateSerializer
from crm.openapi import COMMON_HEADERS, HARD_DELETE, INCLUDE_DELETED, METADATA_FILTER
from crm.serializers import validate_input
from crm.views import RegistryViewSet

HOLDER_ID = OpenApiParameter("holder_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
ALIAS_ID = OpenApiParameter("alias_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
RELATED_PARTY_ID = OpenApiParameter("related_party_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


def with_related_parties(queryset):
    """One extra query for a whole page of aliases (no N+1)."""
    return queryset.prefetch_related(
        Prefetch("related_parties", queryset=RelatedParty.objects.order_by("id"))
    )


@extend_schema_view(
    create=extend_schema(
        summary="Create an alias account for a holder",
        parameters=[*COMMON_HEADERS, HOLDER_ID],
        request=AliasCreateSerializer,
        responses={201: AliasSerializer},
    ),
    retrieve=extend_schema(
        summary="Get an alias account",
        parameters=[*COMMON_HEADERS, HOLDER_ID, ALIAS_ID, INCLUDE_DELETED],
    ),
    partial_update=extend_schema(
        summary="Update an alias account (JSON merge patch; relatedParties appends)",
        parameters=[*COMMON_HEADERS, HOLDER_ID, ALIAS_ID],
        request=AliasUpdateSerializer,
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
class HolderAliasViewSet(RegistryViewSet):
    """A1-A5: alias routes nested under their holder. The alias must belong to the holder in
    the path (404 CRM-0008 otherwise)."""

    resource = "aliases"
    not_found_code = "CRM-0008"
    uuid_path_params = ("holder_id", "alias_id", "related_party_id")
    lookup_url_kwarg = "alias_id"
    lookup_value_regex = "[^/]+"
    queryset = AliasAccount.objects.none()  # for the OpenAPI generator; get_queryset scopes
    serializer_class = AliasSerializer

    def get_queryset(self):
        return AliasAccount.all_objects.for_organization(self.organization_id)

    def _ids(self) -> dict:
        return {
            "organization_id": self.organization_id,
            "holder_id": self.path_ids["holder_id"],
            "alias_id": self.path_ids["alias_id"],
        }

    def create(self, request, holder_id=None):
        data = validate_input(AliasCreateSerializer, request.data)
        alias = services.alias_create(
            organization_id=self.organization_id,
            holder_id=self.path_ids["holder_id"],
            data=data,
        )
        return Response(AliasSerializer(alias).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, holder_id=None, alias_id=None):
        alias = services.get_alias(**self._ids(), include_deleted=self.include_deleted())
        return Response(AliasSerializer(alias).data)

    def partial_update(self, request, holder_id=None, alias_id=None):
        patch = validate_input(AliasUpdateSerializer, request.data)
        alias = services.alias_update(**self._ids(), patch=patch)
        return Response(AliasSerializer(alias).data)

    def destroy(self, request, holder_id=None, alias_id=None):
        if self.hard_delete_requested():
            services.alias_hard_delete(**self._ids())
        else:
            services.alias_soft_delete(**self._ids())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(
        detail=True,
        methods=["delete"],
        url_path=r"related-parties/(?P<related_party_id>[^/]+)",
        url_name="related-party",
    )
    def remove_related_party(self, request, holder_id=None, alias_id=None, related_party_id=None):
        services.related_party_remove(
            **self._ids(), related_party_id=self.path_ids["related_party_id"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="List alias accounts",
        parameters=[*COMMON_HEADERS, INCLUDE_DELETED, METADATA_FILTER],
        responses={200: AliasSerializer(many=True)},
    ),
)
class AliasViewSet(RegistryViewSet):
    """A6: the organization's aliases, filtered (every filter of CONTRACT §3) and paged."""

    resource = "aliases"
    not_found_code = "CRM-0008"
    queryset = AliasAccount.objects.none()  # for the OpenAPI generator; get_queryset scopes
    serializer_class = AliasSerializer
    filterset_class = AliasFilterSet

    def get_queryset(self):
        return with_related_parties(
            AliasAccount.all_objects.for_organization(self.organization_id).with_deleted(
                self.include_deleted()
            )
        )

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(AliasSerializer(page, many=True).data)
