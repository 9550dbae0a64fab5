"""Periodic work of the disputes domain (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import services


@shared_task(name="disputes.apply_deadlines")
def apply_deadlines() -> int:
    """Apply the arbitration policy to disputes whose deadline passed; safe to run twice."""
    return services.disputes_apply_deadlines()
