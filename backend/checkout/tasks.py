"""Periodic work of the checkout domain (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from backend.core.periodic import periodic_task

from . import services


@periodic_task("checkout.delete_stale")
def delete_stale_checkouts() -> int:
    return services.checkouts_delete_stale()


@periodic_task("checkout.expire_payment_sessions")
def expire_payment_sessions() -> int:
    """Payment sessions past their time: closed at the gateway, their stock reservations freed."""
    return services.payment_sessions_expire()
