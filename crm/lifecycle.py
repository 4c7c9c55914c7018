"""The lifecycle core: soft delete, restore, unique saves and erasure of registry rows.

Every write path (API, admin, commands) ends here, so each rule is written once:

* `soft_delete(obj)` / `restore(obj)` stamp or clear `deleted_at` and record the audit entry.
* `save_unique(obj)` saves and maps the violation of one of the model's named unique
  constraints to its 409 code (`Model.unique_error_codes`), so concurrent writers cannot both
  win and nobody checks-then-inserts; `create(obj, ...)` inserts a new record with its derived
  rows and audit entry in one statement, with the same 409s.
* `plan_erasure(...)` says *what* an erasure removes (ids, states and plaintext details only,
  never a personal value); the admin confirmation page and the `hard_delete` dry run show the
  same plan. `erase(plan)` removes it in one transaction with everything derived from it
  (search hashes in the rows, derived tables, admin log rows, hooks such as idempotency
  records) and leaves one `hard_delete` audit entry per erased record. Purges erase what a
  condition selects, in batches.

Hooks let other apps follow the writes without the kernel importing them: `on_change` (rows
written with each audited write's entry, e.g. the change events' outbox), `before_erase` and
`on_erase` (inside an erasure's transaction, before and after the rows go).

The kernel imports no domain app: `holders` and `aliases` register their models as `Kind`s in
their `AppConfig.ready()` (a holder is the parent of its aliases; an alias owns its related
parties), and the code here walks that registry.
"""

import contextlib
import copy
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from crm import audit
from crm.api.errors import CRMError
from crm.db.rows import Row, insert_rows, is_unique_violation
from crm.models import RegistryModel

# --- The registry of kinds -----------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """Rows derived from a record and erased with it (a name word index, related parties).

    `label` names the rows on an erasure plan (one line each, with the plaintext `columns` as
    details); parts without a label are erased but not listed."""

    model: type[models.Model]
    fk: str
    label: str = ""
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Kind:
    """A registry model as the lifecycle core sees it.

    `name` is its audit object type ("holder"), `plural` its selector on the command line
    ("holders"); `parent`/`parent_fk` link it to the kind it belongs to (an alias to its holder);
    `details` are plaintext columns shown on an erasure plan."""

    name: str
    plural: str
    label: str
    model: type[RegistryModel]
    parent: str | None = None
    parent_fk: str | None = None
    details: tuple[str, ...] = ()
    parts: tuple[Part, ...] = ()


@dataclass(frozen=True)
class Change:
    """One audited write to a record, as a change hook sees it (`on_change`): its kind, the
    audit action, the record as just written, the ids of the parts (related parties) the write
    removed, and the names of the fields it changed."""

    kind: Kind
    action: str
    obj: RegistryModel
    removed_part_ids: tuple[uuid.UUID, ...] = ()
    changed_fields: tuple[str, ...] = ()


_kinds: dict[str, Kind] = {}
_erase_hooks: list[Callable[[Kind, dict[uuid.UUID, list[uuid.UUID]]], None]] = []
_before_erase_hooks: list[Callable[[Kind, list[uuid.UUID]], None]] = []
_change_hooks: list[Callable[[Change], Iterable[Row]]] = []


def register(kind: Kind) -> None:
    """Called by a domain app's `AppConfig.ready()`; parents register before their children."""
    if kind.parent is not None and kind.parent not in _kinds:
        raise ValueError(f"register the parent kind {kind.parent!r} before {kind.name!r}")
    _kinds[kind.name] = kind


def on_erase(hook: Callable[[Kind, dict[uuid.UUID, list[uuid.UUID]]], None]) -> None:
    """Register `hook(kind, {organization_id: [ids]})`, called inside the erasure transaction
    for data derived from erased records that lives elsewhere (idempotency records, ...)."""
    _erase_hooks.append(hook)


