"""Holder endpoints H1-H5 (ref §2.1)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from crm.openapi import COMMON_HEADERS, HARD_DELETE, INCLUDE_DELETED, METADATA_FILTER
from crm.serializers import validate_input
from crm.views import RegistryViewSet
from holders import services
from holders.filtersets import HolderFilterSet
from holders.models import Holder
from holders.serializers import HolderCreateSerializer, HolderSerializer, HolderUpdateSerializer


@extend_schema_view(
    list=extend_schema(
        summary="List holders",
        parameters=[*COMMON_HEADERS, INCLUDE_DELETED, METADATA_FILTER],
    ),
    create=extend_schema(
        summary="Create a holder",
        parameters=COMMON_HEADERS,
        request=HolderCreateSerializer,
        responses={201: HolderSerializer},
    ),
    retrieve=extend_schema(summary="Get a holder", parameters=[*COMMON_HEADERS, INCLUDE_DELETED]),
    partial_update=extend_schema(
        summary="Update a holder (JSON merge patch)",
        parameters=COMMON_HEADERS,
        request=HolderUpdateSerializer,
        responses={200: HolderSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a holder (soft by default)",
        parameters=[*COMMON_HEADERS, HARD_DELETE],
        responses={204: None},
    ),
)
class HolderViewSet(RegistryViewSet):
    resource = "holders"
    not_found_code = "CRM-0006"
    uuid_path_params = ("id",)
    lookup_url_kwarg = "id"
    lookup_value_regex = "[^/]+"
    model = Holder
    serializer_class = HolderSerializer
    filterset_class = HolderFilterSet

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(HolderSerializer(page, many=True).data)

    def create(self, request):
        data = validate_input(HolderCreateSerializer, self.json_body())
        holder = services.holder_create(organization_id=self.organization_id, data=data)
        return Response(HolderSerializer(holder).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, id=None):
        holder = services.get_holder(
            organization_id=self.organization_id,
            holder_id=self.path_ids["id"],
            include_deleted=self.include_deleted(),
        )
        return Response(HolderSerializer(holder).data)

    def partial_update(self, request, id=None):
        patch = validate_input(HolderUpdateSerializer, self.json_body())
        holder = services.holder_update(
            organization_id=self.organization_id, holder_id=self.path_ids["id"], patch=patch
        )
        return Response(HolderSerializer(holder).data)

    def destroy(self, request, id=None):
        if self.hard_delete_requested():
            services.holder_hard_delete(
                organization_id=self.organization_id, holder_id=self.path_ids["id"]
            )
        else:
            services.holder_soft_delete(
                organization_id=self.organization_id, holder_id=self.path_ids["id"]
            )
        return Response(status=status.HTTP_204_NO_CONTENT)
