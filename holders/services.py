"""Holder writes: create, update (merge patch), soft delete, restore, hard delete.

The API, the admin and the `hard_delete` command all call these; each runs in one transaction
and records an audit entry (field names, never values). Create and update also maintain the
name word index (`HolderNameToken`), which the hard delete erases with the holder.
"""

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm import audit
from crm.db import is_unique_violation
from crm.errors import CRMError
from crm.lifecycle import mark_soft_deleted
from crm.merge_patch import changed_paths, merge_patch, prune_empty
from crm.nested import join, split
from crm.search import lookup_hashes, search_hash
from holders.models import LEGAL_PERSON_PRIVATE, NATURAL_PERSON_PRIVATE, Holder

DOCUMENT_FIELD = "holder.document"
OBJECT_TYPE = "holder"

# Erasure loads (and so decrypts) nothing personal: it must work under a lost key too.
ERASURE_COLUMNS = ("id", "organization_id", "deleted_at")

# Wire keys a PATCH may change (everything else is immutable or unknown: CRM-0007).
MUTABLE_STATE = (
    "name",
    "externalId",
    "addresses",
    "contact",
    "naturalPerson",
    "legalPerson",
    "metadata",
)


def holder_state(holder: Holder) -> dict[str, Any]:
    """The mutable part of a holder in wire shape (the document a merge patch applies to)."""
    return prune_empty(
        {
            "name": holder.name,
            "externalId": holder.external_id,
            "addresses": holder.addresses,
            "contact": holder.contact,
            "naturalPerson": join(holder.natural_person, holder.natural_person_private),
            "legalPerson": join(holder.legal_person, holder.legal_person_private),
            "metadata": holder.metadata,
        }
    )


def _write_state(holder: Holder, state: dict[str, Any]) -> None:
    holder.name = state["name"]
    holder.external_id = state.get("externalId") or None
    holder.addresses = state.get("addresses") or None
    holder.contact = state.get("contact") or None
    holder.natural_person, holder.natural_person_private = split(
        state.get("naturalPerson"), NATURAL_PERSON_PRIVATE
    )
    holder.legal_person, holder.legal_person_private = split(
        state.get("legalPerson"), LEGAL_PERSON_PRIVATE
    )
    holder.metadata = state.get("metadata") or {}


def _save_unique(holder: Holder, **save_kwargs: Any) -> None:
    """Save; a live duplicate document in the organization is 409 CRM-0010 (the database
    constraint decides, so concurrent requests cannot both win)."""
    try:
        with transaction.atomic():
            holder.save(**save_kwargs)
    except IntegrityError as exc:
        if is_unique_violation(
            exc, constraint="holder_document_unique_live", column="document_hash"
        ):
            raise CRMError("CRM-0010") from exc
        raise


def get_holder(
    *,
    organization_id: uuid.UUID,
    holder_id: uuid.UUID,
    include_deleted: bool = False,
    for_update: bool = False,
    columns: tuple[str, ...] = (),
) -> Holder:
    """The organization's holder or 404 CRM-0006 (also for another organization's id).

    `columns` loads only those columns: erasure must work even on a row no key decrypts.
    """
    queryset = Holder.all_objects.for_organization(organization_id).with_deleted(include_deleted)
    if for_update:
        queryset = queryset.select_for_update()
    if columns:
        queryset = queryset.only(*columns)
    holder = queryset.filter(id=holder_id).first()
    if holder is None:
        raise CRMError("CRM-0006")
    return holder


def _refuse_document_under_previous_hash_keys(
    *, organization_id: uuid.UUID, document: str, exclude_id: uuid.UUID | None = None
) -> None:
    """During a hash-key rotation a live holder may still carry its document hash under a
    previous key, which the unique constraint (on the current-key hash) cannot see: 409
    CRM-0010 for it too. Costs nothing once no previous hash key is configured."""
    hashes = lookup_hashes(organization_id, DOCUMENT_FIELD, document)
    if len(hashes) > 1 and (
        Holder.objects.for_organization(organization_id)
        .filter(document_hash__in=hashes)
        .exclude(id=exclude_id)
        .exists()
    ):
        raise CRMError("CRM-0010")