def before_erase(hook: Callable[[Kind, list[uuid.UUID]], None]) -> None:
    """Register `hook(kind, ids)`, called inside the erasure transaction while the rows of
    `kind` are still there (their children already gone), e.g. to read their plaintext state."""
    _before_erase_hooks.append(hook)


def on_change(hook: Callable[[Change], Iterable[Row]]) -> None:
    """Register `hook(change)`, called by `record` inside the write's transaction; the rows it
    returns (the change events' outbox rows) are inserted with the write's audit entry, in one
    statement on PostgreSQL."""
    _change_hooks.append(hook)


def kinds() -> list[Kind]:
    """Every registered kind, parents before children."""
    return list(_kinds.values())


def kind(name: str) -> Kind:
    return _kinds[name]


def kind_of(model: type[models.Model]) -> Kind:
    for candidate in _kinds.values():
        if candidate.model is model:
            return candidate
    raise LookupError(f"{model.__name__} is not a registered kind")


def kind_by_plural(plural: str) -> Kind:
    return next(candidate for candidate in _kinds.values() if candidate.plural == plural)


def children(of: Kind) -> list[Kind]:
    return [candidate for candidate in _kinds.values() if candidate.parent == of.name]


# --- Saving, soft delete, restore --------------------------------------------------------------


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


def create(obj: RegistryModel, changed_fields: Iterable[str], *, rows: Iterable[Row] = ()) -> None:
    """Insert a new record, the rows derived from it (`rows`: its search index entries), its
    audit entry and the change hooks' rows; a unique violation is the model's 409, as with
    `save_unique`. On PostgreSQL that is one statement, atomic by itself: outside a
    transaction it is sent alone, without a BEGIN/COMMIT pair (a create was five round trips
    and is one). Elsewhere, or inside the caller's transaction, it runs in an atomic block of
    its own (a savepoint there), so a refused create leaves the caller's transaction usable."""
    alias = router.db_for_write(type(obj))
    connection = connections[alias]
    one_statement = connection.vendor == "postgresql" and not connection.in_atomic_block
    with (
        _unique_errors(obj),
        contextlib.nullcontext() if one_statement else transaction.atomic(using=alias),
    ):
        record(obj, audit.AuditEntry.Action.CREATE, changed_fields, rows=[Row.of_new(obj), *rows])
    obj._state.adding = False
    obj._state.db = alias


def stored_values(obj: RegistryModel) -> dict[str, Any]:
    """A copy of every concrete field's value, taken before a change (see `save_changes`)."""
    return {
        field.attname: copy.deepcopy(getattr(obj, field.attname))
        for field in obj._meta.concrete_fields
    }


def save_changes(obj: RegistryModel, before: dict[str, Any], *, touch: bool = False) -> list[str]:
    """Write only the columns whose value differs from `before` (`stored_values`), with a new
    `updated_at`; write nothing and keep `updated_at` when nothing differs, unless `touch`
    (the record changed through its parts, e.g. an alias's related parties: `updated_at`
    alone). An update that rewrote every column would re-encrypt and re-send all of them.
    Returns the changed attribute names."""
    changed = [name for name, value in before.items() if getattr(obj, name) != value]
    if changed or touch:
        obj.updated_at = timezone.now()
        save_unique(obj, update_fields=[*changed, "updated_at"])
    return changed


def has_live_children(obj: RegistryModel) -> bool:
    """True while a live record of a child kind belongs to `obj` (a holder's live aliases)."""
    return any(
        child.model.objects.filter(**{child.parent_fk: obj.pk}).exists()
        for child in children(kind_of(type(obj)))
    )


def soft_delete(obj: RegistryModel) -> None:
    """Stamp `deleted_at` (and `updated_at`) on a locked live row and audit it. The caller has
    checked its own preconditions (e.g. CRM-0017)."""
    obj.deleted_at = obj.updated_at = timezone.now()
    obj.save(update_fields=["deleted_at", "updated_at"])
    record(obj, audit.AuditEntry.Action.SOFT_DELETE, ["deletedAt"])


