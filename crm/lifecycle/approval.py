"""Four eyes on erasure (maker-checker): a hard delete one data-protection officer asks for and
another approves (`ERASURE_APPROVAL`, docs/admin.md "Four eyes").

* `erasure_request_create` — the requester's step: refused for a held record (as erasing it
  would be) and while another request for the record is pending; records the record's version
  and a digest of its erasure plan (`plan_digest`), and a `request_erasure` audit entry with
  the reason.
* `erasure_request_approve` — another officer's step (never the requester's own): the record
  must be as it was when requested (same version, same plan), otherwise the approval is
  refused with what changed; then an `approve_erasure` entry and the erasure itself through
  `crm.lifecycle.erasure.erase` in the same transaction, under the request's reason. A legal
  hold placed meanwhile refuses it there (`RecordHeld`) and nothing is written. The erasure
  takes the request row with it (`erasure._erase_rows`).
* `erasure_request_reject` — any officer's, the requester's own included (a withdrawal): the
  request is closed with a reason (`reject_erasure` entry) and the record stays.

Who may take part (the hard-delete permission) is the admin's to check; who may not approve
(the requester) is checked here too.
"""

import hashlib
import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from crm.lifecycle import audit
from crm.lifecycle.erasure import (
    AnnounceErasure,
    ErasureError,
    ErasurePlan,
    erase,
    plan_erasure,
    refuse_held,
)
from crm.lifecycle.kinds import kind, kind_of
from crm.models import ERASURE_COLUMNS, AuditEntry, ErasureRequest, RegistryModel


class ApprovalError(ErasureError):
    """A request that cannot be made, approved or rejected as asked; nothing was written."""


def plan_digest(plan: ErasurePlan) -> str:
    """What an erasure removes, as a hash of its records' kinds, ids and states (no personal
    data): equal exactly when the same records in the same states would go."""
    lines = sorted(f"{record.kind}:{record.id}:{record.state}" for record in plan.records)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _reason(reason: str, missing: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApprovalError(missing)
    return reason


def pending_requests(object_type: str, ids: list[uuid.UUID]) -> list[ErasureRequest]:
    """The pending requests to erase these records of one kind (one query)."""
    return list(
        ErasureRequest.objects.filter(
            object_type=object_type, object_id__in=ids, status=ErasureRequest.Status.PENDING
        )
    )


def pending_request(obj: RegistryModel) -> ErasureRequest | None:
    """The pending request to erase `obj`, if there is one."""
    waiting = pending_requests(kind_of(type(obj)).name, [obj.pk])
    return waiting[0] if waiting else None


@transaction.atomic
def erasure_request_create(*, obj: RegistryModel, reason: str, requested_by: str) -> ErasureRequest:
    """Ask for `obj` to be erased (with all that belongs to it) once another officer approves."""
    reason = _reason(reason, gettext("Give the reason (legal basis) for this erasure."))
    of = kind_of(type(obj))
    plan = plan_erasure(of.name, [obj.pk])
    refuse_held(plan)
    waiting = pending_request(obj)
    if waiting is not None:
        raise ApprovalError(_already_waiting(waiting))
    try:
        with transaction.atomic():
            request = ErasureRequest.objects.create(
                organization_id=obj.organization_id,
                object_type=of.name,
                object_id=obj.pk,
                version=obj.version,
                plan_digest=plan_digest(plan),
                plan_counts=plan.counts(),
                reason=reason,
                requested_by=requested_by,
            )
    except IntegrityError:  # another officer asked in the same instant
        raise ApprovalError(_already_waiting(pending_request(obj))) from None
    _record(AuditEntry.Action.REQUEST_ERASURE, request, reason)
    return request


def _record(action: str, request: ErasureRequest, reason: str) -> None:
    """The audit entry of one step of `request`, about its record, with `reason`."""
    with audit.giving_reason(reason):
        audit.record(
            action,
            object_type=request.object_type,
            object_id=request.object_id,
            organization_id=request.organization_id,
        )


def _already_waiting(waiting: ErasureRequest | None) -> str:
    if waiting is None:
        return gettext("An erasure of this record was asked for at the same time.")
    return gettext(
        "An erasure of this record is already waiting for approval (asked for by %(who)s on "
        "%(when)s UTC)."
    ) % {"who": waiting.requested_by, "when": f"{waiting.requested_at:%Y-%m-%d %H:%M}"}


@dataclass(frozen=True)
class RequestState:
    """A pending request against its record now: the record (None once erased), the plan it
    would erase now, and what changed since the request (empty when nothing did)."""

    record: RegistryModel | None
    plan: ErasurePlan | None
    changed: str


def request_state(request: ErasureRequest, *, for_update: bool = False) -> RequestState:
    """The record a request is about, as it is now, and whether it changed since."""
    of = kind(request.object_type)
    records = of.model.all_objects.only(*ERASURE_COLUMNS).filter(pk=request.object_id)
    record = (records.select_for_update() if for_update else records).first()
    if record is None:
        return RequestState(None, None, gettext("The record no longer exists."))
    plan = plan_erasure(of.name, [record.pk])
    if record.version != request.version:
        changed = gettext(
            "The record changed after the erasure was asked for (version %(then)d then, "
            "%(now)d now)."
        ) % {"then": request.version, "now": record.version}
    elif plan_digest(plan) != request.plan_digest:
        changed = gettext(
            "What the erasure would remove changed after it was asked for (records added, "
            "removed, deleted or restored)."
        )
    else:
        changed = ""
    return RequestState(record, plan, changed)


def _pending(request_id: uuid.UUID) -> ErasureRequest:
    request = (
        ErasureRequest.objects.select_for_update()
        .filter(pk=request_id, status=ErasureRequest.Status.PENDING)
        .first()
    )
    if request is None:
        raise ApprovalError(
            gettext(
                "This erasure request is no longer waiting: it was decided, or its record was "
                "erased meanwhile."
            )
        )
    return request


@transaction.atomic
def erasure_request_approve(
    *, request_id: uuid.UUID, approver: str, announce: AnnounceErasure | None = None
) -> dict[str, int]:
    """Approve a pending request and erase its record through the erasure path; returns the
    records erased per kind. Refused (`ApprovalError`, nothing written) for the requester
    themself and for a record changed since the request; a legal hold refuses it with
    `RecordHeld`."""
    request = _pending(request_id)
    if request.requested_by == approver:
        raise ApprovalError(
            gettext("You asked for this erasure: another data protection officer must approve it.")
        )
    state = request_state(request, for_update=True)
    if state.changed:
        raise ApprovalError(
            state.changed
            + " "
            + gettext(
                "Nothing was erased. Reject this request; the erasure can then be asked for "
                "again as the record is now."
            )
        )
    _record(AuditEntry.Action.APPROVE_ERASURE, request, request.reason)
    with audit.giving_reason(request.reason):
        return erase(state.plan, announce=announce)


@transaction.atomic
def erasure_request_reject(*, request_id: uuid.UUID, by: str, reason: str) -> ErasureRequest:
    """Close a pending request without erasing anything (the requester may withdraw their
    own), with a reason kept on the request and its `reject_erasure` audit entry."""
    reason = _reason(reason, gettext("Give the reason for rejecting this erasure."))
    request = _pending(request_id)
    request.status = ErasureRequest.Status.REJECTED
    request.decided_by = by
    request.decided_at = timezone.now()
    request.decision_reason = reason
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    _record(AuditEntry.Action.REJECT_ERASURE, request, reason)
    return request
