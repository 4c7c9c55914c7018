"""Changelist counts that never cost a scan of the table (docs/api.md §8, §11; issue 11 item 1).

Django's changelist counts the filtered selection with `SELECT COUNT(*)` on every page: at a
million holders that reads every live row of an index for each click. `EstimatedCountPaginator`
counts exactly only up to `EXACT_LIMIT` rows (`COUNT(*)` over a `LIMIT EXACT_LIMIT + 1`
subquery, so the database stops reading there); a larger selection is told as

* PostgreSQL: the planner's row estimate of the very query (`EXPLAIN (FORMAT JSON)`, planning
  only, nothing is read), shown as "about N";
* SQLite (no row estimates): "more than EXACT_LIMIT".

Either way the page itself is one `LIMIT 50 OFFSET k` read; the list never offers to show
more than a page at once (`list_max_show_all`).
"""

import json
from functools import cached_property

from django.core.paginator import Paginator
from django.db import connections

EXACT_LIMIT = 10_000


class EstimatedCountPaginator(Paginator):
    """A paginator whose `count` is exact up to `exact_limit` and estimated beyond.
    `estimate` is "" (exact), "about" (a planner estimate) or "more than" (a lower bound)."""

    exact_limit = EXACT_LIMIT

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.estimate = ""

    @cached_property
    def count(self) -> int:
        number, self.estimate = bounded_count(self.object_list, self.exact_limit)
        return number


def bounded_count(queryset, limit: int) -> tuple[int, str]:
    """How many rows `queryset` has, reading at most `limit` + 1 of them: (n, "") when exact,
    (planner estimate, "about") beyond the limit on PostgreSQL, else (limit, "more than")."""
    counted = queryset.order_by()[: limit + 1].count()
    if counted <= limit:
        return counted, ""
    planned = planner_rows(queryset)
    if planned is not None and planned > limit:
        return planned, "about"
    return limit, "more than"


def estimate_or_count(queryset, limit: int) -> tuple[int, str]:
    """Like `bounded_count`, but asks the planner first (PostgreSQL): a selection it expects
    to be well over `limit` is told by its estimate without reading a row (the dashboard's many
    cells, where even `limit` rows each add up). Smaller ones are counted exactly."""
    planned = planner_rows(queryset)
    if planned is not None and planned > 2 * limit:
        return planned, "about"
    return bounded_count(queryset, limit)


def planner_rows(queryset) -> int | None:
    """The planner's estimate of how many rows `queryset` returns (PostgreSQL), else None."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    plan = json.loads(queryset.order_by().explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])