def restore(obj: RegistryModel) -> None:
    """Clear `deleted_at` of a locked row and audit it; a unique value taken meanwhile by a
    live row is the model's 409 (`save_unique`). A live row is left as it is."""
    if not obj.is_deleted:
        return
    obj.deleted_at = None
    obj.updated_at = timezone.now()
    save_unique(obj, update_fields=["deleted_at", "updated_at"])
    record(obj, audit.AuditEntry.Action.RESTORE, ["deletedAt"])


def record(
    obj: RegistryModel,
    action: str,
    changed_fields: Iterable[str],
    *,
    removed_part_ids: Iterable[uuid.UUID] = (),
    rows: Iterable[Row] = (),
) -> None:
    """The audit entry of a write to `obj`: its kind, id and organization, the acting user
    or token, and the names (never the values) of the fields that changed, written with the
    rows the change hooks (`on_change`) return, in the same transaction and statement.
    `removed_part_ids` names the parts (related parties) the write removed; `rows` are
    written first, in the same statement (`create`)."""
    of = kind_of(type(obj))
    changed_fields = tuple(changed_fields)
    rows = [
        *rows,
        audit.entry_row(
            action,
            object_type=of.name,
            object_id=obj.pk,
            organization_id=obj.organization_id,
            changed_fields=changed_fields,
        ),
    ]
    change = Change(of, action, obj, tuple(removed_part_ids), changed_fields)
    for hook in _change_hooks:
        rows.extend(hook(change))
    insert_rows(rows)


# --- Erasure plans -----------------------------------------------------------------------------


class ErasureError(ValueError):
    """A selection that cannot be erased (unknown id, changed meanwhile); nothing was erased."""


@dataclass(frozen=True)
class PlannedRecord:
    """One row an erasure removes: ids, state and plaintext details, never personal data."""

    kind: str  # a Kind name, or a Part label for listed parts
    label: str
    id: uuid.UUID
    organization_id: uuid.UUID
    deleted: bool
    depth: int  # 0 for a selected record, 1 for its children, ...
    parent_id: uuid.UUID | None = None
    details: dict[str, str] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return "deleted" if self.deleted else "live"


@dataclass
class ErasurePlan:
    """What erasing a selection of one kind by id removes, in display order (each record
    followed by what belongs to it)."""

    kind: Kind
    records: list[PlannedRecord]

    def of_kind(self, name: str) -> list[PlannedRecord]:
        return [record for record in self.records if record.kind == name]

    @property
    def selected(self) -> list[PlannedRecord]:
        return [record for record in self.records if record.depth == 0]

    def counts(self) -> dict[str, int]:
        """Records per registered kind (listed parts are not counted as records)."""
        return {name: len(self.of_kind(name)) for name in _kinds}


def _details(row: dict, columns: tuple[str, ...]) -> dict[str, str]:
    return {name: str(row[name]) for name in columns if row[name] not in (None, "")}


def _records(of: Kind, queryset: QuerySet, depth: int) -> list[PlannedRecord]:
    """Planned records of `queryset` (plaintext columns only), in key order."""
    parent = (of.parent_fk,) if of.parent_fk else ()
    columns = ("id", "organization_id", "deleted_at", *parent, *of.details)
    return [
        PlannedRecord(
            of.name,
            of.label,
            row["id"],
            row["organization_id"],
            row["deleted_at"] is not None,
            depth,
            row.get(of.parent_fk),
            _details(row, of.details),
        )
        for row in queryset.order_by("id").values(*columns)
    ]


