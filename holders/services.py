"""Holder writes: create, update (merge patch), soft delete, restore, hard delete.

The API, the admin and the commands all call these; each runs in one transaction and records
an audit entry (field names, never values) and, for a change, the holder's new version (its
API body, `holder_body`, encrypted). Create and update also maintain the name word index
(`HolderNameToken`). Soft delete, restore, unique saves, versions and erasure are the kernel's
lifecycle core (`crm.lifecycle`); what is holder-specific (CRM-0017, the document rules) is
here. Update and both deletes take `if_match` (the API's `If-Match`): compared with the locked
holder's version before anything is written (412 CRM-0911).
"""

import functools
import uuid
from typing import Any

from django.db import transaction

from crm import lifecycle
from crm.api.conditional import IfMatch
from crm.api.documents import changed_paths, join, merge_patch, prune_empty, split
from crm.api.errors import CRMError
from crm.crypto.metadata_index import metadata_pair_replacement, metadata_pair_rows
from crm.crypto.search import lookup_hashes, search_hash
from crm.db.rows import Row
from crm.models import ERASURE_COLUMNS
from events import outbox
from holders.models import (
    DOCUMENT_FIELD,
    LEGAL_PERSON_PRIVATE,
    NATURAL_PERSON_PRIVATE,
    Holder,
)
from holders.selectors import holder_document_in_use, holder_get
from holders.serializers import holder_body

OBJECT_TYPE = "holder"

# A hard delete finds live and soft-deleted rows, locks them, and loads (and so decrypts)
# nothing personal: it must work under a lost key too.
FOR_ERASURE = {"include_deleted": True, "for_update": True}

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
    holder.sync_contact_hashes()  # the contact's and the representative's e-mails and phones
    holder.metadata = state.get("metadata") or {}


def _refuse_document_under_previous_hash_keys(
    *, organization_id: uuid.UUID, document: str, exclude_id: uuid.UUID | None = None
) -> None:
    """During a hash-key rotation a live holder may still carry its document hash under a
    previous key, which the unique constraint (on the current-key hash) cannot see: 409
    CRM-0010 for it too. Costs nothing once no previous hash key is configured."""
    if len(lookup_hashes(organization_id, DOCUMENT_FIELD, document)) > 1 and (
        holder_document_in_use(
            organization_id=organization_id, document=document, exclude_id=exclude_id
        )
    ):
        raise CRMError("CRM-0010")


def holder_build(*, organization_id: uuid.UUID, data: dict[str, Any]) -> Holder:
    """The unsaved holder a validated `POST /v1/holders` body describes (values, encrypted
    parts and document hash in place; nothing written)."""
    holder = Holder(
        organization_id=organization_id,
        type=data["type"],
        document=data["document"],
        document_hash=search_hash(organization_id, DOCUMENT_FIELD, data["document"]),
    )
    _write_state(holder, prune_empty(merge_patch({}, data)))
    return holder


def holder_create(*, organization_id: uuid.UUID, data: dict[str, Any]) -> Holder:
    """Create a holder from a validated `POST /v1/holders` body; 409 CRM-0010 when a live
    holder of the organization has the same document. The write is `lifecycle.create`'s, all
    or nothing (the read before it only refuses documents under previous hash keys, a check
    the unique index cannot make)."""
    holder = holder_build(organization_id=organization_id, data=data)
    _refuse_document_under_previous_hash_keys(
        organization_id=organization_id, document=data["document"]
    )
    lifecycle.create(holder, holder_creation_rows(holder))
    return holder


def holder_creation_rows(holder: Holder) -> list[Row]:
    """Every row the creation of a built holder writes (`crm.lifecycle.creation_rows`): the
    holder, its name word and metadata pair index entries, its audit entry (the field names
    of the body), its version 1 and its `holder.created` event. The API, the admin and the
    bulk importer write exactly these."""
    return lifecycle.creation_rows(
        holder,
        [key for key in holder_state(holder) if key in MUTABLE_STATE] + ["type", "document"],
        body=holder_body,
        rows=[*holder.name_token_rows(), *metadata_pair_rows(holder)],
        announce=outbox.change_rows,
    )


