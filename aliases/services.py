"""Alias writes: create, update (merge patch, related parties append), soft delete, restore,
hard delete, related-party removal.

The API, the admin and the `hard_delete` command all call these; each runs in one transaction
and records an audit entry (field names, never values) and, for a change, the alias's new
version (its API body, `alias_version_body`, encrypted: `crm.lifecycle.versions`). Update, both
deletes and a related party's removal take `if_match` (the API's `If-Match`): compared with the
locked alias's version before anything is written (412 CRM-0911).
"""

import datetime as dt
import functools
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction

from aliases.models import (
    BANKING_DETAILS_PRIVATE,
    RELATED_PARTY_DOCUMENT_FIELD,
    AliasAccount,
    RelatedParty,
    RelatedPartyRole,
)
from aliases.selectors import alias_get
from aliases.serializers import alias_version_body
from crm import lifecycle
from crm.api.conditional import IfMatch
from crm.api.documents import changed_paths, join, merge_patch, prune_empty, split
from crm.api.errors import CRMError
from crm.crypto.metadata_index import metadata_pair_replacement, metadata_pair_rows
from crm.crypto.search import search_hash
from crm.db.rows import Live, Row
from crm.models import ERASURE_COLUMNS
from events import outbox
from holders.models import Holder
from holders.selectors import holder_get
from holders.services import FOR_ERASURE

OBJECT_TYPE = "alias"

# Wire keys a PATCH merges into the stored alias (relatedParties is handled apart: it appends).
MERGED_STATE = ("bankingDetails", "regulatoryFields", "metadata")


def validate_related_parties(parties: list[dict[str, Any] | None] | None) -> list[dict[str, Any]]:
    """docs/api.md §4.4, per party in the order document -> name -> role -> startDate -> endDate;
    the first failure is raised. A null element is an invalid role (CRM-0025). Dates arrive as
    `YYYY-MM-DD` (decoded by the serializer)."""
    for index, party in enumerate(parties or []):
        where = f"relatedParties[{index}]"
        if party is None:
            raise CRMError("CRM-0025", f"{where} must be an object with a valid role.")
        if not (party.get("document") or "").strip():
            raise CRMError("CRM-0026", f"{where}.document is required.")
        if not (party.get("name") or "").strip():
            raise CRMError("CRM-0027", f"{where}.name is required.")
        if party.get("role") not in RelatedPartyRole.values:
            raise CRMError(
                "CRM-0025",
                f"{where}.role must be one of {', '.join(RelatedPartyRole.values)}.",
            )
        if not party.get("startDate"):
            raise CRMError("CRM-0028", f"{where}.startDate is required.")
        end_date = party.get("endDate")
        if end_date and end_date < party["startDate"]:
            raise CRMError("CRM-0029", f"{where}.endDate cannot be earlier than startDate.")
    return list(parties or [])


def alias_state(alias: AliasAccount) -> dict[str, Any]:
    """The merge-patchable part of an alias in wire shape."""
    return prune_empty(
        {
            "bankingDetails": join(alias.banking_details, alias.banking_details_private),
            "regulatoryFields": {"participantDocument": alias.participant_document},
            "metadata": alias.metadata,
        }
    )


def _write_state(alias: AliasAccount, state: dict[str, Any]) -> None:
    """Store a wire-shape state: split the personal banking fields out and recompute every
    search hash from the values now stored."""
    banking = state.get("bankingDetails") or {}
    alias.banking_details, alias.banking_details_private = split(banking, BANKING_DETAILS_PRIVATE)
    alias.banking_branch = banking.get("branch") or None
    alias.participant_document = (state.get("regulatoryFields") or {}).get(
        "participantDocument"
    ) or None
    alias.metadata = state.get("metadata") or {}
    alias.recompute_search_hashes()


def _add_related_parties(
    alias: AliasAccount, parties: list[dict[str, Any]], *, existing: int = 0
) -> None:
    """Append parties with fresh server ids (a client-sent `id` is ignored) to an alias that
    has `existing` ones; an alias carries at most `MAX_RELATED_PARTIES` (400 CRM-0015 naming
    `relatedParties` beyond)."""
    _refuse_too_many_parties(existing + len(parties))
    RelatedParty.objects.bulk_create(related_parties_build(alias, parties))


def _refuse_too_many_parties(count: int) -> None:
    """An alias carries at most `MAX_RELATED_PARTIES` (400 CRM-0015 naming `relatedParties`)."""
    cap = settings.MAX_RELATED_PARTIES
    if count > cap:
        raise CRMError(
            "CRM-0015",
            f"An alias account carries at most {cap} related parties.",
            fields={"relatedParties": f"at most {cap} related parties per alias account"},
        )


