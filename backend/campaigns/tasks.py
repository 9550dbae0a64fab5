"""Periodic work of the campaigns (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from backend.core.periodic import periodic_task

from . import services


@periodic_task("campaigns.advance")
def campaigns_advance() -> int:
    """Open campaigns whose window began go live, live ones past their end end (prices follow the dates anyway)."""
    return len(services.campaigns_advance())
