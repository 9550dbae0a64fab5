"""Payment sessions: a payment the shopper confirms with the gateway on the client.

The session snapshots what is paid for (amount, currency and a fingerprint of the
lines, quantities, prices, shipping and address), so a checkout changed after the
shopper started paying no longer matches it. Its stock is reserved
(reservations.StockReservation) until it expires. States:

    CREATED    the session exists and holds its stock; the gateway was not answered yet
    PENDING    the gateway created its payment; the client data was handed out
    AUTHORIZED the gateway holds the shopper's money (not captured)
    SUCCEEDED  the gateway captured it
    COMPLETED  the orders were placed (exactly once, by checkoutComplete or the webhook)
    FAILED / EXPIRED / CANCELLED  over; the stock reservation is gone
"""

from __future__ import annotations

import hashlib
import json
import uuid

from django.db import models

from backend.core.money import Money, quantize
from backend.core.state_machine import StateMachine

from .error_codes import CheckoutErrorCode


def new_reference() -> str:
    return f"ps{uuid.uuid4().hex}"


class PaymentSessionState(models.TextChoices):
    CREATED = "created", "Created"
    PENDING = "pending", "Pending"
    AUTHORIZED = "authorized", "Authorized"
    SUCCEEDED = "succeeded", "Succeeded"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


S = PaymentSessionState
# States in which the session still holds its stock and may still be paid.
OPEN_STATES = (S.CREATED, S.PENDING, S.AUTHORIZED, S.SUCCEEDED)
# Paid at the gateway: the orders must be placed (or the money given back).
PAID_STATES = (S.AUTHORIZED, S.SUCCEEDED)

session_machine = StateMachine(
    "payment session",
    {
        S.CREATED: {S.PENDING, S.AUTHORIZED, S.SUCCEEDED, S.FAILED, S.EXPIRED, S.CANCELLED},
        S.PENDING: {S.AUTHORIZED, S.SUCCEEDED, S.FAILED, S.EXPIRED, S.CANCELLED},
        S.AUTHORIZED: {S.SUCCEEDED, S.COMPLETED, S.CANCELLED, S.EXPIRED},
        S.SUCCEEDED: {S.COMPLETED},
    },
    CheckoutErrorCode.INVALID_TRANSITION,
)


class PaymentSession(models.Model):
    checkout = models.ForeignKey("checkout.Checkout", on_delete=models.CASCADE, related_name="payment_sessions")
    gateway = models.CharField(max_length=64)
    reference = models.CharField(max_length=64, unique=True, default=new_reference)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=PaymentSessionState.choices, default=S.CREATED, db_index=True)
    psp_reference = models.CharField(max_length=255, blank=True, db_index=True)
    client_data = models.JSONField(default=dict, blank=True)
    return_url = models.CharField(max_length=2000, blank=True)
    expires_at = models.DateTimeField(db_index=True)
    # The last failed call to the gateway (timeouts included): what happened, for staff and the shopper.
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Calls made to create the gateway's payment.")
    payment = models.ForeignKey("payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["gateway", "psp_reference"])]

    def __str__(self) -> str:
        return f"Payment session {self.reference} ({self.state})"

    @property
    def total(self) -> Money:
        return Money(quantize(self.amount, self.currency), self.currency)

    @property
    def idempotency_key(self) -> str:
        """The key every gateway call of this session is made under (suffixed per kind of call)."""
        return f"session:{self.reference}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


def checkout_fingerprint(checkout, lines, methods, discounts=None) -> str:
    """What the shopper agreed to pay for: lines, quantities, prices, shipping, address and the
    discounts (each with its funder; left out when there are none, so older sessions still match)."""
    data = {
        "currency": checkout.currency,
        "lines": sorted((line.variant_id, line.quantity, str(line.price_amount)) for line in lines),
        "shipping": sorted(
            (m.vendor_id, m.carrier_id, m.service_code, str(m.price_amount), m.currency) for m in methods
        ),
        "address": checkout.shipping_address_dict(),
    }
    if discounts:
        data["discounts"] = [list(map(str, item)) for item in discounts]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
