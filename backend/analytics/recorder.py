"""Recording storefront events: one cheap call in the request, written in batches later.

A storefront request sets the current visit (`visit(request)` in the storefront view); the
resolvers and domain services then call `record(kind, ...)` with what they know. The call builds
one small dict and appends it to the buffer: the process's memory (embedded default) or a Redis
list (ANALYTICS_BUFFER_URL=redis://..., production with several web workers). Batches are written
with one bulk insert by `flush()`: from a background thread when the memory buffer reaches
ANALYTICS_BUFFER_SIZE events or ANALYTICS_FLUSH_SECONDS of age, from the worker (the periodic
analytics.flush_events, and a task sent when the Redis list reaches the size) otherwise.

Who the visitor is: the `X-Visitor-Id` header the storefront client sends (a random id it keeps,
8-64 letters, digits, `-` or `_`), else the `mp_visitor` cookie, else the signed-in shopper
(`user:<id>`), else a hash of the client's address and user agent for the day. The campaign comes
from `utm_*` in the `X-Page-Url` header (the page the shopper is on) or in the request's own query
string; the referrer from `X-Page-Referrer` (the page's document.referrer), else `Referer`.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import re
import threading
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.db import transaction


logger = logging.getLogger("backend.analytics")

VISITOR_HEADER = "HTTP_X_VISITOR_ID"
VISITOR_COOKIE = "mp_visitor"
PAGE_URL_HEADER = "HTTP_X_PAGE_URL"
PAGE_REFERRER_HEADER = "HTTP_X_PAGE_REFERRER"
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

_current_request: ContextVar = ContextVar("analytics_request", default=None)


@contextmanager
def visit(request):
    """The storefront request whose visitor the events recorded inside belong to."""
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


def _clip(value: str, size: int) -> str:
    return value[:size] if value else ""


def visit_fields(request) -> dict:
    """Visitor, shopper, referrer and campaign of a request (worked out once per request)."""
    cached = getattr(request, "_analytics_visit", None)
    if cached is not None:
        return cached
    meta = request.META
    user = getattr(request, "user", None)
    user_id = user.pk if user is not None and user.is_authenticated else None
    visitor = meta.get(VISITOR_HEADER, "") or request.COOKIES.get(VISITOR_COOKIE, "")
    if not _VISITOR_ID.match(visitor):
        if user_id is not None:
            visitor = f"user:{user_id}"
        else:
            seed = f"{meta.get('REMOTE_ADDR', '')}|{meta.get('HTTP_USER_AGENT', '')}|{time.strftime('%Y%m%d')}"
            visitor = "anon:" + hashlib.sha256(seed.encode()).hexdigest()[:24]
    fields = {"visitor_id": visitor, "user_id": user_id}
    page = meta.get(PAGE_URL_HEADER, "")
    params = parse_qs(urlsplit(page).query) if page else {}
    for name in UTM_FIELDS:
        value = (params.get(name) or [""])[0] or request.GET.get(name, "")
        if value:
            fields[name] = _clip(value.strip(), 100)
    referrer = meta.get(PAGE_REFERRER_HEADER, "") or meta.get("HTTP_REFERER", "")
    if referrer:
        fields["referrer"] = _clip(referrer, 500)
    request._analytics_visit = fields
    return fields


def record(kind: str, *, after_commit: bool = False, **fields) -> None:
    """Buffer one event of the current visit (if any). Never raises into the caller.

    `after_commit`: the event describes a write of the running transaction (an order placed);
    it is buffered only if that transaction commits.
    """
    if not settings.ANALYTICS_ENABLED:
        return
    try:
        request = _current_request.get()
        row = {"event_id": uuid.uuid4().hex, "kind": str(kind), "at": time.time()}
        if request is not None:
            row.update(visit_fields(request))
        row.update({key: value for key, value in fields.items() if value is not None and value != ""})
        if after_commit:
            transaction.on_commit(lambda: get_buffer().add(row))
        else:
            get_buffer().add(row)
    except Exception:  # analytics must never break a purchase
        logger.warning("Analytics event %s not recorded", kind, exc_info=True)


# --- Buffers ---


class MemoryBuffer:
    """Events of this process, written by one background thread of the process when
    ANALYTICS_BUFFER_SIZE events wait or the oldest has waited ANALYTICS_FLUSH_SECONDS."""

    def __init__(self):
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = None

    def add(self, row: dict) -> None:
        with self._lock:
            self._rows.append(row)
            size = len(self._rows)
        if settings.ANALYTICS_AUTO_FLUSH:
            self._ensure_flusher()
            if size >= settings.ANALYTICS_BUFFER_SIZE:
                self._wake.set()

    def _ensure_flusher(self) -> None:
        # One per process, started in the process that records (a forked web worker starts its own).
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="analytics-flush", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        from django.db import connection

        while True:
            self._wake.wait(timeout=settings.ANALYTICS_FLUSH_SECONDS)
            self._wake.clear()
            if not len(self):
                continue
            try:
                self.flush()
            except Exception:
                logger.warning("Analytics flush failed; the events wait for the next one", exc_info=True)
            finally:
                connection.close()

    def take(self) -> list[dict]:
        with self._lock:
            rows, self._rows = self._rows, []
        return rows

    def __len__(self) -> int:
        return len(self._rows)

    def clear(self) -> None:
        self.take()

    def flush(self) -> int:
        with self._flushing:
            rows = self.take()
            if not rows:
                return 0
            from .ingest import write_events

            try:
                return write_events(rows)
            except Exception:
                with self._lock:  # keep them for the next flush
                    self._rows[:0] = rows
                raise


class RedisBuffer:
    """Events of every web worker in one Redis list; the worker writes them in batches."""

    def __init__(self, url: str):
        import redis

        self.KEY = settings.ANALYTICS_BUFFER_KEY
        self.LOCK = f"{self.KEY}:flush-lock"
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def add(self, row: dict) -> None:
        size = self.client.rpush(self.KEY, json.dumps(row, separators=(",", ":")))
        if settings.ANALYTICS_AUTO_FLUSH and size % settings.ANALYTICS_BUFFER_SIZE == 0:
            from .tasks import flush_events_task

            flush_events_task.delay()

    def __len__(self) -> int:
        return int(self.client.llen(self.KEY))

    def clear(self) -> None:
        self.client.delete(self.KEY)

    def flush(self) -> int:
        from .ingest import write_events

        written = 0
        # One flusher at a time: each removes exactly the rows it wrote.
        lock = self.client.lock(self.LOCK, timeout=120)
        if not lock.acquire(blocking=False):
            return 0
        try:
            while True:
                raw = self.client.lrange(self.KEY, 0, settings.ANALYTICS_BUFFER_SIZE - 1)
                if not raw:
                    return written
                # Written first, removed after: a crash in between writes them again, and the
                # unique event ids make that a no-op.
                written += write_events([json.loads(item) for item in raw])
                self.client.ltrim(self.KEY, len(raw), -1)
        finally:
            lock.release()


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_buffer = None
_buffer_lock = threading.Lock()


def get_buffer():
    global _buffer
    url = settings.ANALYTICS_BUFFER_URL
    url = f"{url}#{settings.ANALYTICS_BUFFER_KEY}" if url.startswith(REDIS_SCHEMES) else url
    if _buffer is None or getattr(_buffer, "url", None) != url:
        with _buffer_lock:
            if _buffer is None or getattr(_buffer, "url", None) != url:
                buffer = RedisBuffer(url.split("#")[0]) if url.startswith(REDIS_SCHEMES) else MemoryBuffer()
                buffer.url = url
                _buffer = buffer
    return _buffer


def flush() -> int:
    """Write the buffered events; returns how many were new."""
    return get_buffer().flush()


@atexit.register
def _flush_at_exit() -> None:
    if isinstance(_buffer, MemoryBuffer) and len(_buffer):
        try:
            _buffer.flush()
        except Exception:
            logger.warning("Analytics events lost at exit", exc_info=True)