@transaction.atomic
def holder_create(*, organization_id: uuid.UUID, data: dict[str, Any]) -> Holder:
    state = prune_empty(merge_patch({}, data))
    holder = Holder(
        organization_id=organization_id,
        type=data["type"],
        document=data["document"],
        document_hash=search_hash(organization_id, DOCUMENT_FIELD, data["document"]),
    )
    _write_state(holder, state)
    _refuse_document_under_previous_hash_keys(
        organization_id=organization_id, document=data["document"]
    )
    _save_unique(holder, force_insert=True)
    holder.sync_name_tokens()
    audit.record(
        audit.AuditEntry.Action.CREATE,
        object_type=OBJECT_TYPE,
        object_id=holder.id,
        organization_id=organization_id,
        changed_fields=[key for key in state if key in MUTABLE_STATE] + ["type", "document"],
    )
    return holder


@transaction.atomic
def holder_update(
    *, organization_id: uuid.UUID, holder_id: uuid.UUID, patch: dict[str, Any]
) -> Holder:
    """Apply a JSON merge patch to a live holder (404 CRM-0006 when soft-deleted)."""
    holder = get_holder(organization_id=organization_id, holder_id=holder_id, for_update=True)
    before = holder_state(holder)
    after = prune_empty(merge_patch(before, patch))
    _write_state(holder, after)
    holder.updated_at = timezone.now()
    holder.save()
    if before.get("name") != after.get("name"):
        holder.sync_name_tokens()
    audit.record(
        audit.AuditEntry.Action.UPDATE,
        object_type=OBJECT_TYPE,
        object_id=holder.id,
        organization_id=organization_id,
        changed_fields=changed_paths(before, after),
    )
    return holder


def _has_live_aliases(holder: Holder) -> bool:
    aliases = getattr(holder, "aliases", None)
    return aliases is not None and aliases.filter(deleted_at__isnull=True).exists()


@transaction.atomic
def holder_soft_delete(*, organization_id: uuid.UUID, holder_id: uuid.UUID) -> Holder:
    """Hide a live holder (restorable). Refused with 400 CRM-0017 while it has live aliases."""
    holder = get_holder(organization_id=organization_id, holder_id=holder_id, for_update=True)
    if _has_live_aliases(holder):
        raise CRMError("CRM-0017")
    mark_soft_deleted(holder, object_type=OBJECT_TYPE)
    return holder


@transaction.atomic
def holder_restore(*, organization_id: uuid.UUID, holder_id: uuid.UUID) -> Holder:
    """Undo a soft delete; 409 CRM-0010 if a live holder has taken the document meanwhile."""
    holder = get_holder(
        organization_id=organization_id,
        holder_id=holder_id,
        include_deleted=True,
        for_update=True,
    )
    if holder.deleted_at is None:
        return holder
    _refuse_document_under_previous_hash_keys(
        organization_id=organization_id, document=holder.document, exclude_id=holder.id
    )
    holder.deleted_at = None
    holder.updated_at = timezone.now()
    _save_unique(holder, update_fields=["deleted_at", "updated_at"])
    audit.record(
        audit.AuditEntry.Action.RESTORE,
        object_type=OBJECT_TYPE,
        object_id=holder.id,
        organization_id=organization_id,
        changed_fields=["deletedAt"],
    )
    return holder


def holder_erasure_plan(holder: Holder) -> dict[str, list[uuid.UUID]]:
    """Every record a hard delete of `holder` erases: the holder and all its aliases."""
    aliases = getattr(holder, "aliases", None)
    alias_ids = list(aliases(manager="all_objects").values_list("id", flat=True)) if aliases else []
    return {"holder": [holder.id], "alias": alias_ids}


@transaction.atomic
def holder_hard_delete(
    *, organization_id: uuid.UUID, holder_id: uuid.UUID, with_aliases: bool = False
) -> dict[str, list[uuid.UUID]]:
    """Erase a holder for good, live or soft-deleted (right to erasure), with its
    soft-deleted aliases (they carry a copy of its document).

    The API refuses while live aliases exist (400 CRM-0017); operators erasing a customer
    (admin, `hard_delete` command) pass `with_aliases=True` to erase live aliases too. Returns
    the erased ids; the audit trail keeps only the fact of the erasure.
    """
    holder = get_holder(
        organization_id=organization_id,
        holder_id=holder_id,
        include_deleted=True,
        for_update=True,
        columns=ERASURE_COLUMNS,
    )
    if not with_aliases and _has_live_aliases(holder):
        raise CRMError("CRM-0017")
    plan = holder_erasure_plan(holder)
    if plan["alias"]:
        holder.aliases(manager="all_objects").only("pk").delete()
        audit.record_erasure(
            object_type="alias", object_ids=plan["alias"], organization_id=organization_id
        )
    Holder.all_objects.filter(pk=holder.pk).only("pk").delete()
    audit.record_erasure(
        object_type=OBJECT_TYPE, object_ids=plan["holder"], organization_id=organization_id
    )
    return plan
