"""Writes of registry records: unique saves, creates, changes, soft delete, restore, audit.

Every write path (API, admin, commands, import) ends here, so each rule is written once:

* `save_unique(obj)` saves and maps the violation of one of the model's named unique
  constraints to its 409 code (`Model.unique_error_codes`), so concurrent writers cannot both
  win and nobody checks-then-inserts; `create(obj, ...)` inserts a new record with its derived
  rows, audit entry and first version in one statement, with the same 409s.
* `update(obj, before, ...)` writes a change of a record with its derived rows, audit
  entry, version and events in one statement; `change(model, attempt)` runs a service's read
  and `update` of one record, unlocked and guarded by the version read where it can, locked
  otherwise; `soft_delete(obj)` / `restore(obj)` write the record and bump its `version` in
  the same `UPDATE`, and record the change.
* `creation_rows(obj, ...)` describes every row a create writes; `create` writes them.
* `record(obj, action, fields)` writes the audit entry of a write (field names, never values)
  and, for a change, the record's new version (`crm.lifecycle.versions`).

Change events are the caller's to ask for: each write takes `announce`, a function that returns
the rows to append with the audit entry in the same statement (the domain services pass
`events.outbox.change_rows`); without it nothing but the audit entry is written. A change also
takes `body`, the function that gives the record's API body for its version (the services pass
their kind's response body); a change without one is refused, never left unversioned.
"""

import contextlib
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from crm.api.documents import copy_document
from crm.api.errors import CRMError
from crm.db.rows import (
    Live,
    Part,
    Replace,
    Row,
    Update,
    insert_rows,
    is_unique_violation,
    write_rows,
)
from crm.lifecycle import audit
from crm.lifecycle.kinds import Kind, children, kind_of
from crm.lifecycle.versions import VERSIONED, Body, version_row
from crm.models import RegistryModel


@dataclass(frozen=True)
class Change:
    """One audited write to a record, as a write's `announce` function sees it: its kind, the
    audit action, the record as just written, the ids of the parts (related parties) the write
    removed, and the names of the fields it changed."""

    kind: Kind
    action: str
    obj: RegistryModel
    removed_part_ids: tuple[uuid.UUID, ...] = ()
    changed_fields: tuple[str, ...] = ()
    parts: Sequence[Any] | None = None  # the parts as just built (a create), when given


# What a soft delete or a restore writes of the record, and the field its audit entry names.
DELETION_COLUMNS = ("deleted_at", "updated_at", "version")
DELETED_AT = ("deletedAt",)

# What a write's `announce` function is: the rows (outbox events) a change appends.
Announce = Callable[[Change], Iterable[Row]]


@contextlib.contextmanager
def _unique_errors(obj: RegistryModel) -> Iterator[None]:
    """The violation of a named unique constraint listed in the model's `unique_error_codes`
    ({constraint name: CRM code}) raised inside becomes that 409."""
    codes: dict[str, str] = getattr(type(obj), "unique_error_codes", {})
    try:
        yield
    except IntegrityError as exc:
        for constraint in obj._meta.constraints:
            code = codes.get(constraint.name)
            if code and is_unique_violation(
                exc, constraint=constraint.name, column=constraint.fields[-1]
            ):
                raise CRMError(code) from exc
        raise


def save_unique(obj: RegistryModel, **save_kwargs) -> None:
    """Save `obj`; a unique violation is the model's 409 (`_unique_errors`). The database
    decides, so of two concurrent writers exactly one wins."""
    # No savepoint: a violation aborts the caller's transaction anyway (the CRMError leaves
    # it), and a SAVEPOINT/RELEASE pair is two round trips on every write.
    with _unique_errors(obj), transaction.atomic(savepoint=False):
        obj.save(**save_kwargs)


def creation_rows(
    obj: RegistryModel,
    changed_fields: Iterable[str],
    *,
    body: Body,
    rows: Iterable[Row] = (),
    parts: Sequence[Any] | None = None,
    announce: Announce | None = None,
) -> list[Row]:
    """Every row the creation of `obj` writes, in order: the record (at version 1), the rows
    derived from it (`rows`: its search index entries, its parts), its audit entry, its
    version 1 (`body(obj, parts)` encrypted) and the change events `announce` returns
    (`parts`: the parts as just built, for the body and events that name them). The one
    description of a create, written by `create` (the API and the admin) and by the bulk
    importer alike, so a rule added here holds for both."""
    return [
        Row.of_new(obj),
        *rows,
        *_record_rows(
            obj,
            audit.AuditEntry.Action.CREATE,
            changed_fields,
            parts=parts,
            body=body,
            announce=announce,
        ),
    ]


