"""The notifications outbox, the in-app inbox, webhook subscriptions, preferences, favourites and
restock alerts.

An event (`services.notify`) writes, in the transaction that made it happen:
- one `Notification` per recipient user (the in-app inbox, rendered in the user's language);
- one `Delivery` per email and per webhook subscription (the outbox), sent by the worker after
  commit and retried with backoff; every try is a `DeliveryAttempt` (the delivery log).
  An email may go to an address with no account (a guest order's email: `Delivery.user` empty).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    INBOX = "inbox", "In-app inbox"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent (or to be tried again)"
    SENT = "sent", "Sent"
    FAILED = "failed", "Given up"


class Event(models.Model):
    """One thing that happened, as told to everyone concerned (its payload is the webhook body's data)."""

    name = models.CharField(max_length=64, db_index=True)
    # The store the event is about (its webhook subscriptions receive it), if any.
    vendor = models.ForeignKey("vendors.Vendor", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    payload = models.JSONField(default=dict)
    # Reminders and other once-only events: a second notify with the same key does nothing.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class Notification(models.Model):
    """One message in a user's in-app inbox."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(max_length=255)
    body = models.TextField()
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_inbox"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    @property
    def name(self) -> str:
        return self.event.name


class WebhookSubscription(models.Model):
    """An outgoing webhook: a store's (its own events) or the platform's (staff: every event)."""

    vendor = models.ForeignKey(
        "vendors.Vendor", null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    url = models.URLField(max_length=500)
    # Event names it receives; empty means every event it may see.
    events = models.JSONField(default=list, blank=True)
    secret = models.CharField(max_length=64, default=secrets.token_hex)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.url} ({'platform' if self.vendor_id is None else f'vendor {self.vendor_id}'})"

    def wants(self, event_name: str) -> bool:
        return not self.events or event_name in self.events


class Delivery(models.Model):
    """One message to send by email or webhook: the outbox row, written with the event."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    # Email: the recipient and the rendered message; webhook: the subscription. An email with no
    # user goes to an address with no account (a guest order's email): email only, no inbox.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    to = models.CharField(max_length=320, blank=True)
    language = models.CharField(max_length=10, blank=True, help_text="The language the email was written in.")
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    subscription = models.ForeignKey(
        WebhookSubscription, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Set while a worker sends it: another worker leaves it alone until then (a crashed one's claim lapses).
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    @property
    def is_guest(self) -> bool:
        """An email to an address with no account (a guest order's)."""
        return self.channel == Channel.EMAIL and self.user_id is None


class DeliveryAttempt(models.Model):
    """One try of a delivery: the delivery log."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    succeeded = models.BooleanField()
    response_status = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]


class NotificationPreference(models.Model):
    """A user's choice for one event and channel; without a row the event's default applies (on)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences")
    event = models.CharField(max_length=64)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event", "channel"], name="one_notification_preference"),
        ]


class Favourite(models.Model):
    """A shopper's saved product or store (收藏)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites")
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="favourites")
    vendor = models.ForeignKey("vendors.Vendor", null=True, blank=True, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(product__isnull=False, vendor__isnull=True) | Q(product__isnull=True, vendor__isnull=False)),
                name="favourite_product_or_store",
            ),
            models.UniqueConstraint(fields=["user", "product"], condition=Q(product__isnull=False), name="one_favourite_per_product"),
            models.UniqueConstraint(fields=["user", "vendor"], condition=Q(vendor__isnull=False), name="one_favourite_per_store"),
        ]
        indexes = [
            models.Index(fields=["product"], name="favourite_product"),
            models.Index(fields=["vendor"], name="favourite_vendor"),
        ]


class RestockAlert(models.Model):
    """A shopper waiting for an out-of-stock variant (到货通知); fires once, when stock comes back."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="restock_alerts")
    variant = models.ForeignKey("catalog.ProductVariant", on_delete=models.CASCADE, related_name="restock_alerts")
    created_at = models.DateTimeField(auto_now_add=True)
    fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "variant"], condition=Q(fired_at__isnull=True), name="one_waiting_restock_alert"
            ),
        ]
        indexes = [models.Index(fields=["variant"], condition=Q(fired_at__isnull=True), name="restock_waiting")]
