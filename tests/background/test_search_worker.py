"""Search indexing through a real Celery worker on Redis: a listing written to Elasticsearch (a
loopback fake) after its transaction commits, a change made while Elasticsearch is down left
pending, and beat's replay writing it once it is back.

Needs Redis: TEST_REDIS_URL, as the other worker tests.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from ..search.fake_elasticsearch import FakeElasticsearch
from .processes import PYTHON, Process, SharedDatabase, base_env, migrate, run, wait_for

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
CELERY = str(Path(sys.executable).parent / "celery")
ALIAS = "marketplace-products"

pytestmark = pytest.mark.skipif(
    not REDIS_URL,
    reason="needs Redis: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/2); .ci/run starts a redis-server for it",
)


def step(name: str, env: dict) -> dict:
    result = run([PYTHON, "-m", "tests.background.search_scenario", name], env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_worker_indexes_after_commit_and_beat_replays_what_it_missed(tmp_path):
    import redis

    queue = f"marketplace-test-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    fake = FakeElasticsearch()
    database = SharedDatabase(tmp_path)
    env = base_env(
        database,
        tmp_path,
        CELERY_BROKER_URL=REDIS_URL,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        CELERY_WORKER_CONCURRENCY="1",
        PERIODIC_INTERVAL_SECONDS="2",
        ELASTICSEARCH_URL=fake.url,
        ELASTICSEARCH_TIMEOUT_SECONDS="0.5",
        ELASTICSEARCH_RETRY_AFTER_SECONDS="1",
    )
    processes: list[Process] = []
    try:
        migrate(env)
        processes.append(Process("worker", [CELERY, "-A", "backend", "worker", "-l", "INFO"], env, tmp_path))
        ids = step("list", env)
        wait_for(
            lambda: dict(fake.docs(ALIAS)) if ALIAS in fake.aliases else {},
            lambda docs: str(ids["product"]) in docs,
            processes=processes,
            what="the listing written to Elasticsearch by the worker",
        )
        assert fake.docs(ALIAS)[str(ids["product"])]["name"] == "Longjing tee 龙井T恤"
        assert step("pending", env) == {"pending": 0}

        fake.down = True
        step("delist", env)
        wait_for(
            lambda: processes[0].log,
            lambda log: "search.index_products" in log and "failed; the replay retries" in log,
            processes=processes,
            what="the worker's failed sync",
        )
        assert step("pending", env) == {"pending": 1}
        assert str(ids["product"]) in fake.docs(ALIAS)  # stale while it is down

        fake.down = False
        processes.append(Process("beat", [CELERY, "-A", "backend", "beat", "-l", "INFO"], env, tmp_path))
        wait_for(
            lambda: step("pending", env),
            lambda state: state == {"pending": 0},
            processes=processes,
            what="the replay of the missed update",
        )
        assert str(ids["product"]) not in fake.docs(ALIAS)
    finally:
        for process in reversed(processes):
            process.stop()
        database.drop()
        fake.close()
        leftovers = list(client.scan_iter(match=f"*{queue}*"))
        if leftovers:
            client.delete(*leftovers)
        client.close()
