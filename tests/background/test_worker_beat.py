"""Production's background work: a real Celery worker and a real beat on Redis, started with the
commands of the compose file, do the scheduled work with nobody calling a task.

Needs Redis: TEST_REDIS_URL (.ci/run starts a redis-server and sets it; locally
TEST_REDIS_URL=redis://127.0.0.1:6379/2). Each run has a queue of its own, so runs sharing a
Redis database do not take each other's tasks.
"""

from __future__ import annotations

import os
import re
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from .processes import Process, SharedDatabase, base_env, migrate, scenario, wait_for

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
CELERY = str(Path(sys.executable).parent / "celery")

pytestmark = pytest.mark.skipif(
    not REDIS_URL,
    reason="needs Redis: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/2); .ci/run starts a redis-server for it",
)


@pytest.fixture
def redis_queue():
    import redis

    queue = f"marketplace-test-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # configured but unreachable is a failure, not a skip
    yield queue
    # The queue and kombu's bookkeeping of it; nothing of other queues.
    leftovers = list(client.scan_iter(match=f"*{queue}*"))
    if leftovers:
        client.delete(*leftovers)
    client.close()


def test_worker_and_beat_release_a_due_order_and_free_an_expired_reservation(tmp_path, redis_queue):
    database = SharedDatabase(tmp_path)
    env = base_env(
        database,
        tmp_path,
        CELERY_BROKER_URL=REDIS_URL,
        CELERY_TASK_DEFAULT_QUEUE=redis_queue,
        CELERY_WORKER_CONCURRENCY="1",
        # Every entry of the one schedule runs every 2 s instead of minutes or hours.
        PERIODIC_INTERVAL_SECONDS="2",
    )
    processes: list[Process] = []
    try:
        migrate(env)
        ids = scenario("seed", env)
        before = scenario("state", env)
        assert (before["due_status"], before["due_escrow_released"]) == ("shipped", 0)
        assert (before["unpaid_status"], before["unpaid_payment_status"], before["scarf_stock"]) == (
            "unpaid",
            "authorized",
            3,
        )
        assert Decimal(before["escrow_total"]) > 0

        processes.append(Process("worker", [CELERY, "-A", "backend", "worker", "-l", "INFO"], env, tmp_path))
        processes.append(Process("beat", [CELERY, "-A", "backend", "beat", "-l", "INFO"], env, tmp_path))
        worker, beat = processes

        after = wait_for(
            lambda: scenario("state", env),
            lambda s: s["due_status"] == "completed" and s["unpaid_status"] == "cancelled",
            processes=processes,
            what="the due order released and the expired reservation freed by worker and beat",
        )

        # Escrow released once, through the ledger; the reservation's stock is back; the authorization voided.
        assert after["due_escrow_released"] == 1
        assert Decimal(after["escrow_total"]) == 0 and after["ledger_problems"] == []
        assert after["scarf_stock"] == ids["scarf_stock_before"]
        assert after["unpaid_payment_status"] == "cancelled"
        # Beat sent them; the worker ran them and logged the task's name with the order it processed.
        assert "Sending due task orders-auto-confirm-receipts (orders.auto_confirm_receipts)" in beat.log
        assert "Sending due task orders-expire-unpaid (orders.expire_unpaid)" in beat.log
        wait_for(
            lambda: worker.log,
            lambda log: re.search(rf"Periodic task orders\.expire_unpaid done.*processed order {ids['unpaid']}\b", log),
            processes=processes,
            what="the worker's log line of orders.expire_unpaid",
        )
        assert re.search(
            rf"Periodic task orders\.auto_confirm_receipts done \(attempt 1 of \d+\): "
            rf"result 1; processed order {ids['due']}\b",
            worker.log,
        ), worker.log[-4000:]
    finally:
        for process in reversed(processes):
            process.stop()
        database.drop()
