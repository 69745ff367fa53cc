"""Query expressions shared by the apps' selectors."""

from __future__ import annotations

from django.db.models import Count, IntegerField, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce


def count_of(rows: QuerySet, group: str) -> Coalesce:
    """How many of `rows` belong to the outer row, as one correlated subquery (0 for none).

    `rows` is already filtered on an `OuterRef`; `group` names the field that refers to the outer row.
    """
    counts = rows.order_by().values(group).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def only_row(rows: QuerySet):
    """The one row a unique lookup selects, or None. `QuerySet.first()` would add an ORDER BY: for the
    annotated queries served on every request, resolving it cost more than the query itself."""
    return next(iter(rows[:1]), None)
