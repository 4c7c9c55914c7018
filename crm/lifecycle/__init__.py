"""The lifecycle core: how a registry record is written, soft-deleted, restored and erased.

* `kinds` — the kinds of record (holders, alias accounts, …) read from the models' declarations;
* `writes` — unique saves, creates, changes, soft delete and restore, each with its audit entry;
* `erasure` — erasure plans, erasing them with every derived row, purges in batches;
* `audit` — the audit trail (who did what to which record; field names, never values);
* `chain` — the audit trail's hash chain: sealing, verifying, redacting after an erasure;
* `holds` — legal holds, which every erasure path respects;
* `approval` — four eyes on erasure: a request one officer makes and another approves
  (imported as `crm.lifecycle.approval`: the admin's business only);
* `versions` — every state a record was left in (encrypted), `If-Match`, reading the past.

This module gathers their public names, so callers write `lifecycle.soft_delete(...)`. What a
call writes besides the record, its audit entry and its version is named at the call: the
change events come from the `announce` argument (`events.outbox`), the version's body from the
`body` argument (the kind's response body); nothing is added behind the caller's back.

May import: `crm.models`, `crm.db`, `crm.api.errors`, `crm.api.conditional`. Never a domain
app or `events`.
"""

from crm.lifecycle.erasure import (
    AnnounceErasure,
    ErasureError,
    ErasurePlan,
    OrganizationCount,
    PlannedRecord,
    Purge,
    PurgeProgress,
    RecordHeld,
    count_purge,
    erase,
    erase_record,
    held_by,
    organization_purge,
    plan_erasure,
    retention_purge,
    run_purge,
)
from crm.lifecycle.kinds import (
    Kind,
    Part,
    children,
    kind,
    kind_by_plural,
    kind_of,
    kinds,
    registry_models,
)
from crm.lifecycle.versions import (
    Body,
    erase_versions,
    require_version,
    version_as_of,
    version_number,
    versions_of,
)
from crm.lifecycle.writes import (
    UNLOCKED_ATTEMPTS,
    Announce,
    Change,
    change,
    create,
    creation_rows,
    has_live_children,
    record,
    restore,
    save_unique,
    soft_delete,
    stored_values,
    update,
)

__all__ = [
    "UNLOCKED_ATTEMPTS",
    "Announce",
    "AnnounceErasure",
    "Body",
    "Change",
    "ErasureError",
    "ErasurePlan",
    "Kind",
    "OrganizationCount",
    "Part",
    "PlannedRecord",
    "Purge",
    "PurgeProgress",
    "RecordHeld",
    "change",
    "children",
    "count_purge",
    "create",
    "creation_rows",
    "erase",
    "erase_record",
    "erase_versions",
    "has_live_children",
    "held_by",
    "kind",
    "kind_by_plural",
    "kind_of",
    "kinds",
    "organization_purge",
    "plan_erasure",
    "record",
    "registry_models",
    "require_version",
    "restore",
    "retention_purge",
    "run_purge",
    "save_unique",
    "soft_delete",
    "stored_values",
    "update",
    "version_as_of",
    "version_number",
    "versions_of",
]
