"""Erasure: what a hard delete removes (the plan), removing it, and purges by condition.

* `plan_erasure(...)` says *what* an erasure removes (ids, states and plaintext details only,
  never a personal value); the admin confirmation page and the `hard_delete` dry run show the
  same plan. `erase(plan)` removes it in one transaction with everything derived from it:
  search hashes in the rows, the kinds' parts (`crm.lifecycle.kinds`), every version
  (`crm.lifecycle.versions`), admin log rows, idempotency records and erasure requests
  (`crm.lifecycle.approval`), and leaves one
  `hard_delete` audit entry per erased record.
* Purges (`retention_purge`, `organization_purge`) erase what a condition selects, in batches.

Change events are the caller's to ask for: `erase` and `run_purge` take `announce(kind, ids)`,
called inside the transaction while the rows of `kind` are still there (their children already
gone); the domain services, the admin and `manage.py hard_delete` pass
`events.outbox.erasure_events`.
"""

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Count, Q, QuerySet

from crm.api.errors import CRMError
from crm.lifecycle import audit
from crm.lifecycle.holds import blocking_holds, held_condition
from crm.lifecycle.kinds import Kind, children, kind, kind_of, kinds
from crm.lifecycle.versions import erase_versions
from crm.models import ErasureRequest, IdempotencyRecord, RegistryModel

# What an erasure's `announce` function is: called with a kind and the ids about to go.
AnnounceErasure = Callable[[Kind, list[uuid.UUID]], None]

# --- Erasure plans -----------------------------------------------------------------------------


class ErasureError(ValueError):
    """A selection that cannot be erased (unknown id, changed meanwhile); nothing was erased."""


class RecordHeld(ErasureError, CRMError):
    """A selection that touches a record under a legal hold (`crm.lifecycle.holds`); nothing
    was erased. The API answers it as 409 CRM-0912; the admin and the command print it."""

    def __init__(self, message: str) -> None:
        CRMError.__init__(self, "CRM-0912", message)

    def __str__(self) -> str:
        return self.message


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
        return {of.name: len(self.of_kind(of.name)) for of in kinds()}


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


def _erase_rows(
    of: Kind, rows: list[tuple[uuid.UUID, uuid.UUID]], announce: AnnounceErasure | None
) -> dict[str, int]:
    """Erase `(id, organization_id)` rows of one kind with their children, parts and every
    trace (versions, admin log rows, idempotency records), announcing each kind's ids before
    its rows go; returns records erased per kind. Never loads (let alone decrypts) a
    personal column, so erasure works even where no configured key can read the rows."""
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
        for name, number in _erase_rows(child, child_rows, announce).items():
            erased[name] += number
    if announce is not None:
        announce(of, ids)
    for part in of.parts:
        part.model.objects.filter(**{f"{part.fk}__in": ids}).delete()
    of.model.all_objects.filter(id__in=ids).only("pk").delete()
    erase_versions(of, ids)
    by_organization = _grouped(rows)
    _erase_idempotency_records(of, by_organization)
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(of.model),
        object_id__in=[str(pk) for pk in ids],
    ).delete()
    # Requests to erase them (crm.lifecycle.approval), pending or rejected, go with them.
    ErasureRequest.objects.filter(object_type=of.name, object_id__in=ids).delete()
    for organization_id, organization_ids in by_organization.items():
        audit.record_erasure(
            object_type=of.name, object_ids=organization_ids, organization_id=organization_id
        )
    erased[of.name] += len(rows)
    return erased


def _erase_idempotency_records(of: Kind, ids_by_organization: dict[uuid.UUID, list]) -> None:
    """The stored answers about erased records go with them (`crm.api.idempotency`): a replay
    must not bring an erased person back."""
    for organization_id, ids in ids_by_organization.items():
        for start in range(0, len(ids), 500):
            IdempotencyRecord.objects.filter(
                organization_id=organization_id,
                object_kind=of.name,
                object_id__in=ids[start : start + 500],
            ).delete()


def erase_record(obj: RegistryModel, *, announce: AnnounceErasure | None = None) -> dict[str, int]:
    """Erase one record (loaded and locked by its service, with `ERASURE_COLUMNS` only) and
    all that belongs to it; returns records erased per kind."""
    of = kind_of(type(obj))
    plan = plan_erasure(of.name, [obj.pk], organization_id=obj.organization_id)
    return erase(plan, announce=announce)


@transaction.atomic
def erase(plan: ErasurePlan, *, announce: AnnounceErasure | None = None) -> dict[str, int]:
    """Erase a plan's selected records (and so all that belongs to them) in one transaction;
    returns records erased per kind. A selected record gone meanwhile is an `ErasureError`
    and nothing is erased. `announce(kind, ids)` (the change events) runs for each kind's
    records while they are still there."""
    selected = plan.selected
    locked = list(
        plan.kind.model.all_objects.filter(id__in=[record.id for record in selected])
        .select_for_update()
        .order_by("id")
        .values_list("id", "organization_id")
    )
    if len(locked) != len(selected):
        raise ErasureError("A selected record changed while erasing; nothing was erased.")
    refuse_held(plan)
    return dict(_erase_rows(plan.kind, locked, announce))


def held_by(plan: ErasurePlan) -> list:
    """The legal holds that keep `plan` from being erased (`crm.lifecycle.holds`), oldest first;
    none for a plan that may go."""
    related = {record.id for record in plan.records}
    related |= {record.parent_id for record in plan.selected if record.parent_id}
    return blocking_holds(plan.kind, [record.id for record in plan.selected], related)


def refuse_held(plan: ErasurePlan) -> None:
    """A plan touching a held record is refused whole."""
    holds = held_by(plan)
    if holds:
        hold = holds[0]
        raise RecordHeld(
            f"{kind(hold.object_type).label} {hold.object_id} is under a legal hold (placed "
            f"{hold.placed_at:%Y-%m-%d} by {hold.placed_by}): lift the hold before erasing it. "
            "Nothing was erased."
        )


# --- Purges: a condition, erased in batches ----------------------------------------------------


@dataclass
class Purge:
    """Everything a condition selects, of every kind: a selected record is erased with all
    that belongs to it; records of child kinds are also selected on their own."""

    description: str
    condition: Callable[[Kind], Q]

    def selection(self, of: Kind) -> QuerySet:
        """The records of `of` the condition selects, but for held ones (`crm.lifecycle.holds`:
        a purge skips them and what they belong to or hold)."""
        return of.model.all_objects.filter(self.condition(of)).exclude(held_condition(of))

    def total(self, of: Kind) -> QuerySet:
        """Every record of `of` the purge erases: selected, or under a selected parent."""
        match = self.condition(of)
        if of.parent is not None:
            parents = self.total(kind(of.parent)).values("id")
            match |= Q(**{f"{of.parent_fk}__in": parents})
        return of.model.all_objects.filter(match).exclude(held_condition(of))

    def held(self, of: Kind) -> QuerySet:
        """The records of `of` the condition selects that a legal hold keeps."""
        return of.model.all_objects.filter(self.condition(of)).filter(held_condition(of))


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
    purge: Purge,
    *,
    batch_size: int,
    progress: Callable[[PurgeProgress], None] | None = None,
    announce: AnnounceErasure | None = None,
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
                for name, number in _erase_rows(of, rows, announce).items():
                    state.erased[name] += number
            state.batch += 1
            if progress:
                progress(state)
    return state
