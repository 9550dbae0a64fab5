"""Periodic work of the orders domain (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from backend.core.periodic import periodic_task

from . import services


@periodic_task("orders.auto_confirm_receipts")
def auto_confirm_receipts() -> int:
    """Complete and release orders whose confirmation deadline passed; safe to run twice."""
    return services.orders_auto_confirm()


@periodic_task("orders.expire_unpaid")
def expire_unpaid_orders() -> int:
    """Cancel unpaid orders whose stock reservation ran out (stock returned)."""
    return services.orders_expire_unpaid()


@periodic_task("orders.complete_bookings")
def complete_bookings() -> int:
    """Finish parcel bookings left unfinished (a carrier timeout, a crashed worker); never books twice."""
    return services.orders_complete_bookings()
