"""The admin search box at any table size (CONTRACT §8: every admin page under 100 ms at a
million holders).

A search is a set of *arms*, one per kind of match (external id, document hash, name tokens,
...), each an index read of record ids in the index's own order, newest first (ids are UUIDv7:
id order is creation order). Every arm stops after `SEARCH_LIMIT` ids, so a search reads at
most `SEARCH_LIMIT` index entries per arm whatever the table size and however common the term
("Silva" matches 100,000 holders of a bank: the newest 1,000 are found in a millisecond;
joining all 100,000 back to the holders took seconds). The changelist then shows, filters,
counts and pages `id IN (the newest SEARCH_LIMIT matches)`: primary-key reads only. When an arm
was cut short the page says so and asks for a narrower term (`SearchResult.truncated`).

Why arms and not one query: an `OR` of the matches can use no index (it reads the whole
organization), and a `UNION` of them must be computed whole before the newest can be picked;
each arm alone is one ordered index range read that the database stops early. Search hashes
include the organization, so arms are per organization (`organization_arms`) as long as there
are few of them, which keeps each an ordered read of one index range.
"""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

# Matches of one kind a search looks at (the newest).
SEARCH_LIMIT = 1000

# Up to this many organizations a search reads each one's index range on its own (ordered,
# stopped after SEARCH_LIMIT); beyond, one read for all of them (sorted after reading).
PER_ORGANIZATION_ARMS = 20


@dataclass(frozen=True)
class SearchResult:
    ids: list  # the newest matches (at most SEARCH_LIMIT), newest first
    truncated: bool  # some kind of match had more than SEARCH_LIMIT: older ones not looked at


def newest(queryset: QuerySet, column: str = "id") -> QuerySet:
    """An arm: `column` (a record id) of `queryset`'s rows, newest first."""
    return queryset.order_by(f"-{column}").values_list(column, flat=True)


def organization_arms(
    organizations: list[uuid.UUID], build: Callable[[list[uuid.UUID]], Iterable[QuerySet]]
) -> list[QuerySet]:
    """`build(organizations)` per organization (each arm one ordered index range), or once for
    all of them when there are more than `PER_ORGANIZATION_ARMS`."""
    if len(organizations) > PER_ORGANIZATION_ARMS:
        return list(build(organizations))
    return [arm for organization in organizations for arm in build([organization])]


def run_search(arms: Iterable[QuerySet], limit: int | None = None) -> SearchResult:
    """The newest `limit` ids over all arms, each arm read up to `limit` ids (and one more, to
    know whether it had more); `limit` is `SEARCH_LIMIT` unless given."""
    limit = limit or SEARCH_LIMIT
    found: set = set()
    truncated = False
    for arm in arms:
        ids = list(arm[: limit + 1])
        truncated = truncated or len(ids) > limit
        found.update(ids[:limit])
    newest_first = sorted(found, reverse=True)
    return SearchResult(newest_first[:limit], truncated or len(newest_first) > limit)
