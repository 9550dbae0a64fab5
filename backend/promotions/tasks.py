"""Periodic work of the promotions domain (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from backend.core.periodic import periodic_task

from . import group_buying


@periodic_task("promotions.close_expired_groups")
def close_expired_groups() -> int:
    """Groups whose window closed unfilled fail; each member's order is cancelled and refunded once."""
    return group_buying.groups_close_expired()