def create(obj: RegistryModel, rows: Sequence[Row], *, under: Live | None = None) -> bool:
    """Insert a new record with its `creation_rows`; a unique violation is the model's 409, as
    with `save_unique`. On PostgreSQL that is one statement, atomic by itself: outside a
    transaction it is sent alone, without a BEGIN/COMMIT pair (a create was five round trips
    and is one). Elsewhere, or inside the caller's transaction, it runs in an atomic block of
    its own (a savepoint there), so a refused create leaves the caller's transaction usable.

    `under`: the record the new one belongs to, which must still be live (an alias's holder,
    `crm.db.rows.Live`): it is locked for the create, and the create returns False, having
    written nothing, when that record has gone (been deleted) since the caller read it."""
    alias = router.db_for_write(type(obj))
    with (
        _unique_errors(obj),
        contextlib.nullcontext() if _one_statement(type(obj)) else transaction.atomic(using=alias),
    ):
        if not write_rows(rows, under=under):
            return False
    obj._state.adding = False
    obj._state.db = alias
    return True


def _one_statement(model: type[RegistryModel]) -> bool:
    """Whether a write of this kind is one statement, atomic by itself, sent without a
    transaction around it: on PostgreSQL, outside the caller's transaction (`create`,
    `update`, `change`)."""
    connection = connections[router.db_for_write(model)]
    return connection.vendor == "postgresql" and not connection.in_atomic_block


# How many times `change` reads a record without a lock and finds it changed at its write
# before it reads it under a lock: a record that busy is written in a transaction.
UNLOCKED_ATTEMPTS = 3


class Stale(Exception):
    """The record an unlocked change read was changed or deleted before its write (`update`);
    nothing was written. `change` reads it again."""


T = TypeVar("T")


def change(model: type[RegistryModel], attempt: Callable[[bool], T]) -> T:
    """Run `attempt(locked)`: a service's read of one record of `model` and its `update` of
    it. On PostgreSQL outside a transaction, first without a lock (`locked` False): the read
    takes none, and `update` writes in one statement that checks and locks the record, live
    and still at the version read (`crm.db.rows.Live`): a read and a write, two round trips,
    where a locking read in a transaction took four (BEGIN, lock, write, COMMIT). When the
    record changed in between, nothing is written and `attempt` runs again on the new state,
    so a merge patch applies to it and an `If-Match` compares with it. After
    `UNLOCKED_ATTEMPTS`, and everywhere else, it runs in a transaction with the record locked
    by its read (`locked` True), which nothing else can change meanwhile."""
    if _one_statement(model):
        for _ in range(UNLOCKED_ATTEMPTS):
            with contextlib.suppress(Stale):
                return attempt(False)
    with transaction.atomic(using=router.db_for_write(model)):
        return attempt(True)


def stored_values(obj: RegistryModel) -> dict[str, Any]:
    """A copy of every concrete field's value, taken before a change (see `update`)."""
    return {
        field.attname: copy_document(getattr(obj, field.attname))
        for field in obj._meta.concrete_fields
    }


def update(
    obj: RegistryModel,
    before: dict[str, Any],
    changed_fields: Iterable[str],
    *,
    body: Body,
    derived: Mapping[str, Callable[[], Replace]] | None = None,
    removed_part_ids: Iterable[uuid.UUID] = (),
    announce: Announce | None = None,
) -> list[str]:
    """Write a change of a record read by its service, in one statement on PostgreSQL: the
    `UPDATE` of only the columns whose value differs from `before` (`stored_values`), with a
    new `updated_at` and the next `version` (the record changed through its parts when no
    column differs: those two alone), the rows derived from each changed column (`derived`:
    column → its `Replace`, e.g. the name word index; only for the columns that changed, so
    the others' rows are never rewritten), then `record`'s rows — the audit entry naming
    `changed_fields`, the version (`body`), the change events `announce` returns. An update
    that re-encrypted and re-sent every column, or read the derived rows before replacing
    them, cost a round trip per step. The caller writes nothing when nothing changed. A unique
    violation is the model's 409 (`_unique_errors`). Returns the changed attribute names.

    The record is locked by its service's read inside a transaction, or, where the write is
    one statement (`change`'s unlocked attempt), checked and locked by that statement at the
    version it was read at: `Stale`, with nothing written, when it has changed since."""
    columns = [name for name, value in before.items() if getattr(obj, name) != value]
    read_at = obj.version
    _next_version(obj)
    derived = derived or {}
    changes = [Update(obj, (*columns, "updated_at", "version"))]
    changes += [derived[column]() for column in columns if column in derived]
    _write_change(
        obj,
        audit.AuditEntry.Action.UPDATE,
        changed_fields,
        changes,
        under=Live(type(obj), obj.pk, version=read_at) if _one_statement(type(obj)) else None,
        removed_part_ids=removed_part_ids,
        body=body,
        announce=announce,
    )
    return columns


