"""Erasure for operators (`manage.py hard_delete`): plans and their execution.

Two shapes, because "all or nothing" and "a million rows" pull in opposite directions:

* **Selections by id** (holders, aliases): every id is checked first (an unknown id, or one
  outside `--organization`, fails before anything is erased); then all of them are erased in
  **one transaction** through the same services the API and the admin use
  (`holder_hard_delete(with_aliases=True)`, `alias_hard_delete`). All or nothing.
* **Purges** (retention: everything soft-deleted before a cut-off; a whole organization) run
  in **batches, one transaction per batch**. A batch takes the next `batch_size` holders by
  primary key (locked), erases their aliases (live or not) and then the holders, so no batch
  leaves a half-erased customer; then soft-deleted aliases past the cut-off whose holder stays
  are erased the same way. Rows are never loaded into memory beyond one batch of ids, and
  personal values are never decrypted. A purge that stops half way is simply run again: the
  selection is a condition, not a list.

Every erased record keeps exactly one audit entry (`hard_delete`, no values): its earlier
history is removed with it (`crm.audit.record_erasure`).
"""

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from aliases.models import AliasAccount
from aliases.services import OBJECT_TYPE as ALIAS_OBJECT_TYPE
from aliases.services import alias_hard_delete
from crm import audit
from crm.errors import CRMError
from holders.models import Holder
from holders.services import OBJECT_TYPE as HOLDER_OBJECT_TYPE
from holders.services import holder_hard_delete


class ErasureError(ValueError):
    """A selection that cannot be erased (unknown id, ...); nothing was erased."""


def _state(deleted_at: dt.datetime | None) -> str:
    return "live" if deleted_at is None else "deleted"


# --- Selections by id: one transaction -----------------------------------------------------


@dataclass(frozen=True)
class PlannedRecord:
    """One record a selection erases: ids and state only, never personal data."""

    kind: str  # "holder" | "alias"
    id: uuid.UUID
    organization_id: uuid.UUID
    state: str  # "live" | "deleted"
    holder_id: uuid.UUID | None = None  # an alias's holder
    aliases: int | None = None  # a holder's alias count


@dataclass
class IdPlan:
    """What erasing a list of holders or aliases by id erases."""

    kind: str  # "holders" | "aliases"
    records: list[PlannedRecord]

    @property
    def holders(self) -> list[PlannedRecord]:
        return [r for r in self.records if r.kind == "holder"]

    @property
    def aliases(self) -> list[PlannedRecord]:
        return [r for r in self.records if r.kind == "alias"]


def _unknown(
    kind: str,
    wanted: list[uuid.UUID],
    found: Iterable[uuid.UUID],
    organization_id: uuid.UUID | None,
) -> None:
    missing = [pk for pk in wanted if pk not in set(found)]
    if missing:
        scope = f" in organization {organization_id}" if organization_id else ""
        raise ErasureError(
            f"Unknown {kind} id(s){scope}: {', '.join(map(str, missing))}. Nothing was erased."
        )


def plan_holders(ids: list[uuid.UUID], *, organization_id: uuid.UUID | None = None) -> IdPlan:
    """Holders by id (live or soft-deleted) with every alias account of each."""
    queryset = Holder.all_objects.filter(id__in=ids)
    if organization_id:
        queryset = queryset.filter(organization_id=organization_id)
    holders = {
        row[0]: row
        for row in queryset.annotate(alias_count=Count("aliases")).values_list(
            "id", "organization_id", "deleted_at", "alias_count"
        )
    }
    _unknown("holder", ids, holders, organization_id)
    aliases = defaultdict(list)
    for alias_id, holder_id, org, deleted_at in (
        AliasAccount.all_objects.filter(holder_id__in=ids)
        .order_by("holder_id", "id")
        .values_list("id", "holder_id", "organization_id", "deleted_at")
    ):
        aliases[holder_id].append(
            PlannedRecord("alias", alias_id, org, _state(deleted_at), holder_id=holder_id)
        )
    records = []
    for pk in ids:
        _, org, deleted_at, alias_count = holders[pk]
        records.append(PlannedRecord("holder", pk, org, _state(deleted_at), aliases=alias_count))
        records.extend(aliases[pk])
    return IdPlan("holders", records)


def plan_aliases(ids: list[uuid.UUID], *, organization_id: uuid.UUID | None = None) -> IdPlan:
    """Alias accounts by id (live or soft-deleted); their holders stay."""
    queryset = AliasAccount.all_objects.filter(id__in=ids)
    if organization_id:
        queryset = queryset.filter(organization_id=organization_id)
    aliases = {
        row[0]: row
        for row in queryset.values_list("id", "holder_id", "organization_id", "deleted_at")
    }
    _unknown("alias", ids, aliases, organization_id)
    return IdPlan(
        "aliases",
        [
            PlannedRecord(
                "alias", pk, aliases[pk][2], _state(aliases[pk][3]), holder_id=aliases[pk][1]
            )
            for pk in ids
        ],
    )


@transaction.atomic
def erase_plan(plan: IdPlan) -> tuple[int, int]:
    """Erase a selection by id, all in one transaction; (holders, aliases) erased."""
    holders = aliases = 0
    try:
        if plan.kind == "holders":
            for record in plan.holders:
                erased = holder_hard_delete(
                    organization_id=record.organization_id,
                    holder_id=record.id,
                    with_aliases=True,
                )
                holders += len(erased["holder"])
                aliases += len(erased["alias"])
        else:
            for record in plan.aliases:
                aliases += len(
                    alias_hard_delete(
                        organization_id=record.organization_id,
                        holder_id=record.holder_id,
                        alias_id=record.id,
                    )
                )
    except CRMError as exc:  # erased or moved by someone else since the plan was made
        raise ErasureError(
            f"A selected record changed while erasing ({exc.code}); nothing was erased."
        ) from exc
    return holders, aliases


