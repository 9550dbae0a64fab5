"""Analytics work of the worker: writing buffered events, the daily figures, retention."""

from backend.core.periodic import periodic_task

from . import aggregation, recorder


@periodic_task("analytics.flush_events")
def flush_events_task() -> int:
    """Write the events waiting in the buffer (this process's, or the shared Redis list)."""
    return recorder.flush()


@periodic_task("analytics.aggregate_days")
def aggregate_days_task() -> int:
    """Recompute the last ANALYTICS_RECOMPUTE_DAYS days and today, per store and for the platform."""
    recorder.flush()
    return aggregation.aggregate_recent()


@periodic_task("analytics.delete_old_events")
def delete_old_events_task() -> int:
    """Delete events older than ANALYTICS_RETENTION_DAYS."""
    return aggregation.delete_old_events()
