"""The embedded scheduler: beat's own schedule, run in this process, no broker and no worker.

`manage.py run_periodic` (started by `make run`) runs Celery beat's service with
this scheduler: the entries of settings.CELERY_BEAT_SCHEDULE at their intervals,
the time of each entry's last run kept in the beat schedule file
(CELERY_BEAT_SCHEDULE_FILENAME) so a restart goes on where it stopped. Where beat
would send a due task to the broker, this scheduler runs its body here. A run that
fails is tried again with the same exponential backoff and bound as a Celery
retry (settings.PERIODIC_TASK_*), without holding up the other entries.
"""

from __future__ import annotations

import logging
import time

from celery.beat import PersistentScheduler
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import close_old_connections

from . import periodic

logger = logging.getLogger("backend.periodic")


class EmbeddedScheduler(PersistentScheduler):
    # Nothing is sent anywhere: no broker connection.
    producer = None

    def __init__(self, *args, **kwargs):
        # entry name -> (monotonic time the retry is due, retries done so far)
        self.retries: dict[str, tuple[float, int]] = {}
        super().__init__(*args, **kwargs)

    def apply_entry(self, entry, producer=None):
        self.run_entry(entry.name, entry.task, retries=0)
        # Keep the last-run times on disk after every run: a restart does not run them again at once.
        self._do_sync()

    def run_entry(self, name: str, task: str, *, retries: int) -> bool:
        body = periodic.REGISTRY.get(task)
        if body is None:
            logger.error("Periodic entry %s names the task %s, which is not a periodic task.", name, task)
            return False
        close_old_connections()
        try:
            body()
        except Exception:  # noqa: BLE001 - logged with the task's name by run_logged; retried below
            if retries >= settings.PERIODIC_TASK_MAX_RETRIES:
                logger.error("Periodic task %s failed %d times; it runs again at its next interval.", task, retries + 1)
                self.retries.pop(name, None)
                return False
            delay = get_exponential_backoff_interval(
                factor=settings.PERIODIC_TASK_RETRY_BACKOFF,
                retries=retries,
                maximum=settings.PERIODIC_TASK_RETRY_BACKOFF_MAX,
                full_jitter=True,
            )
            logger.warning("Periodic task %s: retry %d in %s s.", task, retries + 1, delay)
            self.retries[name] = (time.monotonic() + delay, retries + 1)
            return False
        finally:
            close_old_connections()
        self.retries.pop(name, None)
        return True

    def tick(self, *args, **kwargs):
        now = time.monotonic()
        for name, (due, retries) in sorted(self.retries.items(), key=lambda item: item[1][0]):
            if due <= now and name in self.schedule:
                self.run_entry(name, self.schedule[name].task, retries=retries)
                return 0
        delay = super().tick(*args, **kwargs)
        if self.retries:
            delay = min(delay, max(0.0, min(due for due, _ in self.retries.values()) - time.monotonic()))
        return delay