def related_parties_build(alias: AliasAccount, parties: list[dict[str, Any]]) -> list[RelatedParty]:
    """The unsaved related parties of validated party bodies (fresh ids, search hashes in
    place; nothing written)."""
    return [
        RelatedParty(
            alias=alias,
            organization_id=alias.organization_id,
            document=party["document"],
            document_hash=search_hash(
                alias.organization_id, RELATED_PARTY_DOCUMENT_FIELD, party["document"]
            ),
            name=party["name"],
            role=party["role"],
            start_date=dt.date.fromisoformat(party["startDate"]),
            end_date=dt.date.fromisoformat(party["endDate"]) if party.get("endDate") else None,
        )
        for party in parties
    ]


def alias_build(*, holder: Holder, data: dict[str, Any]) -> AliasAccount:
    """The unsaved alias a validated create body describes under `holder` (document and type
    copied from it, encrypted parts and search hashes in place; nothing written, related
    parties not included)."""
    alias = AliasAccount(
        organization_id=holder.organization_id,
        holder=holder,
        ledger_id=data["ledgerId"],
        account_id=data["accountId"],
        type=holder.type,
        document=holder.document,
    )
    _write_state(alias, prune_empty(merge_patch({}, {key: data.get(key) for key in MERGED_STATE})))
    return alias


# What an alias takes of its holder (`alias_build`): the read reads only these, not the
# holder's other encrypted columns, which it would decrypt for nothing.
ALIAS_COPIES = ("id", "organization_id", "type", "document")


def alias_create(
    *, organization_id: uuid.UUID, holder_id: uuid.UUID, data: dict[str, Any]
) -> AliasAccount:
    """Link a live holder to a ledger account. Related parties are validated first
    (docs/api.md §4.4); the holder must be live (404 CRM-0006); the alias copies its document
    and type, which never change. The holder is read without a lock, and the create locks it
    and checks it is still live (`crm.db.rows.Live`): a holder deleted in between is a 404 with
    nothing written, and a delete that comes after waits and then sees the alias (CRM-0017).
    Outside a transaction on PostgreSQL that is two round trips: the read and the write."""
    parties = validate_related_parties(data.get("relatedParties"))
    holder = holder_get(organization_id=organization_id, holder_id=holder_id, columns=ALIAS_COPIES)
    alias = alias_build(holder=holder, data=data)
    _refuse_too_many_parties(len(parties))
    rows = alias_creation_rows(alias, related_parties_build(alias, parties))
    if not lifecycle.create(alias, rows, under=Live(Holder, holder.pk)):
        raise CRMError("CRM-0006")
    return alias


def alias_creation_rows(alias: AliasAccount, parties: list[RelatedParty]) -> list[Row]:
    """Every row the creation of a built alias writes (`crm.lifecycle.creation_rows`): the
    alias, its metadata pair index entries, its related parties (built by
    `related_parties_build`), its audit entry (the field names of the body), its version 1
    and its `alias.created` event. The API, the admin and the bulk importer write exactly
    these."""
    fields = [*alias_state(alias), "ledgerId", "accountId", "document", "type"]
    return lifecycle.creation_rows(
        alias,
        fields + (["relatedParties"] if parties else []),
        body=alias_version_body,
        rows=[*metadata_pair_rows(alias), *(Row.of_new(party) for party in parties)],
        parts=parties,
        announce=outbox.change_rows,
    )


# Audit names of related-party changes: parties are appended or removed, never edited.
PARTIES_ADDED = "relatedParties[+]"
PARTIES_REMOVED = "relatedParties[-]"


@transaction.atomic
def alias_update(
    *,
    organization_id: uuid.UUID,
    holder_id: uuid.UUID,
    alias_id: uuid.UUID,
    patch: dict[str, Any],
    remove_related_parties: list[uuid.UUID] = (),
    if_match: IfMatch | None = None,
) -> AliasAccount:
    """Apply a JSON merge patch to a live alias (404 CRM-0008 otherwise).

    `bankingDetails`, `regulatoryFields` and `metadata` merge; `relatedParties` appends new
    parties (`[]` does nothing, `null` removes them all, with their hashes). A non-null
    `bankingDetails.closingDate` earlier than the alias creation date is 400 CRM-0023.
    `remove_related_parties` (the admin's "Delete?" boxes) removes those parties in the same
    write (404 CRM-0024 for an id not on the alias).

    One logical change is one audit entry naming every changed field (`relatedParties[+]`,
    `relatedParties[-]` for parties); a patch that changes nothing writes nothing (no save,
    no `updatedAt` bump, no entry).
    """
    parties = patch.get("relatedParties")
    validate_related_parties(parties)
    alias = alias_get(
        organization_id=organization_id, holder_id=holder_id, alias_id=alias_id, for_update=True
    )
    lifecycle.require_version(alias, if_match)
    closing_date = (patch.get("bankingDetails") or {}).get("closingDate")
    if closing_date and dt.date.fromisoformat(closing_date) < _utc_date(alias.created_at):
        raise CRMError("CRM-0023")
    stored = lifecycle.stored_values(alias)
    before = alias_state(alias)
    after = prune_empty(merge_patch(before, {k: v for k, v in patch.items() if k in MERGED_STATE}))
    changed = changed_paths(before, after)
    if changed:
        _write_state(alias, after)
    removed: tuple[uuid.UUID, ...] = ()
    if remove_related_parties:
        _remove_related_parties(alias, remove_related_parties)
        removed = tuple(remove_related_parties)
    if "relatedParties" in patch and parties is None:
        removed += tuple(alias.related_parties.values_list("id", flat=True))
        alias.related_parties.all().delete()
    elif parties:
        _add_related_parties(alias, parties, existing=alias.related_parties.count())
        changed.add(PARTIES_ADDED)
    if removed:
        changed.add(PARTIES_REMOVED)
    if changed:
        lifecycle.update(
            alias,
            stored,
            changed,
            body=alias_version_body,
            derived={"metadata": functools.partial(metadata_pair_replacement, alias)},
            removed_part_ids=removed,
            announce=outbox.change_rows,
        )
    return alias


