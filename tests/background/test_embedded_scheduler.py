"""The embedded default: `make run` runs the periodic work beside the web server, with no broker.

`make run` is `make demo` (install, migrate, demo data) then `make serve`; the test runs
`make serve` itself (the web server and `manage.py run_periodic`) on a temporary SQLite
database, and unit tests check the scheduler's restart and retry behaviour.
"""

from __future__ import annotations

import shutil
import signal
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backend.celery import app
from backend.core import periodic
from backend.core.scheduler import EmbeddedScheduler

from .processes import PYTHON, Process, SharedDatabase, base_env, free_port, migrate, scenario, wait_for


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make (the README's `make run`)")
def test_make_run_serves_and_releases_a_due_order_by_itself_and_ctrl_c_stops_both(tmp_path):
    database = SharedDatabase(tmp_path, sqlite=True)
    env = base_env(database, tmp_path, PERIODIC_INTERVAL_SECONDS="2")
    port = free_port()
    migrate(env)
    ids = scenario("seed", env)
    assert scenario("state", env)["due_status"] == "shipped"

    command = ["make", "--no-print-directory", "serve", f"PY={PYTHON}", f"PORT={port}"]
    serve = Process("make-serve", command, env, tmp_path)
    try:
        after = wait_for(
            lambda: scenario("state", env),
            lambda s: s["due_status"] == "completed" and s["unpaid_status"] == "cancelled",
            processes=[serve],
            what="the due order released and the expired reservation freed by make serve's scheduler",
        )
        assert after["due_escrow_released"] == 1 and Decimal(after["escrow_total"]) == 0
        assert after["scarf_stock"] == ids["scarf_stock_before"] and after["ledger_problems"] == []

        # The web server of the same command answers meanwhile.
        def health():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=5) as response:
                    return response.status
            except OSError:
                return None

        assert wait_for(health, lambda status: status == 200, processes=[serve], what="the web server") == 200
        assert f"processed order {ids['due']}" in serve.log

        # Ctrl-C reaches the whole foreground group: the web server stops, and make's scheduler with it.
        serve.signal_group(signal.SIGINT)
        serve.popen.wait(timeout=60)
        wait_for(serve.group_alive, lambda alive: not alive, processes=[], what="every process of make serve gone")
    finally:
        serve.stop()


@pytest.fixture
def fake_bodies(monkeypatch):
    """Every scheduled task's body replaced by one that records its calls (and fails while told to)."""
    calls: list[str] = []
    failing: dict[str, int] = {}

    def body_for(task):
        def body():
            calls.append(task)
            if failing.get(task, 0) > 0:
                failing[task] -= 1
                raise RuntimeError(f"{task} is down")
            return periodic.Run(task, result=0)

        return body

    for task in periodic.task_names():
        monkeypatch.setitem(periodic.REGISTRY, task, body_for(task))
    return calls, failing


def run_due(scheduler: EmbeddedScheduler) -> float:
    """Tick until nothing is due; returns the delay the scheduler asks for next."""
    for _ in range(100):
        delay = scheduler.tick()
        if delay > 0:
            return delay
    raise AssertionError("the scheduler kept finding due work")


def make_all_due(scheduler: EmbeddedScheduler) -> None:
    for entry in scheduler.schedule.values():
        entry.last_run_at = timezone.now() - timedelta(days=2)
    scheduler._heap = None  # re-read the schedule


@pytest.mark.django_db
def test_a_new_schedule_waits_one_interval_and_a_restart_goes_on_from_the_last_runs(tmp_path, fake_bodies):
    calls, _ = fake_bodies
    filename = str(tmp_path / "schedule")

    first = EmbeddedScheduler(app=app, schedule_filename=filename)
    assert run_due(first) > 0 and calls == []
    make_all_due(first)
    run_due(first)
    assert sorted(calls) == sorted(periodic.task_names())  # each due entry ran once
    first.close()

    calls.clear()
    restarted = EmbeddedScheduler(app=app, schedule_filename=filename)
    assert run_due(restarted) > 0
    assert calls == []  # nothing runs again just because the scheduler restarted
    restarted.close()


@pytest.mark.django_db
def test_a_failed_run_is_retried_with_backoff_and_bounded(tmp_path, fake_bodies, settings, monkeypatch, caplog):
    calls, failing = fake_bodies
    settings.PERIODIC_TASK_MAX_RETRIES = 2
    settings.PERIODIC_TASK_RETRY_BACKOFF = 4
    scheduler = EmbeddedScheduler(app=app, schedule_filename=str(tmp_path / "schedule"))
    entry = scheduler.schedule["orders-expire-unpaid"]
    clock = {"now": 1000.0}
    monkeypatch.setattr("backend.core.scheduler.time.monotonic", lambda: clock["now"])

    failing["orders.expire_unpaid"] = 1
    assert scheduler.run_entry(entry.name, entry.task, retries=0) is False
    due, retries = scheduler.retries[entry.name]
    assert retries == 1 and 1000.0 <= due <= 1004.0  # factor 4, first retry: up to 4 s (jitter)
    assert "Periodic task orders.expire_unpaid: retry 1 in" in caplog.text

    # Not due yet: the scheduler waits at most until the retry, and runs it once it is due.
    # (Full jitter may draw no delay at all: then the retry is due at once.)
    if due > clock["now"]:
        assert scheduler.tick() <= due - clock["now"] + 0.001
        clock["now"] = due
    calls.clear()
    assert scheduler.tick() == 0
    assert calls == ["orders.expire_unpaid"] and entry.name not in scheduler.retries

    # Always failing: retried PERIODIC_TASK_MAX_RETRIES times, then left to its next interval.
    failing["orders.expire_unpaid"] = 100
    calls.clear()
    scheduler.run_entry(entry.name, entry.task, retries=0)
    for _ in range(5):
        if entry.name not in scheduler.retries:
            break
        clock["now"] = scheduler.retries[entry.name][0]
        scheduler.tick()
    assert calls == ["orders.expire_unpaid"] * 3
    assert entry.name not in scheduler.retries
    assert "Periodic task orders.expire_unpaid failed 3 times; it runs again at its next interval." in caplog.text
    scheduler.close()