def _next_version(obj: RegistryModel) -> None:
    """A change: a new `updated_at` and the next version number, written by the caller's
    `UPDATE` of the row (locked by its service, or by the write itself at the version read:
    the number cannot be taken meanwhile)."""
    obj.updated_at = timezone.now()
    obj.version += 1


def has_live_children(obj: RegistryModel) -> bool:
    """True while a live record of a child kind belongs to `obj` (a holder's live aliases)."""
    return any(
        child.model.objects.filter(**{child.parent_fk: obj.pk}).exists()
        for child in children(kind_of(type(obj)))
    )


def soft_delete(obj: RegistryModel, *, body: Body, announce: Announce | None = None) -> None:
    """Stamp `deleted_at` (and `updated_at`, the next version) on a locked live row and record
    it, in one statement on PostgreSQL (`_write_change`). The caller has checked its own
    preconditions (e.g. CRM-0017)."""
    _next_version(obj)
    obj.deleted_at = obj.updated_at
    action = audit.AuditEntry.Action.SOFT_DELETE
    _write_change(
        obj, action, DELETED_AT, [Update(obj, DELETION_COLUMNS)], body=body, announce=announce
    )


def restore(obj: RegistryModel, *, body: Body, announce: Announce | None = None) -> None:
    """Clear `deleted_at` of a locked row (the next version) and record it; a unique value
    taken meanwhile by a live row is the model's 409 (`_unique_errors`). A live row is left as
    it is."""
    if not obj.is_deleted:
        return
    obj.deleted_at = None
    _next_version(obj)
    action = audit.AuditEntry.Action.RESTORE
    _write_change(
        obj, action, DELETED_AT, [Update(obj, DELETION_COLUMNS)], body=body, announce=announce
    )


def _write_change(
    obj: RegistryModel,
    action: str,
    changed_fields: Iterable[str],
    changes: list[Part],
    *,
    under: Live | None = None,
    **record_rows: Any,
) -> None:
    """`changes` (the record's `UPDATE`, its derived rows) and the rows `record` writes for
    `action` (`record_rows`: `_record_rows`'s keywords), as one statement on PostgreSQL
    (`crm.db.rows.write_rows`); a unique violation is the model's 409. `under`: only while
    the record is as read (`Stale` otherwise, nothing written)."""
    rows = _record_rows(obj, action, changed_fields, **record_rows)
    with _unique_errors(obj):
        if not write_rows([*changes, *rows], under=under):
            raise Stale


def record(
    obj: RegistryModel,
    action: str,
    changed_fields: Iterable[str],
    *,
    body: Body | None = None,
    removed_part_ids: Iterable[uuid.UUID] = (),
    announce: Announce | None = None,
) -> None:
    """Write the audit entry of a write to `obj`, its version (a change: `body` required; the
    row was saved with its new `version`) and the change events `announce`
    returns, in one statement (`_record_rows`)."""
    insert_rows(
        _record_rows(
            obj,
            action,
            changed_fields,
            removed_part_ids=removed_part_ids,
            body=body,
            announce=announce,
        )
    )


def _record_rows(
    obj: RegistryModel,
    action: str,
    changed_fields: Iterable[str],
    *,
    removed_part_ids: Iterable[uuid.UUID] = (),
    parts: Sequence[Any] | None = None,
    body: Body | None = None,
    announce: Announce | None = None,
) -> list[Row]:
    """The audit entry of a write to `obj` (its kind, id and organization, the acting user or
    token, the names — never the values — of the fields that changed), for a change the
    record's version (`body(obj, parts)`, encrypted, with the entry's actor and fields; the
    body is also kept on `obj` as `body_as_written`, which the API answers with instead of
    building it again: for a new alias, a read of the related parties just written), and
    the rows `announce(change)` returns (the change events). `removed_part_ids` names the
    parts (related parties) the write removed."""
    of = kind_of(type(obj))
    changed_fields = tuple(changed_fields)
    entry = audit.entry_values(
        action,
        object_type=of.name,
        object_id=obj.pk,
        organization_id=obj.organization_id,
        changed_fields=changed_fields,
    )
    rows = [Row(audit.AuditEntry, entry)]
    if action in VERSIONED:
        if body is None:
            raise TypeError(f"a {action} of a {of.name} writes a version: pass its `body`")
        obj.body_as_written = body(obj, parts)
        rows.append(version_row(of, obj, entry, obj.body_as_written))
    if announce is not None:
        change = Change(of, action, obj, tuple(removed_part_ids), changed_fields, parts)
        rows.extend(announce(change))
    return rows
