"""The outbox backlog: how many events wait for the relay and since when (the admin's block
and `/readyz`, where config/urls.py hands `readiness` to the kernel's probe). One indexed
query (the partial index on pending rows)."""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from events.models import OutboxEvent

logger = logging.getLogger(__name__)

SQL = (
    f"SELECT COUNT(*), MIN(created_at) FROM {OutboxEvent._meta.db_table} "  # noqa: S608
    "WHERE sent_at IS NULL"
)


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_pending_at: dt.datetime | None

    @property
    def oldest_pending_age_seconds(self) -> float:
        """0 when nothing is pending."""
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (timezone.now() - self.oldest_pending_at).total_seconds())


def backlog(cursor=None) -> Backlog:
    """Read it on `cursor` (the readiness probe's own connection) or on the default one."""
    if cursor is None:
        with connection.cursor() as own:
            return backlog(own)
    cursor.execute(SQL)
    pending, oldest = cursor.fetchone()
    if isinstance(oldest, str):  # SQLite returns the stored text (UTC)
        oldest = parse_datetime(oldest)
    if oldest is not None and timezone.is_naive(oldest):
        oldest = timezone.make_aware(oldest, dt.UTC)
    return Backlog(int(pending or 0), oldest)


def readiness(cursor) -> dict | None:
    """The `/readyz` section of the change events (None while they are off), read on the
    probe's own connection: detail only, never a reason to be unready (a broker outage must
    not take the API down)."""
    if not settings.EVENTS_ENABLED:
        return None
    try:
        found = backlog(cursor)
    except Exception as exc:  # e.g. the outbox table not migrated yet
        logger.warning("outbox backlog unavailable: %s", type(exc).__name__)
        return {"status": "unknown"}
    return {
        "status": "up",
        "pending": found.pending,
        "oldestPendingAgeSeconds": round(found.oldest_pending_age_seconds, 3),
    }
