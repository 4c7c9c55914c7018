"""Appending change events to the outbox, in the transaction of the change.

Every write names its events where it is made: the domain services pass `change_rows` as the
`announce` argument of the lifecycle core's writes (create, update, soft delete, restore,
related-party removal: API, admin and commands alike), and every erasure passes
`erasure_events` (hard deletes from the API and the admin, `manage.py hard_delete`, retention
and organization purges); the bulk importer writes the same rows
(`crm.lifecycle.creation_rows`). With `EVENTS_ENABLED` off nothing is written.

The append is on the path of every API write, so `change_rows` returns its rows and the
lifecycle core inserts them with the write's audit entry (`crm.db.rows.insert_rows`: one
statement on PostgreSQL, no model instance, nothing read back). `seq` still comes from the
table's sequence at insert time, so the ordering guarantee of `OutboxEvent` is unchanged.
"""

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone

from crm.db.rows import Row
from crm.lifecycle import Change, Kind
from crm.models import AuditEntry
from crm.observability import tracing
from events import catalogue
from events.models import OutboxEvent

# The audit field names of related-party changes (`relatedParties[+]`, `relatedParties[-]`).
RELATED_PARTIES = "relatedParties"

Action = AuditEntry.Action


def enabled() -> bool:
    return settings.EVENTS_ENABLED


def event_values(
    key: str,
    *,
    kind: str,
    aggregate_id: uuid.UUID,
    organization_id: uuid.UUID,
    payload: dict[str, Any],
    occurred_at: dt.datetime,
) -> dict[str, Any]:
    """The column values of one outbox row; the event id is the field's default (a new
    UUIDv7), `seq` comes from the table's sequence at insert time, `sent_at` and
    `next_attempt_at` stay NULL. `traceparent` is the trace context of the write in progress
    (telemetry on, inside a request's span; "" otherwise): the relay publishes it as the
    CloudEvents `traceparent` extension (docs/events.md)."""
    return {
        "type": key,
        "aggregate_kind": kind,
        "aggregate_id": aggregate_id,
        "organization_id": organization_id,
        "payload": payload,
        "occurred_at": occurred_at,
        "traceparent": tracing.traceparent(),
    }


def event(key: str, **values: Any) -> OutboxEvent:
    """An unsaved outbox row (its event id is assigned here); `values` as `event_values`."""
    return OutboxEvent(**event_values(key, **values))


def _row(of: Kind, obj: Any) -> dict[str, Any]:
    row = {"id": obj.pk, "organization_id": obj.organization_id}
    if of.parent_fk:
        row[of.parent_fk] = getattr(obj, of.parent_fk)
    return row


def change_rows(change: Change) -> list[Row]:
    """A write's `announce` function (`crm.lifecycle.writes`): the outbox rows of one audited
    write (none with events off), which the lifecycle core inserts with its audit entry."""
    if not enabled():
        return []
    of, obj = change.kind, change.obj
    rows = [
        _event_row(
            f"{of.name}.related-party-deleted",
            of,
            obj,
            catalogue.related_party_deletion(obj, part_id, obj.updated_at),
        )
        for part_id in change.removed_part_ids
    ]
    if change.removed_part_ids and all(
        field.startswith(RELATED_PARTIES) for field in change.changed_fields
    ):
        return rows  # the removals were the whole change: their events say it
    if change.action == Action.SOFT_DELETE:
        key = f"{of.name}.deleted"
        payload = catalogue.deletion(of, _row(of, obj), "soft", obj.deleted_at)
    elif change.action in (Action.CREATE, Action.UPDATE, Action.RESTORE):
        verb = {Action.CREATE: "created", Action.UPDATE: "updated", Action.RESTORE: "restored"}
        key = f"{of.name}.{verb[change.action]}"
        payload = catalogue.STATES[of.name](obj, change.parts)
    else:
        return rows
    rows.append(_event_row(key, of, obj, payload))
    return rows


def _event_row(key: str, of: Kind, obj: Any, payload: dict[str, Any]) -> Row:
    """The outbox row of one event about `obj`, for `crm.db.rows.insert_rows`."""
    return Row(
        OutboxEvent,
        event_values(
            key,
            kind=of.name,
            aggregate_id=obj.pk,
            organization_id=obj.organization_id,
            payload=payload,
            occurred_at=obj.updated_at,
        ),
    )


def erasure_events(of: Kind, ids: list[uuid.UUID]) -> None:
    """An erasure's `announce` function (`crm.lifecycle.erasure`): one event per erased record
    (`<kind>.deleted` with `deletionType: "hard"` for a live one, `<kind>.erased` for a
    soft-deleted one), read from plaintext columns only. The record's already-sent events go
    too: an erasure leaves nothing of a record but the fact that it was erased (pending ones
    are still delivered)."""
    OutboxEvent.objects.filter(aggregate_id__in=ids, sent_at__isnull=False).delete()
    if not enabled():
        return
    now = timezone.now()
    columns = ("id", "organization_id", "deleted_at", *([of.parent_fk] if of.parent_fk else []))
    rows = []
    for row in of.model.all_objects.filter(id__in=ids).order_by("id").values(*columns):
        if row["deleted_at"] is None:
            key, payload = f"{of.name}.deleted", catalogue.deletion(of, row, "hard", now)
        else:
            key, payload = f"{of.name}.erased", catalogue.erasure(of, row, now)
        rows.append(
            event(
                key,
                kind=of.name,
                aggregate_id=row["id"],
                organization_id=row["organization_id"],
                payload=payload,
                occurred_at=now,
            )
        )
    OutboxEvent.objects.bulk_create(rows)