def _remove_related_parties(alias: AliasAccount, party_ids: list[uuid.UUID]) -> None:
    """Remove these parties (and so their search hashes) of `alias`; 404 CRM-0024 unless every
    id is one of its parties."""
    wanted = set(party_ids)
    removed, _ = alias.related_parties.filter(id__in=wanted).delete()
    if removed != len(wanted):
        raise CRMError("CRM-0024")


def _utc_date(value: dt.datetime) -> dt.date:
    return value.astimezone(dt.UTC).date()


@transaction.atomic
def related_party_remove(
    *,
    organization_id: uuid.UUID,
    holder_id: uuid.UUID,
    alias_id: uuid.UUID,
    related_party_id: uuid.UUID,
    if_match: IfMatch | None = None,
) -> AliasAccount:
    """Remove one party (and with it its search hash) from a live alias, a new version of the
    alias; 404 CRM-0008 for the alias, 404 CRM-0024 for a party id that is not on it."""
    alias = alias_get(
        organization_id=organization_id, holder_id=holder_id, alias_id=alias_id, for_update=True
    )
    lifecycle.require_version(alias, if_match)
    _remove_related_parties(alias, [related_party_id])
    lifecycle.update(  # `updated_at` and `version` alone
        alias,
        {},
        [PARTIES_REMOVED],
        body=alias_version_body,
        removed_part_ids=(related_party_id,),
        announce=outbox.change_rows,
    )
    return alias


@transaction.atomic
def alias_soft_delete(
    *,
    organization_id: uuid.UUID,
    holder_id: uuid.UUID,
    alias_id: uuid.UUID,
    if_match: IfMatch | None = None,
) -> AliasAccount:
    """Hide a live alias (restorable); its account id becomes reusable."""
    alias = alias_get(
        organization_id=organization_id, holder_id=holder_id, alias_id=alias_id, for_update=True
    )
    lifecycle.require_version(alias, if_match)
    lifecycle.soft_delete(alias, body=alias_version_body, announce=outbox.change_rows)
    return alias


@transaction.atomic
def alias_restore(
    *, organization_id: uuid.UUID, holder_id: uuid.UUID, alias_id: uuid.UUID
) -> AliasAccount:
    """Undo a soft delete. 404 CRM-0006 while the holder is soft-deleted (restore it first: a
    deleted holder has no live aliases); 409 CRM-0013 if a live alias has taken the account
    id meanwhile."""
    holder_get(organization_id=organization_id, holder_id=holder_id, for_update=True)
    ids = {"organization_id": organization_id, "holder_id": holder_id, "alias_id": alias_id}
    alias = alias_get(**ids, include_deleted=True, for_update=True)
    lifecycle.restore(alias, body=alias_version_body, announce=outbox.change_rows)
    return alias


@transaction.atomic
def alias_hard_delete(
    *,
    organization_id: uuid.UUID,
    holder_id: uuid.UUID,
    alias_id: uuid.UUID,
    if_match: IfMatch | None = None,
) -> dict[str, int]:
    """Erase an alias for good, live or soft-deleted (right to erasure), with its related
    parties and their hashes and its versions. The audit trail keeps only the fact of the
    erasure. Returns the records erased per kind."""
    ids = {"organization_id": organization_id, "holder_id": holder_id, "alias_id": alias_id}
    alias = alias_get(**ids, **FOR_ERASURE, columns=(*ERASURE_COLUMNS, "holder_id"))
    lifecycle.require_version(alias, if_match)
    return lifecycle.erase_record(alias, announce=outbox.erasure_events)
