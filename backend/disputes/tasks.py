"""Periodic work of the disputes domain (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from backend.core.periodic import periodic_task

from . import services


@periodic_task("disputes.apply_deadlines")
def apply_deadlines() -> int:
    """Apply the arbitration policy to disputes whose deadline passed; safe to run twice."""
    return services.disputes_apply_deadlines()
