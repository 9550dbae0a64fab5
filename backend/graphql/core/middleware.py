"""Resolver middleware of the core API."""

from __future__ import annotations

from django.conf import settings
from graphql import get_named_type
from graphql_relay import cursor_to_offset, offset_to_cursor


def page_arguments(args: dict, max_limit: int) -> dict:
    """A connection's `first`/`last`/`offset`/`after` as graphene-django can always serve them.

    graphene-django raises on a page larger than the limit, on `offset` together with `before`,
    graphql-relay on a negative page size, and Django on a cursor holding a negative offset, all as
    top-level errors. A page is instead cut to what may be served: `first`/`last` to 0..max_limit
    (the page info says more is there), a negative offset or cursor to none, and the offset turned
    into the `after` cursor it stands for (which is what graphene-django does with it), so it
    combines with `before` like any cursor does.
    """
    args = dict(args)
    for name in ("after", "before"):
        # graphql-relay reads any text after the prefix as an offset, negative ones too, which
        # Django cannot slice with; a cursor that does not hold an offset is ignored, as relay does.
        if args.get(name) is not None and (cursor_to_offset(args[name]) or 0) < 0:
            args[name] = None
    for name in ("first", "last"):
        if args.get(name) is not None:
            args[name] = min(max(args[name], 0), max_limit)
    offset = args.pop("offset", None)
    if offset is not None and offset > 0:
        after = cursor_to_offset(args["after"]) if args.get("after") else None
        start = offset + (after + 1 if after is not None else 0)
        args["after"] = offset_to_cursor(start - 1)
    return args


class PaginationMiddleware:
    """Normalizes the page arguments of every connection field (see page_arguments)."""

    def __init__(self, max_limit: int | None = None):
        self.max_limit = max_limit or settings.GRAPHENE["RELAY_CONNECTION_MAX_LIMIT"]

    def resolve(self, next_, root, info, **args):
        if args and get_named_type(info.return_type).name.endswith("Connection"):
            args = page_arguments(args, self.max_limit)
        return next_(root, info, **args)
