"""Holder endpoints H1-H5 (ref §2.1): reads through `holders.selectors`, writes through
`holders.services`."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from crm.openapi import (
    COMMON_HEADERS,
    HARD_DELETE,
    INCLUDE_DELETED,
    METADATA_FILTER,
    filter_parameters,
)
from crm.viewsets import DestroyMixin, MergePatchMixin, RegistryViewSet
from holders import selectors, services
from holders.filtersets import HolderFilterSet
from holders.serializers import HolderCreateSerializer, HolderSerializer, HolderUpdateSerializer


@extend_schema_view(
    list=extend_schema(
        summary="List holders",
        parameters=[
            *COMMON_HEADERS,
            INCLUDE_DELETED,
            *filter_parameters(HolderFilterSet),
            METADATA_FILTER,
        ],
    ),
    create=extend_schema(
        summary="Create a holder",
        parameters=COMMON_HEADERS,
        responses={201: HolderSerializer},
    ),
    retrieve=extend_schema(summary="Get a holder", parameters=[*COMMON_HEADERS, INCLUDE_DELETED]),
    partial_update=extend_schema(
        summary="Update a holder (JSON merge patch)",
        parameters=COMMON_HEADERS,
        responses={200: HolderSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a holder (soft by default)",
        parameters=[*COMMON_HEADERS, HARD_DELETE],
        responses={204: None},
    ),
)
class HolderViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    MergePatchMixin,
    DestroyMixin,
    RegistryViewSet,
):
    resource = "holders"
    not_found_code = "CRM-0006"
    lookup_url_kwarg = "id"
    serializer_class = HolderSerializer
    input_serializer_classes = {
        "create": HolderCreateSerializer,
        "partial_update": HolderUpdateSerializer,
    }

    def get_queryset(self):
        return selectors.holder_list(
            organization_id=self.organization_id,
            filters=self.request.query_params,
            include_deleted=self.include_deleted(),
        )

    def get_object(self):
        return selectors.holder_get(
            organization_id=self.organization_id,
            holder_id=self.path_id("id"),
            include_deleted=self.include_deleted(),
        )

    def perform_create(self, serializer) -> None:
        serializer.instance = services.holder_create(
            organization_id=self.organization_id, data=serializer.validated_data
        )

    def perform_update(self, serializer) -> None:
        serializer.instance = services.holder_update(
            organization_id=self.organization_id,
            holder_id=self.path_id("id"),
            patch=serializer.validated_data,
        )

    def perform_destroy(self, *, hard: bool) -> None:
        delete = services.holder_hard_delete if hard else services.holder_soft_delete
        delete(organization_id=self.organization_id, holder_id=self.path_id("id"))
