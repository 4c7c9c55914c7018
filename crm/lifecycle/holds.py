"""Legal holds: records no erasure path may remove while the hold stands (docs/api.md §12).

A data-protection officer places a hold on a record with a reason (litigation, a regulator's
request) and lifts it later; both are audited. A hold covers what belongs to the record: a
held holder's accounts cannot be erased either. Every erasure path goes through
`crm.lifecycle.erasure`, which asks this module: `erase(plan)` refuses a plan that touches a
held record (`RecordHeld`, nothing erased: the API answers 409 CRM-0912), and a purge skips
held records and what belongs to them (`Purge.selection`), reporting them as held.
"""

import uuid

from django.db import transaction
from django.db.models import Q

from crm.lifecycle import audit
from crm.lifecycle.kinds import Kind, children, kind, kind_of
from crm.models import AuditEntry, LegalHold, RegistryModel


class HoldError(ValueError):
    """A hold that cannot be placed or lifted as asked (already held, not held, no reason)."""


def hold_of(obj: RegistryModel) -> LegalHold | None:
    return LegalHold.objects.filter(object_type=kind_of(type(obj)).name, object_id=obj.pk).first()


def held_condition(of: Kind) -> Q:
    """Records of `of` no erasure may remove: held themselves, through the record they belong
    to, or through a held record that belongs to them (erasing them would erase it)."""
    return _held_up(of) | _held_down(of)


def _held_up(of: Kind) -> Q:
    """Held themselves or through an ancestor."""
    condition = Q(id__in=LegalHold.objects.filter(object_type=of.name).values("object_id"))
    if of.parent is not None:
        parent = kind(of.parent)
        condition |= Q(
            **{
                f"{of.parent_fk}__in": parent.model.all_objects.filter(_held_up(parent)).values(
                    "id"
                )
            }
        )
    return condition


def _held_down(of: Kind) -> Q:
    """Held themselves or through a descendant."""
    condition = Q(id__in=LegalHold.objects.filter(object_type=of.name).values("object_id"))
    for child in children(of):
        condition |= Q(
            id__in=child.model.all_objects.filter(_held_down(child)).values(child.parent_fk)
        )
    return condition


def blocking_holds(of: Kind, selected: list[uuid.UUID], related: set[uuid.UUID]) -> list:
    """The holds that keep an erasure of `selected` records of `of` from happening, oldest
    first: on one of them, on a record they belong to or on one that belongs to them
    (`related`: the ids of everything the erasure would remove and of the selected records'
    parents)."""
    if not of.model.all_objects.filter(held_condition(of), id__in=selected).exists():
        return []
    return list(LegalHold.objects.filter(object_id__in=[*selected, *related]).order_by("placed_at"))


@transaction.atomic
def place(obj: RegistryModel, *, reason: str, placed_by: str) -> LegalHold:
    """Hold `obj` (audited with the reason); a record already held is a `HoldError`."""
    reason = (reason or "").strip()
    if not reason:
        raise HoldError("A legal hold needs a reason.")
    of = kind_of(type(obj))
    if LegalHold.objects.select_for_update().filter(object_type=of.name, object_id=obj.pk).exists():
        raise HoldError(f"This {of.label.lower()} is already under a legal hold.")
    hold = LegalHold.objects.create(
        organization_id=obj.organization_id,
        object_type=of.name,
        object_id=obj.pk,
        reason=reason,
        placed_by=placed_by,
    )
    with audit.giving_reason(reason):
        audit.record(
            AuditEntry.Action.PLACE_HOLD,
            object_type=of.name,
            object_id=obj.pk,
            organization_id=obj.organization_id,
        )
    return hold


@transaction.atomic
def lift(obj: RegistryModel, *, reason: str) -> None:
    """Lift the hold on `obj` (audited with the reason); a record not held is a `HoldError`."""
    reason = (reason or "").strip()
    if not reason:
        raise HoldError("Lifting a legal hold needs a reason.")
    of = kind_of(type(obj))
    deleted, _ = LegalHold.objects.filter(object_type=of.name, object_id=obj.pk).delete()
    if not deleted:
        raise HoldError(f"This {of.label.lower()} is not under a legal hold.")
    with audit.giving_reason(reason):
        audit.record(
            AuditEntry.Action.LIFT_HOLD,
            object_type=of.name,
            object_id=obj.pk,
            organization_id=obj.organization_id,
        )
