"""A record's History page in the back-office: each version's changes as before → after, and
"restore these values" (docs/api.md §12).

* **Changes** come from the versions (`crm.lifecycle.versions`): version `n`'s body against
  version `n - 1`'s, path by path (`crm.api.documents.changed_paths`), leaving out the
  bookkeeping fields every change moves (`updatedAt`, `version`).
* **Documents are masked** (`crm.crypto.masking.mask_document`) — a document, a participant's
  document, an account number, an IBAN, and the documents inside related parties — unless the
  person may read the audit trail (the data-protection officer) and asks to reveal them, which
  is recorded as a `view_document` audit entry before the page is shown.
* **Restoring** version `n`'s values is a new change through the record's service (a merge
  patch from the current body to version `n`'s, over the fields an update may change; related
  parties are appended by an update, never replaced, so they are left as they are): audited,
  versioned, refused if the record changed meanwhile. The past is never rewritten.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from crm.api.documents import changed_paths
from crm.crypto.masking import mask_document
from crm.lifecycle.kinds import kind_of
from crm.models import RecordVersion

# Moved by every change: not worth a line.
BOOKKEEPING = frozenset({"updatedAt", "createdAt", "version"})
# The last segment of a path whose value is a document-like identifier, masked unless revealed.
DOCUMENT_KEYS = frozenset({"document", "participantDocument", "account", "iban"})
# Never restored by "restore these values" (an update appends parties; it cannot replace them).
NOT_RESTORED = frozenset({"relatedParties"})


@dataclass
class Change:
    path: str
    before: str
    after: str


@dataclass
class VersionRow:
    number: int
    changed_at: Any
    actor: str
    action: str
    changes: list[Change] = field(default_factory=list)


def _mask(value: Any, key: str, reveal: bool) -> Any:
    if reveal:
        return value
    if isinstance(value, dict):
        return {name: _mask(item, name, reveal) for name, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, key, reveal) for item in value]
    if key in DOCUMENT_KEYS and isinstance(value, str):
        return mask_document(value)
    return value


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _at(body: dict[str, Any], path: str) -> Any:
    value: Any = body
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def version_rows(obj, *, reveal: bool) -> list[VersionRow]:
    """The record's versions, newest first, each with its changes before → after."""
    versions = list(
        RecordVersion.objects.filter(
            object_type=kind_of(type(obj)).name,
            object_id=obj.pk,
            organization_id=obj.organization_id,
        ).order_by("number")
    )
    rows, previous = [], {}
    for version in versions:
        body = version.body or {}
        paths = sorted(
            path for path in changed_paths(previous, body) if path.split(".")[0] not in BOOKKEEPING
        )
        row = VersionRow(version.number, version.changed_at, version.actor, version.action)
        for path in paths:
            key = path.split(".")[-1]
            row.changes.append(
                Change(
                    path,
                    _text(_mask(_at(previous, path), key, reveal)),
                    _text(_mask(_at(body, path), key, reveal)),
                )
            )
        rows.append(row)
        previous = body
    return rows[::-1]


def _patch_towards(current: Any, target: Any) -> Any:
    """The JSON merge patch that turns `current` into `target`."""
    if not (isinstance(current, dict) and isinstance(target, dict)):
        return target
    patch = {key: None for key in current if key not in target}
    for key, value in target.items():
        if current.get(key) != value:
            patch[key] = _patch_towards(current.get(key), value)
    return patch


def restore_patch(current: dict[str, Any], past: dict[str, Any], editable: set[str]) -> dict:
    """The merge patch that puts the fields an update may change back to `past`'s values."""
    patch = {}
    for key in editable - NOT_RESTORED:
        if current.get(key) != past.get(key):
            patch[key] = _patch_towards(current.get(key), past.get(key))
    return patch
