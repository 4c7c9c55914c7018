"""Versions of registry records: every state a record was left in, kept encrypted and read back.

Every change of a record — create, update, soft delete, restore, a related party added or
removed — bumps the record's `version` in the same `UPDATE` (or `INSERT`) and writes one
`crm.models.RecordVersion` row with the audit entry, in the same statement
(`crm.lifecycle.writes`): its number, when (the record's new `updatedAt`), who and which
fields (the audit entry's own actor and field names), the action, and the record's whole API
body after the change, encrypted. The body comes from the write's `body` argument (`Body`):
the kind's response serializer, handed over by its services as `announce` is, so the kernel
needs no domain app and reading a version needs no serializer of the past.

* `version_row` — the row of one version (`crm.lifecycle.writes._record_rows` appends it);
* `require_version` — `If-Match`: 412 CRM-0911 unless the record read for the write is at
  an allowed version (the services call it right after reading the row, before writing
  anything; the write then happens only at that version);
* `versions_of`, `version_number`, `version_as_of` — reads, scoped by kind, organization and
  record id like every read of the record itself; `versions_since` — what changed after a
  version someone read;
* `erase_versions` — an erasure deletes them with the record (`crm.lifecycle.erasure`).

What is kept and for how long: docs/api.md §12.
"""

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from crm.api.conditional import IfMatch
from crm.api.errors import CRMError
from crm.db.rows import Row
from crm.lifecycle.kinds import Kind, kind_of
from crm.models import AuditEntry, RecordVersion, RegistryModel

# What a write's `body` function is: the record's API body (the JSON a GET returns) after the
# change, from the record as just written and, on a create, its parts as just built (None
# otherwise: the function reads them).
Body = Callable[[RegistryModel, Sequence[Any] | None], dict[str, Any]]

# The audit actions that change a record, and so write a version (not `view_document`, …).
VERSIONED = frozenset(
    {
        AuditEntry.Action.CREATE,
        AuditEntry.Action.UPDATE,
        AuditEntry.Action.SOFT_DELETE,
        AuditEntry.Action.RESTORE,
    }
)

# The columns a list of versions reads: never the (encrypted) body.
LISTED = ("id", "number", "changed_at", "actor_type", "actor", "action", "changed_fields")


def version_row(of: Kind, obj: RegistryModel, entry: dict[str, Any], body: dict[str, Any]) -> Row:
    """The version `obj.version` of `obj` (already bumped by the write) as a row to insert
    with the write's audit entry: `entry` is that entry's values (`audit.entry_values`), so
    the version names the same actor, action and fields."""
    return Row(
        RecordVersion,
        {
            "organization_id": obj.organization_id,
            "object_type": of.name,
            "object_id": obj.pk,
            "number": obj.version,
            "changed_at": obj.updated_at,
            "actor_type": entry["actor_type"],
            "actor": entry["actor"],
            "action": entry["action"],
            "changed_fields": entry["changed_fields"],
            "body": body,
        },
    )


def require_version(obj: RegistryModel, if_match: IfMatch | None) -> None:
    """412 CRM-0911 unless `if_match` (None: no condition) allows the record's version. Call
    it on the row read for the write, before anything is written: locked, the write's
    transaction holds the version it compared; read without a lock (`crm.lifecycle.change`),
    the write is made only at that version."""
    if if_match is not None and not if_match.allows(obj.version):
        raise CRMError("CRM-0911")


def versions_of(of: Kind, *, organization_id: uuid.UUID, object_id: uuid.UUID):
    """The versions of one record of the organization, unordered (the list pages them by
    number), without their bodies: no decryption for a list."""
    return RecordVersion.objects.filter(
        object_id=object_id, object_type=of.name, organization_id=organization_id
    ).only(*LISTED)


def _one(of: Kind, organization_id: uuid.UUID, object_id: uuid.UUID, **condition: Any):
    return (
        RecordVersion.objects.filter(
            object_id=object_id, object_type=of.name, organization_id=organization_id, **condition
        )
        .only("number", "action", "body")
        .order_by("-number")
        .first()
    )


def version_number(
    of: Kind, *, organization_id: uuid.UUID, object_id: uuid.UUID, number: int
) -> RecordVersion | None:
    """Version `number` of one record of the organization (its number, action and body), or
    None."""
    return _one(of, organization_id, object_id, number=number)


def version_as_of(
    of: Kind, *, organization_id: uuid.UUID, object_id: uuid.UUID, instant: dt.datetime
) -> RecordVersion | None:
    """The version one record of the organization was at at `instant` (its number, action and
    body), or None when it did not exist yet (or was erased: its versions went with it).
    Instants are taken to the millisecond, the precision of `updatedAt` on the wire, so asking
    as of a body's `updatedAt` gives that body."""
    condition = {}
    # Past the last millisecond of year 9999 (OverflowError) every version is before it.
    with contextlib.suppress(OverflowError):
        condition["changed_at__lt"] = instant.replace(
            microsecond=instant.microsecond // 1000 * 1000
        ) + dt.timedelta(milliseconds=1)
    return _one(of, organization_id, object_id, **condition)


def versions_since(obj: RegistryModel, number: int) -> list[RecordVersion]:
    """The versions of `obj` after version `number`, oldest first, without their bodies: who
    changed which fields since someone read it (the admin's stale-page message)."""
    return list(
        RecordVersion.objects.filter(
            object_id=obj.pk, object_type=kind_of(type(obj)).name, number__gt=number
        )
        .only(*LISTED)
        .order_by("number")
    )


def erase_versions(of: Kind, ids: list[uuid.UUID]) -> None:
    """Delete every version of these records of kind `of` (an erasure leaves none)."""
    RecordVersion.objects.filter(object_type=of.name, object_id__any_of=ids).delete()
