"""Periodic tasks: how each is declared, logged and retried.

Every entry of settings.CELERY_BEAT_SCHEDULE names a task declared with
`periodic_task`. Such a task

- is a Celery task that retries with exponential backoff when it fails
  (settings.PERIODIC_TASK_*), a bounded number of times;
- logs one line per run with the task's name, its result and the ids of what it
  processed (services call `record_processed` as they go), and on failure the
  same with the error, so a half-done run says what it did touch;
- must be idempotent and safe when two runs overlap (each service re-checks
  every object under its row lock): beat, `manage.py run_periodic` and
  `manage.py run_task` may all run it at any time.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import current_task, shared_task
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger("backend.periodic")

_processed: ContextVar[dict[str, list] | None] = ContextVar("periodic_processed", default=None)


def record_processed(kind: str, *ids) -> None:
    """Note that the running periodic task processed these objects (a no-op outside one)."""
    processed = _processed.get()
    if processed is not None:
        processed.setdefault(kind, []).extend(ids)


# Tokens of the runs a Celery task interrupted, by task id (a task's own run is stacked on top).
_interrupted: dict[str, list] = {}


@task_prerun.connect(weak=False, dispatch_uid="periodic-own-record")
def _own_record(task_id=None, **_kwargs) -> None:
    """A task started inside a periodic run (eagerly, as the embedded default runs the work queued
    after a commit: a notification's delivery after an order's release) records into its own run,
    not the one around it, whose log line names only what that task processed."""
    _interrupted.setdefault(task_id, []).append(_processed.set(None))


@task_postrun.connect(weak=False, dispatch_uid="periodic-own-record")
def _restore_record(task_id=None, **_kwargs) -> None:
    tokens = _interrupted.get(task_id)
    if not tokens:
        return
    _processed.reset(tokens.pop())
    if not tokens:
        del _interrupted[task_id]


def describe_processed(processed: dict[str, list]) -> str:
    """`order 3, 4; dispute 9` or `nothing`."""
    parts = [_ids_text(kind, ids) for kind, ids in processed.items() if ids]
    return "; ".join(parts) or "nothing"


# A run over thousands of objects names the first ones and says how many in all (one readable log line).
LOGGED_IDS = 50


def _ids_text(kind: str, ids: list) -> str:
    shown = ", ".join(str(i) for i in ids[:LOGGED_IDS])
    return f"{kind} {shown}" if len(ids) <= LOGGED_IDS else f"{kind} {shown}, ... ({len(ids)} in all)"


@dataclass
class Run:
    """What one run of a periodic task did."""

    name: str
    result: Any = None
    processed: dict[str, list] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        return f"{self.name}: result {self.result!r}; processed {describe_processed(self.processed)}"


@contextmanager
def _collecting():
    processed: dict[str, list] = {}
    token = _processed.set(processed)
    try:
        yield processed
    finally:
        _processed.reset(token)


def _attempt() -> str:
    if not current_task or current_task.request.called_directly or current_task.request.is_eager:
        return ""
    return f" (attempt {current_task.request.retries + 1} of {current_task.max_retries + 1})"


def run_logged(name: str, func: Callable, *args, **kwargs) -> Run:
    """Run the task's body once, collecting and logging what it processed; errors are logged and raised."""
    run = Run(name)
    with _collecting() as processed:
        run.processed = processed
        try:
            run.result = func(*args, **kwargs)
        except Exception as error:
            logger.error(
                "Periodic task %s failed%s after processing %s: %s: %s",
                name,
                _attempt(),
                describe_processed(processed),
                type(error).__name__,
                error,
                exc_info=True,
            )
            raise
    logger.info(
        "Periodic task %s done%s: result %r; processed %s", name, _attempt(), run.result, describe_processed(processed)
    )
    return run


# name -> the task body with logging, run without Celery by run_task and the embedded scheduler.
REGISTRY: dict[str, Callable[[], Run]] = {}


def retry_options() -> dict:
    return {
        "autoretry_for": (Exception,),
        "retry_backoff": settings.PERIODIC_TASK_RETRY_BACKOFF,
        "retry_backoff_max": settings.PERIODIC_TASK_RETRY_BACKOFF_MAX,
        "retry_jitter": True,
        "max_retries": settings.PERIODIC_TASK_MAX_RETRIES,
    }


def periodic_task(name: str):
    """Declare a periodic task (see the module doc); the function returns a count or a dict of counts."""

    def decorate(func: Callable):
        @functools.wraps(func)
        def body(*args, **kwargs):
            return run_logged(name, func, *args, **kwargs).result

        REGISTRY[name] = functools.partial(run_logged, name, func)
        return shared_task(name=name, **retry_options())(body)

    return decorate


def load_tasks() -> None:
    """Import every app's tasks module (what the worker does at start), filling REGISTRY."""
    autodiscover_modules("tasks")


def scheduled_entries() -> dict[str, dict]:
    """The beat schedule (settings.CELERY_BEAT_SCHEDULE), entry name -> entry."""
    return dict(settings.CELERY_BEAT_SCHEDULE)


def interval_text(schedule) -> str:
    """`every 15 min`, `every 24 h`, `every 7 s`."""
    if isinstance(schedule, timedelta):
        seconds = schedule.total_seconds()
        for unit, size in (("h", 3600), ("min", 60)):
            if seconds >= size and seconds % size == 0:
                return f"every {int(seconds // size)} {unit}"
        return f"every {seconds:g} s"
    return str(schedule)


def task_names() -> list[str]:
    """Every scheduled task's name, in schedule order."""
    return [entry["task"] for entry in scheduled_entries().values()]
