"""Analytics through real served processes: events recorded by gunicorn workers, written in batches by
the workers' own flush (memory buffer) or by another process from Redis, and read back through the
core API's analytics query."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from . import journey

SEARCH = "query($q: String!) { products(first: 3, filter: {search: $q}) { totalCount } }"
ANALYTICS = """
query($from: Date!, $to: Date!) {
  analytics(from: $from, to: $to) { totals { searches searchesWithoutResults visitors } searchesWithoutResults { term count } }
}"""


def _today(served) -> str:
    result = served.manage("shell", "-c", "from django.utils import timezone; print(timezone.localdate())")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _search(served, term: str, visitor: str) -> None:
    status, body = served.graphql(
        SEARCH, {"q": term}, endpoint="storefront",
        headers={"X-Visitor-Id": visitor, "X-Page-Url": "https://shop.example.com/?utm_source=served"},
    )
    assert status == 200 and "errors" not in body, body


def _figures(served, staff, today):
    data = journey.call(served, ANALYTICS, {"from": today, "to": today}, token=staff)
    return data["analytics"]


def _wait_for(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def test_the_web_workers_write_their_events_in_batches_and_the_figures_show_them(start_served):
    served = start_served({"ANALYTICS_BUFFER_SIZE": "3", "ANALYTICS_FLUSH_SECONDS": "2",
                           "ANALYTICS_LIVE_CACHE_SECONDS": "0"})
    staff = journey.staff_token(served)
    today = _today(served)
    for n in range(12):
        _search(served, f"nothing-like-this-{n % 3}", f"served-visitor-{n % 4:04d}")
    # Each worker's flusher writes once 3 events wait, and the rest within ANALYTICS_FLUSH_SECONDS.
    figures = _wait_for(lambda: (f := _figures(served, staff, today))["totals"]["searches"] == 12 and f)
    assert figures, _figures(served, staff, today)
    totals = figures["totals"]
    assert totals["searchesWithoutResults"] == totals["searches"]
    assert {t["term"] for t in figures["searchesWithoutResults"]} <= {f"nothing-like-this-{n}" for n in range(3)}
    assert totals["visitors"] == 4


REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


@pytest.mark.skipif(not REDIS_URL, reason="needs Redis: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
def test_events_of_every_worker_wait_in_redis_and_another_process_writes_them(start_served):
    key = f"analytics:served:{uuid.uuid4().hex}"
    served = start_served({"ANALYTICS_BUFFER_URL": REDIS_URL, "ANALYTICS_BUFFER_KEY": key,
                           "ANALYTICS_AUTO_FLUSH": "0", "ANALYTICS_LIVE_CACHE_SECONDS": "0"})
    staff = journey.staff_token(served)
    today = _today(served)
    for n in range(8):
        _search(served, "no-such-listing-here", f"redis-visitor-{n:04d}")
    assert _figures(served, staff, today)["totals"]["searches"] == 0  # waiting in Redis
    flushed = served.manage("run_task", "analytics.flush_events")
    assert flushed.returncode == 0, flushed.stderr
    again = served.manage("run_task", "analytics.flush_events")  # nothing left: nothing written twice
    assert again.returncode == 0, again.stderr
    totals = _figures(served, staff, today)["totals"]
    assert (totals["searches"], totals["searchesWithoutResults"], totals["visitors"]) == (8, 8, 8)
    import redis

    assert redis.Redis.from_url(REDIS_URL).llen(key) == 0
