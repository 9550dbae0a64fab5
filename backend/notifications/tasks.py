"""Work of the notifications domain in the worker (periodic tasks scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from backend.core.periodic import periodic_task

from . import services


@shared_task(name="notifications.deliver")
def deliver(delivery_id: int) -> bool:
    """Send one outbox row (queued after the event's transaction commits)."""
    return services.delivery_send(delivery_id=delivery_id)


@periodic_task("notifications.deliver_pending")
def deliver_pending() -> int:
    """Send deliveries that are due: retries, and rows whose task was lost."""
    return services.deliveries_send_pending()


@periodic_task("notifications.send_reminders")
def send_reminders() -> dict:
    """Reminders 24 hours before automatic confirmations, dispute deadlines and suspensions; once per deadline."""
    return services.reminders_send()
