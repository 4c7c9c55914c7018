"""Holder endpoints H1-H5 (docs/api.md §3) and the holder's past (§12: versions, `as_of`):
reads through `holders.selectors`, list filters in `holders.filtersets`, writes through
`holders.services` (with the request's `If-Match`); the OpenAPI text is `holders.schema`."""

from crm.api.history import HistoryMixin
from crm.api.viewsets import (
    CreateMixin,
    DestroyMixin,
    ListMixin,
    MergePatchMixin,
    RegistryViewSet,
)
from holders import selectors, services
from holders.filtersets import HolderFilterSet
from holders.schema import holder_schema
from holders.serializers import HolderCreateSerializer, HolderSerializer, HolderUpdateSerializer


@holder_schema
class HolderViewSet(
    ListMixin,
    CreateMixin,
    HistoryMixin,
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
    filterset_class = HolderFilterSet

    def get_queryset(self):
        return selectors.holder_queryset(
            organization_id=self.organization_id, include_deleted=self.include_deleted()
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
            if_match=self.if_match,
        )

    def perform_destroy(self, *, hard: bool) -> None:
        delete = services.holder_hard_delete if hard else services.holder_soft_delete
        delete(
            organization_id=self.organization_id,
            holder_id=self.path_id("id"),
            if_match=self.if_match,
        )
