"""Counts of long lists, kept a little while: a page of a 100,000-row list must not count them all.

A list's totalCount is a COUNT(*) over every matching row, the one part of a page that grows with the
catalogue (the page itself stops after `first` rows). Counts of at least COUNT_CACHE_MIN rows are kept
in the cache for COUNT_CACHE_SECONDS, keyed by the query's SQL and parameters (so by every filter and
by whoever's rows it reads); smaller counts are always exact and fresh. A count in the cache may be up
to COUNT_CACHE_SECONDS old: a listing published or hidden meanwhile shows in the page, not yet in the
total of a list that long.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet


def _key(queryset: QuerySet) -> str:
    query = queryset.query.chain()
    query.clear_ordering(force=True)
    sql, params = query.sql_with_params()
    database = connections[queryset.db].settings_dict["NAME"]
    digest = hashlib.sha256(f"{database}\n{sql}\n{params!r}".encode()).hexdigest()
    return f"count:{digest}"


def cached_count(queryset: QuerySet) -> int:
    """queryset.count(), kept for COUNT_CACHE_SECONDS when it is at least COUNT_CACHE_MIN."""
    seconds = settings.COUNT_CACHE_SECONDS
    if seconds <= 0:
        return queryset.count()
    try:
        key = _key(queryset)
    except EmptyResultSet:  # a list that can hold nothing (queryset.none(), an empty IN): no query at all
        return queryset.count()
    found = cache.get(key)
    if found is not None:
        return found
    count = queryset.count()
    if count >= settings.COUNT_CACHE_MIN:
        cache.set(key, count, seconds)
    return count