def _expand(record: PlannedRecord, of: Kind) -> list[PlannedRecord]:
    """`record`, its listed parts, then each child record expanded the same way."""
    expanded = [record]
    for part in (part for part in of.parts if part.label):
        for row in (
            part.model.objects.filter(**{part.fk: record.id})
            .order_by("pk")
            .values("pk", *part.columns)
        ):
            expanded.append(
                PlannedRecord(
                    part.label,
                    part.label,
                    row["pk"],
                    record.organization_id,
                    record.deleted,
                    record.depth + 1,
                    record.id,
                    _details(row, part.columns),
                )
            )
    for child in children(of):
        queryset = child.model.all_objects.filter(**{child.parent_fk: record.id})
        for child_record in _records(child, queryset, record.depth + 1):
            expanded.extend(_expand(child_record, child))
    return expanded


def plan_erasure(
    kind_name: str, ids: Iterable[uuid.UUID], *, organization_id: uuid.UUID | None = None
) -> ErasurePlan:
    """The plan for erasing records of one kind by id (live or soft-deleted), each with every
    record of the child kinds and the parts that belong to it. With `organization_id`, an id
    of another organization counts as unknown. Unknown ids raise `ErasureError`."""
    of = kind(kind_name)
    wanted = list(dict.fromkeys(ids))
    queryset = of.model.all_objects.filter(id__in=wanted)
    if organization_id is not None:
        queryset = queryset.for_organization(organization_id)
    found = {record.id: record for record in _records(of, queryset, depth=0)}
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        scope = f" in organization {organization_id}" if organization_id else ""
        raise ErasureError(
            f"Unknown {of.name} id(s){scope}: {', '.join(map(str, missing))}. Nothing was erased."
        )
    records: list[PlannedRecord] = []
    for pk in wanted:
        records.extend(_expand(found[pk], of))
    return ErasurePlan(of, records)


# --- Erasing -----------------------------------------------------------------------------------


def _grouped(rows: Iterable[tuple[uuid.UUID, uuid.UUID]]) -> dict[uuid.UUID, list[uuid.UUID]]:
    groups: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for pk, organization_id in rows:
        groups[organization_id].append(pk)
    return groups


def _erase_rows(of: Kind, rows: list[tuple[uuid.UUID, uuid.UUID]]) -> dict[str, int]:
    """Erase `(id, organization_id)` rows of one kind with their children, parts and every
    trace; returns records erased per kind. Never loads (let alone decrypts) a personal
    column, so erasure works even where no configured key can read the rows."""
    erased: dict[str, int] = defaultdict(int)
    if not rows:
        return erased
    ids = [pk for pk, _ in rows]
    for child in children(of):
        child_rows = list(
            child.model.all_objects.filter(**{f"{child.parent_fk}__in": ids}).values_list(
                "id", "organization_id"
            )
        )
        for name, number in _erase_rows(child, child_rows).items():
            erased[name] += number
    for hook in _before_erase_hooks:
        hook(of, ids)
    for part in of.parts:
        part.model.objects.filter(**{f"{part.fk}__in": ids}).delete()
    of.model.all_objects.filter(id__in=ids).only("pk").delete()
    by_organization = _grouped(rows)
    for hook in _erase_hooks:
        hook(of, by_organization)
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(of.model),
        object_id__in=[str(pk) for pk in ids],
    ).delete()
    for organization_id, organization_ids in by_organization.items():
        audit.record_erasure(
            object_type=of.name, object_ids=organization_ids, organization_id=organization_id
        )
    erased[of.name] += len(rows)
    return erased


def erase_record(obj: RegistryModel) -> dict[str, int]:
    """Erase one record (loaded and locked by its service, with `ERASURE_COLUMNS` only) and
    all that belongs to it; returns records erased per kind."""
    of = kind_of(type(obj))
    return erase(plan_erasure(of.name, [obj.pk], organization_id=obj.organization_id))