def holder_update(
    *,
    organization_id: uuid.UUID,
    holder_id: uuid.UUID,
    patch: dict[str, Any],
    if_match: IfMatch | None = None,
) -> Holder:
    """Apply a JSON merge patch to a live holder (404 CRM-0006 when soft-deleted). A patch
    that changes nothing writes nothing: no save, no `updatedAt` bump, no audit entry, no
    version. Read and written as `lifecycle.change` does: on PostgreSQL a read and one
    statement, the patch applied again to the holder as it is now if it changed in between."""
    return lifecycle.change(
        Holder,
        functools.partial(
            _patched,
            organization_id=organization_id,
            holder_id=holder_id,
            patch=patch,
            if_match=if_match,
        ),
    )


def _patched(
    locked: bool,
    *,
    organization_id: uuid.UUID,
    holder_id: uuid.UUID,
    patch: dict[str, Any],
    if_match: IfMatch | None,
) -> Holder:
    """`holder_update`'s one attempt (`lifecycle.change`): the holder read, locked or not."""
    holder = holder_get(organization_id=organization_id, holder_id=holder_id, for_update=locked)
    lifecycle.require_version(holder, if_match)
    stored = lifecycle.stored_values(holder)
    before = holder_state(holder)
    after = prune_empty(merge_patch(before, patch))
    changed = changed_paths(before, after)
    if not changed:
        return holder
    _write_state(holder, after)
    # Something changed (`changed`), so the row is written, with the next version, even if
    # no column differed; the name word and metadata pair rows only when their column did.
    lifecycle.update(
        holder,
        stored,
        changed,
        body=holder_body,
        derived={
            "name": holder.name_token_replacement,
            "metadata": functools.partial(metadata_pair_replacement, holder),
        },
        announce=outbox.change_rows,
    )
    return holder


@transaction.atomic
def holder_soft_delete(
    *, organization_id: uuid.UUID, holder_id: uuid.UUID, if_match: IfMatch | None = None
) -> Holder:
    """Hide a live holder (restorable). Refused with 400 CRM-0017 while it has live aliases."""
    holder = holder_get(organization_id=organization_id, holder_id=holder_id, for_update=True)
    lifecycle.require_version(holder, if_match)
    if lifecycle.has_live_children(holder):
        raise CRMError("CRM-0017")
    lifecycle.soft_delete(holder, body=holder_body, announce=outbox.change_rows)
    return holder


@transaction.atomic
def holder_restore(*, organization_id: uuid.UUID, holder_id: uuid.UUID) -> Holder:
    """Undo a soft delete; 409 CRM-0010 if a live holder has taken the document meanwhile."""
    holder = holder_get(
        organization_id=organization_id,
        holder_id=holder_id,
        include_deleted=True,
        for_update=True,
    )
    if holder.is_deleted:
        _refuse_document_under_previous_hash_keys(
            organization_id=organization_id, document=holder.document, exclude_id=holder.id
        )
    lifecycle.restore(holder, body=holder_body, announce=outbox.change_rows)
    return holder


@transaction.atomic
def holder_hard_delete(
    *, organization_id: uuid.UUID, holder_id: uuid.UUID, if_match: IfMatch | None = None
) -> dict[str, int]:
    """Erase a holder for good, live or soft-deleted (right to erasure), with its soft-deleted
    aliases (they carry a copy of its document) and everything derived from them, versions
    included; refused with 400 CRM-0017 while it has live aliases. Returns the records erased
    per kind; the audit trail keeps only the fact of the erasure. (Operators erasing a
    customer with live aliases use the admin or `manage.py hard_delete`, which erase the
    lifecycle core's plan.)"""
    holder = holder_get(
        organization_id=organization_id, holder_id=holder_id, **FOR_ERASURE, columns=ERASURE_COLUMNS
    )
    lifecycle.require_version(holder, if_match)
    if lifecycle.has_live_children(holder):
        raise CRMError("CRM-0017")
    return lifecycle.erase_record(holder, announce=outbox.erasure_events)
