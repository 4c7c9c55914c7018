"""The transactional outbox: one row per change event, written in the transaction of the
change itself (so no committed change lacks its event and no event outlives a rolled-back
change), published later by the relay and kept for a retention period once sent."""

import datetime as dt
from typing import Any, NamedTuple

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.ids import uuid7

PENDING = Q(sent_at__isnull=True)


class OutboxEvent(models.Model):
    """A change event waiting for (or done with) the relay. Carries ids, types and timestamps
    only, never a personal value (docs/events.md).

    `seq` orders events: it is taken from the database at insert time, and every write locks
    its record first, so a record's events get increasing `seq` in commit order whatever
    clocks the app servers have. `event_id` is the CloudEvents `id` (consumers dedupe on it)."""

    seq = models.BigAutoField(_("sequence"), primary_key=True)
    event_id = models.UUIDField(_("event id"), unique=True, default=uuid7, editable=False)
    type = models.CharField(_("type"), max_length=64, help_text=_("event key, e.g. holder.created"))
    aggregate_kind = models.CharField(
        _("record kind"), max_length=32, help_text=_("holder or alias")
    )
    aggregate_id = models.UUIDField(_("record id"), help_text=_("the CloudEvents subject"))
    organization_id = models.UUIDField(_("organization id"))
    payload = models.JSONField(_("payload"))
    occurred_at = models.DateTimeField(_("occurred at"), help_text=_("the CloudEvents time"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # A new row is unsent, never tried: the database's defaults, left out of every insert
    # (`crm.db.rows.insert_fields`): three parameters fewer in each write that appends an event.
    sent_at = models.DateTimeField(
        _("sent at"), null=True, blank=True, default=None, db_default=None
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0, db_default=0)
    next_attempt_at = models.DateTimeField(
        _("next attempt at"), null=True, blank=True, default=None, db_default=None
    )
    # The W3C trace context of the write that appended the event (telemetry on; "" otherwise):
    # published as the CloudEvents `traceparent` extension, the parent of the relay's span.
    traceparent = models.CharField(max_length=55, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes = [
            # The relay's scan: pending rows in order.
            models.Index(fields=["seq"], condition=PENDING, name="events_outbox_pending"),
            # Per-aggregate order (an earlier pending event holds the later ones back) and the
            # removal of an erased record's sent events.
            models.Index(fields=["aggregate_id", "seq"], name="events_outbox_aggregate"),
            # The retention purge of sent rows.
            models.Index(
                fields=["sent_at"], condition=Q(sent_at__isnull=False), name="events_outbox_sent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregate_id} ({'sent' if self.sent_at else 'pending'})"


class PendingEvent(NamedTuple):
    """The columns of a claimed outbox row that publishing and marking read (a model
    instance per row cost more than the claim's query). `payload` is the JSON text as the
    database returns it: it becomes the message body as it is, not decoded and encoded
    again."""

    seq: int
    event_id: Any
    type: str
    aggregate_id: Any
    organization_id: Any
    payload: str
    occurred_at: dt.datetime
    attempts: int
    traceparent: str = ""  # W3C trace context of the write ("" without one)
