"""A connection field whose pages cost no COUNT(*): totalCount is counted only when it is selected.

graphene-django counts every matching row on every page (it slices the list by its length); on a list
of a million orders that count is the page's largest query. Here a forward page (`first`, `after`)
reads first + 1 rows, the extra one telling whether a next page exists, and totalCount runs its COUNT
when a query selects it. Pages asked with `last`, `before` or `offset` go the usual way.
"""

from __future__ import annotations

from django.db.models import QuerySet
from graphene.relay.connection import PageInfo
from graphene_django.fields import DjangoConnectionField
from graphene_django.utils import maybe_queryset
from graphql_relay import get_offset_with_default, offset_to_cursor


class CountOnDemandConnectionField(DjangoConnectionField):
    @classmethod
    def resolve_connection(cls, connection, args, iterable, max_limit=None):
        iterable = maybe_queryset(iterable)
        first = args.get("first")
        if first is None:
            first = max_limit
        backwards = args.get("last") is not None or args.get("before") or args.get("offset")
        if not isinstance(iterable, QuerySet) or backwards or first is None or first < 0:
            return super().resolve_connection(connection, args, iterable, max_limit=max_limit)
        start = get_offset_with_default(args.get("after"), -1) + 1
        rows = list(iterable[start : start + first + 1])
        edges = [
            connection.Edge(node=node, cursor=offset_to_cursor(start + position))
            for position, node in enumerate(rows[:first])
        ]
        page = connection(
            edges=edges,
            page_info=PageInfo(
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
                has_previous_page=False,
                has_next_page=len(rows) > first,
            ),
        )
        page.iterable = iterable
        page.length = None  # counted by CountableConnection.resolve_total_count when selected
        return page
