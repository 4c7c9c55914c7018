"""The change events' Prometheus series (docs/operations.md "Metrics").

* `BacklogCollector`: the outbox backlog, read when `/metrics` is scraped (config/urls.py hands
  it to `crm.observability.exposition.metrics_view`): one indexed query (`events.backlog`) on a
  connection of its own with the readiness probe's bounds (`crm.api.views.probe_database`:
  2 s to connect, 1 s to answer), so a database that is down or frozen costs a scrape about
  2 s, and the scrape still answers with every other series and `crm_outbox_scrape_error 1`.
  Nothing is read while `EVENTS_ENABLED` is off.
* `RelayCollector`: the relay's counts (`events.relay.RelayStats`), served by the relay's own
  listener (`manage.py relay_events`, `METRICS_RELAY_PORT`). The relay is another process,
  often another container: its counters could only join the web's multiprocess directory on
  a shared disk, and gunicorn empties that directory when it starts; a listener of its own
  works wherever the relay runs and dies with it, and reading the stats the relay already
  keeps records nothing new on its path.
"""

import logging
from collections.abc import Iterable

from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from crm.api.views import probe_database
from events.backlog import backlog
from events.relay import RelayStats

logger = logging.getLogger(__name__)


class BacklogCollector:
    def collect(self) -> Iterable[Metric]:
        if not settings.EVENTS_ENABLED:
            return
        failed = GaugeMetricFamily(
            "crm_outbox_scrape_error",
            "1 when this scrape could not read the outbox backlog (the database did not "
            "answer within the bounds), else 0.",
        )
        try:
            found = probe_database(backlog)
        except Exception as exc:  # any failure: the other series are still worth answering
            logger.warning("outbox backlog unavailable for metrics: %s", type(exc).__name__)
            failed.add_metric([], 1)
            yield failed
            return
        failed.add_metric([], 0)
        yield failed
        yield GaugeMetricFamily(
            "crm_outbox_pending_events",
            "Change events written and not yet published by the relay.",
            value=found.pending,
        )
        yield GaugeMetricFamily(
            "crm_outbox_oldest_pending_age_seconds",
            "Age of the oldest change event not yet published (0 when none is pending).",
            value=found.oldest_pending_age_seconds,
        )


class RelayCollector:
    def __init__(self, stats: RelayStats) -> None:
        self.stats = stats

    def collect(self) -> Iterable[Metric]:
        stats = self.stats
        for name, documentation, value in (
            (
                "crm_relay_events_published",
                "Change events the broker confirmed (then marked sent).",
                stats.published,
            ),
            (
                "crm_relay_events_refused",
                "Change events the broker refused (nacked); each is retried with backoff.",
                stats.refused,
            ),
            (
                "crm_relay_broker_failures",
                "Times the broker could not be reached or the connection was lost.",
                stats.broker_failures,
            ),
            (
                "crm_relay_database_failures",
                "Times the database failed the relay's claim or marking.",
                stats.database_failures,
            ),
            (
                "crm_relay_events_purged",
                "Sent change events deleted after the retention period.",
                stats.purged,
            ),
        ):
            yield CounterMetricFamily(name, documentation, value=value)
