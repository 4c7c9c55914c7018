"""The audit trail shared by the API, the admin and the commands.

Who acts is carried in a context variable (`Actor`): API views set it from the token, the admin
middleware from the staff user, commands with `acting_as(...)`. Services call `record(...)` with
field *names* only, so no personal value ever reaches the audit table. Why staff or an operator
act (a reason or legal basis, required for a hard delete) is carried the same way: the admin and
`manage.py hard_delete` wrap the call in `giving_reason(...)`, and every entry written inside it
keeps the reason. A write that spans several records as one staff action (a holder soft-deleted
with its accounts) wraps its service calls in `as_one_action(...)`: every entry written inside
carries the same `details` (the action's name, its main record and a shared id), so the trail
reads the entries as one action.
"""

import contextlib
import contextvars
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from crm.api.middleware import request_id_var
from crm.db.rows import Row, insert_rows
from crm.lifecycle import chain
from crm.models import AuditEntry

__all__ = [
    "ACTOR_TYPES",
    "Actor",
    "AuditEntry",
    "acting_as",
    "as_one_action",
    "current_actor",
    "entry_row",
    "entry_values",
    "giving_reason",
    "record",
    "record_erasure",
]


# Who can act (`AuditEntry.ActorType`).
ACTOR_TYPES = tuple(AuditEntry.ActorType.values)


@dataclass(frozen=True)
class Actor:
    kind: str  # one of ACTOR_TYPES
    name: str

    @classmethod
    def from_api_request(cls, request) -> "Actor":
        token = getattr(request, "auth", None)
        if token is not None and hasattr(token, "name"):
            return cls("token", token.name)
        return cls("api", "anonymous")


_actor: contextvars.ContextVar[Actor] = contextvars.ContextVar(
    "audit_actor", default=Actor("system", "system")
)


def set_actor(actor: Actor) -> None:
    _actor.set(actor)


def current_actor() -> Actor:
    return _actor.get()


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


_reason: contextvars.ContextVar[str] = contextvars.ContextVar("audit_reason", default="")


@contextlib.contextmanager
def giving_reason(reason: str) -> Iterator[None]:
    """Every audit entry written inside carries `reason` (stripped)."""
    token = _reason.set((reason or "").strip())
    try:
        yield
    finally:
        _reason.reset(token)


_one_action: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "audit_one_action", default=None
)


@contextlib.contextmanager
def as_one_action(name: str, *, object_type: str, object_id: uuid.UUID) -> Iterator[str]:
    """Every audit entry written inside records that it is part of one action `name` on the
    record (`object_type`, `object_id`), with an action id shared by those entries only
    (yielded): `details = {"action": name, "of": "<type> <id>", "actionId": …}`. Names and ids
    only, never a value."""
    action_id = str(uuid.uuid4())
    token = _one_action.set(
        {"action": name, "of": f"{object_type} {object_id}", "actionId": action_id}
    )
    try:
        yield action_id
    finally:
        _one_action.reset(token)


def entry_values(
    action: str,
    *,
    object_type: str,
    object_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    changed_fields: Iterable[str] = (),
    actor: Actor | None = None,
) -> dict:
    """The column values of one entry: the acting user or token (the current one unless
    given), the request id, and the *names* of the changed fields, never their values."""
    actor = actor or current_actor()
    request_id = request_id_var.get()
    one_action = _one_action.get()
    return {
        **({"details": dict(one_action)} if one_action else {}),
        "organization_id": organization_id,
        "actor_type": actor.kind,
        "actor": actor.name[:150],
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "changed_fields": sorted(set(changed_fields)),
        "request_id": "" if request_id == "-" else request_id,
        "reason": _reason.get(),
    }


def entry_row(action: str, **entry: Any) -> Row:
    """One entry as a row to insert (`crm.db.rows.insert_rows`), e.g. together with the rows the
    same write appends elsewhere; `entry` as `entry_values` takes it."""
    return Row(AuditEntry, entry_values(action, **entry))


def record(action: str, **entry: Any) -> None:
    """Write one entry (`entry` as `entry_values` takes it); a single statement, nothing read
    back."""
    insert_rows([entry_row(action, **entry)])


def record_erasure(
    *, object_type: str, object_ids: list[uuid.UUID], organization_id: uuid.UUID
) -> None:
    """An erased object's history loses its body (`crm.lifecycle.chain.redact`: what changed,
    why, the request ids), keeps its frame and hashes so the chain still verifies, and gains
    one entry saying that it was erased."""
    chain.redact(object_type, object_ids)
    insert_rows(
        [
            entry_row(
                AuditEntry.Action.HARD_DELETE,
                object_type=object_type,
                object_id=object_id,
                organization_id=organization_id,
            )
            for object_id in object_ids
        ]
    )


class AuditActorMiddleware:
    """Names the staff user as the actor of admin requests."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/admin/"):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                with acting_as(Actor("staff", user.get_username())):
                    return self.get_response(request)
        return self.get_response(request)
