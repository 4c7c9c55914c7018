"""The outbox backlog: how many events wait for the relay and since when (the admin's block
and `/readyz`). One indexed query (the partial index on pending rows)."""

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from events.models import OutboxEvent

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
