"""The admin search box at any table size (docs/api.md §8: every admin page under 100 ms at a
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

from django.db.models import Exists, OuterRef, QuerySet

from crm.crypto.search import lookup_hashes

# Characters no search term or filter value may hold: the C0 and C1 controls but for tab and
# line breaks (pasted text). No stored value holds one, and PostgreSQL refuses NUL in a text
# parameter outright (a 500 if it reached a query).
UNSEARCHABLE = frozenset(map(chr, [*range(0x20), *range(0x7F, 0xA0)])) - {"\t", "\n", "\r"}


def unsearchable(query) -> bool:
    """True when a list's query string (a `QueryDict`) holds a control character in a
    parameter's name or value: the list then matches nothing and says why, and an export
    refuses it, rather than failing or quietly ignoring the term."""
    return any(
        not UNSEARCHABLE.isdisjoint(text)
        for name, values in query.lists()
        for text in (name, *values)
    )


# Matches of one kind a search looks at (the newest).
SEARCH_LIMIT = 1000

# A search for several words reads at most this many rows of its rarest word's matches (and
# probes each for the other words), when even the rarest has more than SEARCH_LIMIT.
WALK_LIMIT = 10 * SEARCH_LIMIT

# Up to this many organizations a search reads each one's index range on its own (ordered,
# stopped after SEARCH_LIMIT); beyond, one read for all of them (sorted after reading).
PER_ORGANIZATION_ARMS = 20


@dataclass(frozen=True)
class SearchResult:
    ids: list  # the newest matches (at most SEARCH_LIMIT), newest first
    truncated: bool  # some kind of match had more than SEARCH_LIMIT: older ones not looked at


@dataclass(frozen=True)
class Arm:
    """An arm that knows it left matches out (`all_of` with a bounded walk)."""

    rows: QuerySet
    cut_short: bool = False


def term_hashes(organizations: list[uuid.UUID], field: str, value: str, **form) -> list[str]:
    """The search hashes of `value` for `field` in each of `organizations` (current and
    previous hash keys: `crm.crypto.search.lookup_hashes`); hashes include the organization."""
    return [h for org in organizations for h in lookup_hashes(org, field, value, **form)]


def newest(queryset: QuerySet, column: str = "id") -> QuerySet:
    """An arm: `column` (a record id) of `queryset`'s rows, newest first."""
    return queryset.order_by(f"-{column}").values_list(column, flat=True)


def all_of(matches: list[QuerySet], column: str) -> QuerySet | Arm:
    """An arm of the `column` values that every one of `matches` has (e.g. the holders with
    every word of a name; each queryset read through an index ordered by `column` within its
    condition, and unique per `column` value). The match set with the fewest rows (each
    counted up to SEARCH_LIMIT + 1 index entries) is read newest first; each of its rows is
    probed for the others (unique-index lookups). When even the rarest has more than
    SEARCH_LIMIT rows, only its newest WALK_LIMIT are read (the arm says it was cut short):
    two common words with few holders in common would otherwise be read to the end."""
    if len(matches) == 1:
        return newest(matches[0], column)
    sizes = [(match.order_by()[: SEARCH_LIMIT + 1].count(), n) for n, match in enumerate(matches)]
    rarest = min(sizes)[1]
    driver = matches[rarest]
    cut_short = False
    if min(sizes)[0] > SEARCH_LIMIT:
        oldest_read = list(newest(driver, column)[WALK_LIMIT - 1 : WALK_LIMIT])
        if oldest_read:
            driver, cut_short = driver.filter(**{f"{column}__gte": oldest_read[0]}), True
    for n, other in enumerate(matches):
        if n != rarest:
            driver = driver.filter(Exists(other.filter(**{column: OuterRef(column)})))
    return Arm(newest(driver, column), cut_short)


def organization_arms(
    organizations: list[uuid.UUID], build: Callable[[list[uuid.UUID]], Iterable[QuerySet]]
) -> list[QuerySet]:
    """`build(organizations)` per organization (each arm one ordered index range), or once for
    all of them when there are more than `PER_ORGANIZATION_ARMS`."""
    if len(organizations) > PER_ORGANIZATION_ARMS:
        return list(build(organizations))
    return [arm for organization in organizations for arm in build([organization])]


def _order(record_id):
    """A record id's sort key: a UUID's integer (the same order as `UUID.__lt__`, which sorting
    a search's 1,000 ids called ~9,000 times, 2.5 ms of a page)."""
    return record_id.int if type(record_id) is uuid.UUID else record_id


def run_search(arms: Iterable[QuerySet | Arm], limit: int | None = None) -> SearchResult:
    """The newest `limit` ids over all arms, each arm read up to `limit` ids (and one more, to
    know whether it had more); `limit` is `SEARCH_LIMIT` unless given."""
    limit = limit or SEARCH_LIMIT
    found: set = set()
    truncated = False
    for arm in arms:
        if isinstance(arm, Arm):
            truncated = truncated or arm.cut_short
            arm = arm.rows
        ids = list(arm[: limit + 1])
        truncated = truncated or len(ids) > limit
        found.update(ids[:limit])
    newest_first = sorted(found, key=_order, reverse=True)
    return SearchResult(newest_first[:limit], truncated or len(newest_first) > limit)
