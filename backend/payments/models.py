"""Payments taken from shoppers and vendors, refunds, transfers to vendors, webhook events.

Each record that asks a gateway to move money carries the idempotency key the
gateway was given, so a retried request finds the first one instead of
charging, refunding or paying out twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from moneyed import Money

from backend.core.money import quantize

AMOUNT = {"max_digits": 20, "decimal_places": 4}


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTION_REQUIRED = "action_required", "Action required"
    AUTHORIZED = "authorized", "Authorized"
    CAPTURED = "captured", "Captured"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class PaymentPurpose(models.TextChoices):
    CHECKOUT = "checkout", "Checkout"
    VENDOR_FEE = "vendor_fee", "Vendor fee"
    VENDOR_DEPOSIT = "vendor_deposit", "Vendor deposit"


def _money(amount, currency: str) -> Money:
    return Money(quantize(amount, currency), currency)


class Payment(models.Model):
    gateway = models.CharField(max_length=64)
    psp_reference = models.CharField(max_length=255, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    # Hash of what was asked; the same key with a different request is refused.
    request_fingerprint = models.CharField(max_length=64)
    purpose = models.CharField(max_length=32, choices=PaymentPurpose.choices, default=PaymentPurpose.CHECKOUT)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    customer_email = models.EmailField(blank=True)
    vendor = models.ForeignKey(
        "vendors.Vendor", null=True, blank=True, on_delete=models.PROTECT, related_name="payments",
        help_text="The vendor paying, for fee and deposit payments.",
    )
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    captured_amount = models.DecimalField(**AMOUNT, default=0)
    refunded_amount = models.DecimalField(**AMOUNT, default=0)
    status = models.CharField(
        max_length=32, choices=PaymentStatus.choices, default=PaymentStatus.PENDING, db_index=True
    )
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["gateway", "psp_reference"])]

    def __str__(self) -> str:
        return f"Payment {self.pk} {quantize(self.amount, self.currency)} {self.currency} via {self.gateway} ({self.status})"

    @property
    def total(self) -> Money:
        return _money(self.amount, self.currency)

    @property
    def captured(self) -> Money:
        return _money(self.captured_amount, self.currency)

    @property
    def refunded(self) -> Money:
        return _money(self.refunded_amount, self.currency)


class RefundStatus(models.TextChoices):
    # Claimed under its key and counted against what is left to refund; the gateway is being asked,
    # or did not answer (a timeout, a 5xx): asked again under the same key until it answers.
    REQUESTED = "requested", "Requested"
    # The gateway took it and settles it later (its webhook says succeeded or failed).
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    psp_reference = models.CharField(max_length=255, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    reason = models.TextField(blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Refund {self.pk} of payment {self.payment_id}: {quantize(self.amount, self.currency)} {self.currency} ({self.status})"

    @property
    def total(self) -> Money:
        return _money(self.amount, self.currency)


class TransferStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    REVERSED = "reversed", "Reversed"


class Transfer(models.Model):
    """A payout to a vendor through a gateway; its money moves in the ledger as payout_* movements."""

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.PROTECT, related_name="transfers")
    gateway = models.CharField(max_length=64)
    destination = models.CharField(max_length=255, blank=True, help_text="The vendor's account at the gateway.")
    payout_ref = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=32, choices=TransferStatus.choices, default=TransferStatus.PENDING)
    psp_reference = models.CharField(max_length=255, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Transfer {self.payout_ref} to vendor {self.vendor_id}: {quantize(self.amount, self.currency)} {self.currency} ({self.status})"

    @property
    def total(self) -> Money:
        return _money(self.amount, self.currency)


class VendorGatewayAccount(models.Model):
    """A vendor's account at a gateway (a Stripe Connect account id), where payouts go."""

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.CASCADE, related_name="gateway_accounts")
    gateway = models.CharField(max_length=64)
    account_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["vendor", "gateway"], name="one_gateway_account_per_vendor")]

    def __str__(self) -> str:
        return f"{self.vendor_id} at {self.gateway}: {self.account_id}"


class WebhookEvent(models.Model):
    """Each gateway event once: a redelivered event finds its row and is not applied again."""

    gateway = models.CharField(max_length=64)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="one_webhook_event_per_id")]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_id} {self.type}"


class MismatchKind(models.TextChoices):
    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"
    TRANSFER = "transfer", "Transfer"


class MismatchProblem(models.TextChoices):
    MISSING_AT_GATEWAY = "missing_at_gateway", "Recorded here, unknown to the gateway"
    MISSING_HERE = "missing_here", "At the gateway, not recorded here"
    AMOUNT_DIFFERS = "amount_differs", "Amount differs"
    CURRENCY_DIFFERS = "currency_differs", "Currency differs"
    STATUS_DIFFERS = "status_differs", "Status differs"


class ReconciliationMismatch(models.Model):
    """One difference between a gateway's records of a day and ours, found by the daily reconciliation.

    Never corrected automatically: staff look, fix what needs fixing through the usual
    operations, and mark it reviewed with a note. Re-running a day finds the same row.
    """

    gateway = models.CharField(max_length=64)
    day = models.DateField(db_index=True)
    kind = models.CharField(max_length=16, choices=MismatchKind.choices)
    psp_reference = models.CharField(max_length=255)
    problem = models.CharField(max_length=32, choices=MismatchProblem.choices)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    transfer = models.ForeignKey(Transfer, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    our_amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    our_currency = models.CharField(max_length=3, blank=True)
    our_status = models.CharField(max_length=32, blank=True)
    gateway_amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    gateway_currency = models.CharField(max_length=3, blank=True)
    gateway_status = models.CharField(max_length=32, blank=True)
    gateway_record = models.JSONField(default=dict, blank=True, help_text="The gateway's record as it answered.")
    detected_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(help_text="The last reconciliation run that still found it.")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-day", "gateway", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "day", "kind", "psp_reference", "problem"], name="one_mismatch_per_day_and_problem"
            )
        ]
        indexes = [models.Index(fields=["gateway", "day"])]

    def __str__(self) -> str:
        return f"{self.gateway} {self.day} {self.kind} {self.psp_reference}: {self.problem}"
