"""The event catalogue: keys, payloads and CloudEvents attributes (docs/api.md §7.5 for the seven
events Midaz CRM v3.8 emits; `restored` and `erased` are ours, for behaviour the reference
lacks). docs/events.md is the consumer's view of the same.

Payloads carry ids, the organization, types, the ledger and account ids and timestamps only:
never a name, document, contact, bank account or metadata value. Each builder reads plaintext
columns only, so an erasure's events are built without decrypting anything.
"""

import datetime as dt
import uuid
from typing import Any

from crm.api.serializers import timestamp

SOURCE = "lerian.midaz.crm"  # the reference's ce-source
TYPE_PREFIX = "studio.lerian."  # ce-type = prefix + key
# The CloudEvents distributed-tracing extension: the W3C trace context of the write, on events
# written with telemetry on (ours; absent otherwise, so such events are the reference's).
TRACEPARENT = "traceparent"

KEYS = (
    "holder.created",
    "holder.updated",
    "holder.deleted",
    "holder.restored",
    "holder.erased",
    "alias.created",
    "alias.updated",
    "alias.deleted",
    "alias.restored",
    "alias.erased",
    "alias.related-party-deleted",
)


def ce_type(key: str) -> str:
    return TYPE_PREFIX + key


def holder_state(holder: Any, parts: Any = None) -> dict[str, Any]:
    """`holder.created` / `holder.updated` / `holder.restored`: 6 fields (`parts` unused: a
    holder's event names none)."""
    return {
        "id": str(holder.id),
        "organizationId": str(holder.organization_id),
        "type": holder.type,
        "externalId": holder.external_id or None,
        "createdAt": timestamp(holder.created_at),
        "updatedAt": timestamp(holder.updated_at),
    }


def alias_state(alias: Any, parts: Any = None) -> dict[str, Any]:
    """`alias.created` / `alias.updated` / `alias.restored`: 9 fields. `parts` are its related
    parties as just built (a create), read from the database when not given; none is JSON
    `null`, as in the reference."""
    if parts is None:
        parties = list(alias.related_parties.order_by("id").values_list("id", "role"))
    else:
        parties = [(party.id, party.role) for party in parts]
    return {
        "id": str(alias.id),
        "holderId": str(alias.holder_id),
        "organizationId": str(alias.organization_id),
        "ledgerId": alias.ledger_id,
        "accountId": alias.account_id,
        "type": alias.type,
        "createdAt": timestamp(alias.created_at),
        "updatedAt": timestamp(alias.updated_at),
        "relatedParties": [
            {"relatedPartyId": str(party_id), "role": role} for party_id, role in parties
        ]
        or None,
    }


STATES = {"holder": holder_state, "alias": alias_state}


def _identity(kind: Any, row: dict[str, Any]) -> dict[str, Any]:
    """`id`, the parent's id for a child kind (`holderId`), `organizationId`."""
    identity = {"id": str(row["id"])}
    if kind.parent:
        identity[f"{kind.parent}Id"] = str(row[kind.parent_fk])
    identity["organizationId"] = str(row["organization_id"])
    return identity


def deletion(kind: Any, row: dict[str, Any], deletion_type: str, at: dt.datetime) -> dict:
    """`holder.deleted` (4 fields) / `alias.deleted` (5, with `holderId`): the record left the
    live set, `soft` (restorable) or `hard` (erased while live)."""
    return {**_identity(kind, row), "deletionType": deletion_type, "deletedAt": timestamp(at)}


def erasure(kind: Any, row: dict[str, Any], at: dt.datetime) -> dict:
    """`holder.erased` / `alias.erased` (ours): a soft-deleted record was erased for good (the
    reference cannot erase a soft-deleted record; retention purges do)."""
    return {**_identity(kind, row), "erasedAt": timestamp(at)}


def related_party_deletion(alias: Any, related_party_id: uuid.UUID, at: dt.datetime) -> dict:
    """`alias.related-party-deleted`: 5 fields; its subject is the alias."""
    return {
        "aliasId": str(alias.id),
        "holderId": str(alias.holder_id),
        "organizationId": str(alias.organization_id),
        "relatedPartyId": str(related_party_id),
        "deletedAt": timestamp(at),
    }