@transaction.atomic
def erase(plan: ErasurePlan) -> dict[str, int]:
    """Erase a plan's selected records (and so all that belongs to them) in one transaction;
    returns records erased per kind. A selected record gone meanwhile is an `ErasureError`
    and nothing is erased."""
    selected = plan.selected
    locked = list(
        plan.kind.model.all_objects.filter(id__in=[record.id for record in selected])
        .select_for_update()
        .order_by("id")
        .values_list("id", "organization_id")
    )
    if len(locked) != len(selected):
        raise ErasureError("A selected record changed while erasing; nothing was erased.")
    return dict(_erase_rows(plan.kind, locked))


# --- Purges: a condition, erased in batches ----------------------------------------------------


@dataclass
class Purge:
    """Everything a condition selects, of every kind: a selected record is erased with all
    that belongs to it; records of child kinds are also selected on their own."""

    description: str
    condition: Callable[[Kind], Q]

    def selection(self, of: Kind) -> QuerySet:
        return of.model.all_objects.filter(self.condition(of))

    def total(self, of: Kind) -> QuerySet:
        """Every record of `of` the purge erases: selected, or under a selected parent."""
        match = self.condition(of)
        if of.parent is not None:
            parents = self.total(kind(of.parent)).values("id")
            match |= Q(**{f"{of.parent_fk}__in": parents})
        return of.model.all_objects.filter(match)


def retention_purge(cutoff: dt.datetime, *, organization_id: uuid.UUID | None = None) -> Purge:
    """Everything soft-deleted before `cutoff` (optionally in one organization)."""
    scope = Q(organization_id=organization_id) if organization_id else Q()
    return Purge(
        description=f"soft-deleted before {cutoff.isoformat()}"
        + (f" in organization {organization_id}" if organization_id else ""),
        condition=lambda of: Q(deleted_at__lt=cutoff) & scope,
    )


def organization_purge(organization_id: uuid.UUID) -> Purge:
    """Every record of an organization, live or soft-deleted."""
    return Purge(
        description=f"everything in organization {organization_id}",
        condition=lambda of: Q(organization_id=organization_id),
    )


@dataclass
class OrganizationCount:
    organization_id: uuid.UUID
    counts: dict[str, int] = field(default_factory=dict)


def count_purge(purge: Purge) -> list[OrganizationCount]:
    """Per-organization counts per kind of what `purge` erases (ids and counts only)."""
    counts: dict[uuid.UUID, OrganizationCount] = {}
    for of in kinds():
        for organization_id, number in (
            purge.total(of).order_by().values_list("organization_id").annotate(n=Count("id"))
        ):
            entry = counts.setdefault(organization_id, OrganizationCount(organization_id))
            entry.counts[of.name] = number
    return sorted(counts.values(), key=lambda entry: str(entry.organization_id))


@dataclass
class PurgeProgress:
    phase: str  # the kind being selected
    batch: int = 0
    erased: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)


def run_purge(
    purge: Purge, *, batch_size: int, progress: Callable[[PurgeProgress], None] | None = None
) -> PurgeProgress:
    """Erase what `purge` selects, kind by kind (parents first), `batch_size` selected records
    per transaction. A batch takes the next ids in key order (keyset: no rescans) and erases
    each with all that belongs to it, so no batch leaves a half-erased customer. A purge that
    stops half way is simply run again: the selection is a condition, not a list."""
    state = PurgeProgress(
        phase="",
        erased={of.name: 0 for of in kinds()},
        totals={of.name: purge.total(of).count() for of in kinds()},
    )
    for of in kinds():
        state.phase = of.name
        after = None
        while True:
            with transaction.atomic():
                queryset = purge.selection(of)
                if after is not None:
                    queryset = queryset.filter(id__gt=after)
                rows = list(
                    queryset.select_for_update()
                    .order_by("id")
                    .values_list("id", "organization_id")[:batch_size]
                )
                if not rows:
                    break
                after = rows[-1][0]
                for name, number in _erase_rows(of, rows).items():
                    state.erased[name] += number
            state.batch += 1
            if progress:
                progress(state)
    return state
