"""A paginator for very large tables: it never counts more rows than it can show cheaply.

Django's admin asks its paginator for `count` on every page load, which is a full
`COUNT(*)` over the filtered rows; at millions of sagas that scan is the slowest part of
the page. This paginator counts at most `exact_limit` rows (a `LIMIT`ed subquery that stops
early) and, beyond that, takes the planner's row estimate on PostgreSQL. Elsewhere it
reports just past the limit, so the page links reach as far as was counted.
"""

import json
from functools import cached_property

from django.core.paginator import Paginator
from django.db import connections, router
from django.db.models import QuerySet


def planner_estimate(queryset: QuerySet) -> int | None:
    """PostgreSQL's estimate of how many rows the query returns; None on other databases."""
    alias = queryset.db or router.db_for_read(queryset.model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def bounded_count(queryset: QuerySet, limit: int) -> tuple[int, bool]:
    """The number of rows, counted exactly up to `limit`; past it an estimate, flagged True.

    The exact part is a `COUNT(*)` over a `LIMIT`ed subquery, so it stops after `limit + 1`
    rows. Past the limit PostgreSQL's planner estimate is used; elsewhere `limit + 1`.
    """
    counted = queryset.order_by().values("pk")[: limit + 1].count()
    if counted <= limit:
        return counted, False
    return max(planner_estimate(queryset) or 0, counted), True


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to `exact_limit` rows and estimates past it; see `count_is_estimate`."""

    exact_limit = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        count, self.count_is_estimate = bounded_count(queryset, self.exact_limit)
        return count

    count_is_estimate = False
