"""Periodic work of the checkout domain (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import services


@shared_task(name="checkout.delete_stale")
def delete_stale_checkouts() -> int:
    return services.checkouts_delete_stale()
