"""Holder reads (docs/api.md §2, §3): one organization's holders, by id or all of them (the list
endpoint filters them with `holders.filtersets.HolderFilterSet`).

Every read is scoped to the organization, so another organization's holder is simply not
found (404 CRM-0006), never forbidden.
"""

import uuid

from crm.crypto.search import lookup_hashes
from crm.models import SoftDeleteQuerySet, one_or_error
from holders.models import DOCUMENT_FIELD, Holder


def holder_queryset(
    *, organization_id: uuid.UUID, include_deleted: bool = False
) -> SoftDeleteQuerySet:
    """The organization's holders: live ones, or all with `include_deleted`. The list endpoint
    pages it after `HolderFilterSet` (the view set's `filterset_class`)."""
    return Holder.all_objects.for_organization(organization_id).with_deleted(include_deleted)


def holder_get(
    *,
    organization_id: uuid.UUID,
    holder_id: uuid.UUID,
    include_deleted: bool = False,
    for_update: bool = False,
    columns: tuple[str, ...] = (),
) -> Holder:
    """The organization's holder or 404 CRM-0006 (also for another organization's id);
    `for_update` and `columns` as in `crm.models.one_or_error`."""
    return one_or_error(
        Holder,
        "CRM-0006",
        include_deleted=include_deleted,
        for_update=for_update,
        columns=columns,
        organization_id=organization_id,
        id=holder_id,
    )


def holder_document_in_use(
    *, organization_id: uuid.UUID, document: str, exclude_id: uuid.UUID | None = None
) -> bool:
    """True when a live holder of the organization has this document, under the current or a
    previous hash key (index-backed). The unique constraint stays the authority; this read lets
    a form say so before anything is written."""
    return (
        holder_queryset(organization_id=organization_id)
        .filter(document_hash__in=lookup_hashes(organization_id, DOCUMENT_FIELD, document))
        .exclude(id=exclude_id)
        .exists()
    )
