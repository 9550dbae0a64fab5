"""Background work of the accounts domain."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail


@shared_task(name="accounts.send_email")
def send_account_email(subject: str, body: str, to: str) -> None:
    """Send one rendered account email; the request that asked for it does not wait for SMTP."""
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