# --- Purges: batches, one transaction each -------------------------------------------------


@dataclass
class Purge:
    """A purge is two conditions: the holders to erase (each with all its aliases) and the
    other aliases to erase (their holders stay)."""

    description: str
    holders: Callable[[], QuerySet]
    loose_aliases: Callable[[], QuerySet]

    def alias_total(self) -> QuerySet:
        return AliasAccount.all_objects.filter(
            Q(holder__in=self.holders().values("id")) | Q(id__in=self.loose_aliases().values("id"))
        )


def retention_purge(cutoff: dt.datetime, *, organization_id: uuid.UUID | None = None) -> Purge:
    """Everything soft-deleted before `cutoff`: such holders with all their aliases, and
    soft-deleted aliases of holders that stay."""

    def scoped(queryset: QuerySet) -> QuerySet:
        return queryset.filter(organization_id=organization_id) if organization_id else queryset

    return Purge(
        description=f"soft-deleted before {cutoff.isoformat()}"
        + (f" in organization {organization_id}" if organization_id else ""),
        holders=lambda: scoped(Holder.all_objects.filter(deleted_at__lt=cutoff)),
        loose_aliases=lambda: scoped(AliasAccount.all_objects.filter(deleted_at__lt=cutoff)),
    )


def organization_purge(organization_id: uuid.UUID) -> Purge:
    """Every holder and alias of an organization, live or soft-deleted."""
    return Purge(
        description=f"everything in organization {organization_id}",
        holders=lambda: Holder.all_objects.filter(organization_id=organization_id),
        loose_aliases=lambda: AliasAccount.all_objects.filter(organization_id=organization_id),
    )


@dataclass
class OrganizationCount:
    organization_id: uuid.UUID
    holders: int = 0
    aliases: int = 0


def count_purge(purge: Purge) -> list[OrganizationCount]:
    """Per-organization counts of what `purge` erases (ids and counts only)."""
    counts: dict[uuid.UUID, OrganizationCount] = {}
    for kind, queryset in (("holders", purge.holders()), ("aliases", purge.alias_total())):
        for org, number in (
            queryset.order_by().values_list("organization_id").annotate(n=Count("id"))
        ):
            entry = counts.setdefault(org, OrganizationCount(org))
            setattr(entry, kind, number)
    return sorted(counts.values(), key=lambda c: str(c.organization_id))


@dataclass
class PurgeProgress:
    phase: str  # "holders" | "aliases"
    batch: int = 0
    holders: int = 0
    aliases: int = 0
    holders_total: int = 0
    aliases_total: int = 0


def _grouped(rows: list[tuple[uuid.UUID, uuid.UUID]]) -> dict[uuid.UUID, list[uuid.UUID]]:
    groups: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for pk, org in rows:
        groups[org].append(pk)
    return groups


def _erase_aliases(queryset: QuerySet) -> int:
    """Delete aliases (their related parties cascade) and leave one erasure entry each.
    `.only("pk")`: the deletion never loads, let alone decrypts, a personal value."""
    rows = list(queryset.values_list("id", "organization_id"))
    if rows:
        AliasAccount.all_objects.filter(id__in=[pk for pk, _ in rows]).only("pk").delete()
        for org, ids in _grouped(rows).items():
            audit.record_erasure(object_type=ALIAS_OBJECT_TYPE, object_ids=ids, organization_id=org)
    return len(rows)


def _next_batch(
    queryset: QuerySet, batch_size: int, after: uuid.UUID | None
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """The next `batch_size` (id, organization) rows, locked, in id order after `after`
    (keyset pagination: each batch resumes where the last one ended instead of rescanning)."""
    if after is not None:
        queryset = queryset.filter(id__gt=after)
    return list(
        queryset.select_for_update()
        .order_by("id")
        .values_list("id", "organization_id")[:batch_size]
    )


def run_purge(
    purge: Purge, *, batch_size: int, progress: Callable[[PurgeProgress], None] | None = None
) -> PurgeProgress:
    """Erase what `purge` selects, `batch_size` holders (or aliases) per transaction."""
    state = PurgeProgress(
        phase="holders",
        holders_total=purge.holders().count(),
        aliases_total=purge.alias_total().count(),
    )
    after = None
    while True:
        with transaction.atomic():
            rows = _next_batch(purge.holders(), batch_size, after)
            if not rows:
                break
            after = rows[-1][0]
            holder_ids = [pk for pk, _ in rows]
            state.aliases += _erase_aliases(
                AliasAccount.all_objects.filter(holder_id__in=holder_ids)
            )
            Holder.all_objects.filter(id__in=holder_ids).only("pk").delete()
            for org, ids in _grouped(rows).items():
                audit.record_erasure(
                    object_type=HOLDER_OBJECT_TYPE, object_ids=ids, organization_id=org
                )
            state.holders += len(rows)
        state.batch += 1
        if progress:
            progress(state)
    state.phase = "aliases"
    after = None
    while True:
        with transaction.atomic():
            rows = _next_batch(purge.loose_aliases(), batch_size, after)
            if not rows:
                break
            after = rows[-1][0]
            state.aliases += _erase_aliases(
                AliasAccount.all_objects.filter(id__in=[pk for pk, _ in rows])
            )
        state.batch += 1
        if progress:
            progress(state)
    return state
