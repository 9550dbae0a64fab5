"""Automatic persisted queries (Apollo's APQ convention) for both APIs.

A client sends the SHA-256 of its document instead of the document:

    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<64 hex>"}}, "variables": {...}}

- the server knows the hash: the stored document is executed;
- it does not: the answer is the error PersistedQueryNotFound (code PERSISTED_QUERY_NOT_FOUND), and
  the client sends the document and its hash once; the server checks that the hash is the
  document's (PERSISTED_QUERY_HASH_MISMATCH otherwise) and stores it.

So a shopper's app sends a few dozen bytes per request instead of the whole document, and a query
can go as a GET (`?extensions=...&variables=...`) that a CDN may cache. Documents are kept in the
Django cache (Redis in production, shared by every worker) for PERSISTED_QUERY_TTL seconds, with a
bounded in-process copy in front so a hot document costs no cache round trip. Documents longer
than PERSISTED_QUERY_MAX_LENGTH characters are executed but not stored (the token and cost limits
apply to a persisted document exactly as to a sent one). PersistedQueryNotFound, PersistedQueryNotSupported and
"provided sha does not match query" are Apollo's own, untranslated: Apollo clients recognise them by
message as well as by code; the other messages are translated.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from graphql import GraphQLError

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
INVALID = "PERSISTED_QUERY_INVALID"
CACHE_PREFIX = "apq:"
HASH = re.compile(r"[0-9a-f]{64}")


class _LocalCopy:
    """A small LRU of hash -> document in this process, in front of the shared cache."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict[str, str] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self.lock:
            document = self.items.get(key)
            if document is not None:
                self.items.move_to_end(key)
            return document

    def put(self, key: str, document: str) -> None:
        with self.lock:
            self.items[key] = document
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


local_copy = _LocalCopy(512)


@dataclass(frozen=True)
class Resolved:
    """The document to execute, or the error to answer with instead."""

    query: str | None
    error: GraphQLError | None = None


def _error(message: str, code: str) -> Resolved:
    return Resolved(None, GraphQLError(message, extensions={"code": code}))


def document_hash(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


def lookup(key: str) -> str | None:
    document = local_copy.get(key)
    if document is None:
        document = cache.get(CACHE_PREFIX + key)
        if isinstance(document, str):
            local_copy.put(key, document)
        else:
            document = None
    return document


def store(key: str, query: str) -> None:
    if len(query) > settings.PERSISTED_QUERY_MAX_LENGTH:
        return
    if local_copy.get(key) is None:
        cache.set(CACHE_PREFIX + key, query, timeout=settings.PERSISTED_QUERY_TTL)
        local_copy.put(key, query)


def resolve(query: str | None, extensions) -> Resolved:
    """The document a request asks to execute, with APQ applied when its extensions ask for it."""
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is None:
        return Resolved(query)
    if not settings.PERSISTED_QUERIES_ENABLED:
        return _error("PersistedQueryNotSupported", NOT_SUPPORTED)
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        return _error(_("Unsupported persisted query version; send version 1."), NOT_SUPPORTED)
    key = persisted.get("sha256Hash")
    if not isinstance(key, str) or not HASH.fullmatch(key.lower()):
        return _error(_("persistedQuery.sha256Hash must be the 64 hexadecimal digits of a SHA-256."), INVALID)
    key = key.lower()
    if query is None or query == "":
        document = lookup(key)
        if document is None:
            return _error("PersistedQueryNotFound", NOT_FOUND)
        return Resolved(document)
    if not isinstance(query, str) or document_hash(query) != key:
        return _error("provided sha does not match query", HASH_MISMATCH)
    store(key, query)
    return Resolved(query)
