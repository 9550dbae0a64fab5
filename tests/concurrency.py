"""Racing work on PostgreSQL: threads lined up behind a barrier, each with its own connection.

Row locks and unique keys are what these tests check, so they need PostgreSQL
(SQLite has no row locks and its in-memory test database is not shared by
threads) and real transactions: each thread commits on its own connection.

    pytestmark = POSTGRESQL_RACE

    def test_one_wins():
        results = race(lambda i: service(...), 4)
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connection

needs_postgresql = pytest.mark.skipif(
    not settings.IS_POSTGRESQL,
    reason="needs PostgreSQL: SQLite has no row locks; set DATABASE_URL to a PostgreSQL database to run",
)

# The marks of a race test: selectable with -m postgresql, skipped on SQLite, committed transactions.
POSTGRESQL_RACE = [pytest.mark.postgresql, needs_postgresql, pytest.mark.django_db(transaction=True)]

# Long enough for any honest run; a thread still alive after it is a deadlock or a hang, and fails the test.
TIMEOUT_SECONDS = 60


def postgresql_race(test):
    """POSTGRESQL_RACE for one test in a module that otherwise runs everywhere."""
    for mark in reversed(POSTGRESQL_RACE):
        test = mark(test)
    return test


def race(work: Callable[[int], object], count: int, *, timeout: float = TIMEOUT_SECONDS) -> list:
    """Run work(0) .. work(count - 1) in `count` threads at once.

    Returns, in index order, what each call returned or the exception it raised; each
    thread closes its database connection when done.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [i for i, thread in enumerate(threads) if thread.is_alive()]
    assert not stuck, f"threads {stuck} still running after {timeout} s: a deadlock or a hang"
    return results


@contextlib.contextmanager
def sqlite_file_database():
    """On SQLite, the current test database copied to a file that every thread's connection uses
    (the embedded default's set-up: a file, writers waiting on its lock), for the duration.

    The in-memory test database shares one cache between threads, where a writer makes the others
    fail at once ("database table is locked") instead of waiting, which no deployment does.
    On PostgreSQL it does nothing. Use in a `django_db(transaction=True)` test.
    """
    from django.db import connections

    if connection.vendor != "sqlite":
        yield
        return
    saved_settings = connections.settings["default"]
    saved_connection = connections["default"]
    saved_connection.ensure_connection()
    with tempfile.TemporaryDirectory(prefix="sqlite-race-") as directory:
        path = os.path.join(directory, "db.sqlite3")
        target = sqlite3.connect(path)
        saved_connection.connection.backup(target)
        target.close()
        connections.settings["default"] = {**saved_settings, "NAME": path, "TEST": {**saved_settings.get("TEST", {}), "NAME": path}}
        del connections["default"]
        try:
            yield
        finally:
            connections["default"].close()
            connections.settings["default"] = saved_settings
            connections["default"] = saved_connection
