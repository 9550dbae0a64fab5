"""Disputes between a shopper and a vendor over an order, their message thread with
evidence, the return parcel and the ruling.

The rules (who may do what when, deadlines, money) live in services.py and the
arbitration plugin; these models only record what happened.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from backend.core.money import Money, quantize
from plugins.arbitration.interface import DisputeState, Outcome

AMOUNT = {"max_digits": 12, "decimal_places": 2}


class DisputeStatus(models.TextChoices):
    OPEN = DisputeState.OPEN, "Open"
    AWAITING_VENDOR = DisputeState.AWAITING_VENDOR, "Waiting for the vendor"
    AWAITING_BUYER = DisputeState.AWAITING_BUYER, "Waiting for the shopper"
    UNDER_ARBITRATION = DisputeState.UNDER_ARBITRATION, "Under arbitration"
    AWAITING_RETURN = DisputeState.AWAITING_RETURN, "Waiting for the goods to be sent back"
    RETURN_SHIPPED = DisputeState.RETURN_SHIPPED, "Goods sent back"
    RESOLVED = DisputeState.RESOLVED, "Resolved"
    CLOSED = DisputeState.CLOSED, "Closed"


# A dispute in one of these states holds its order's money; one per order at a time.
ACTIVE_STATUSES = (
    DisputeStatus.OPEN,
    DisputeStatus.AWAITING_VENDOR,
    DisputeStatus.AWAITING_BUYER,
    DisputeStatus.UNDER_ARBITRATION,
    DisputeStatus.AWAITING_RETURN,
    DisputeStatus.RETURN_SHIPPED,
)


class DisputeReason(models.TextChoices):
    NOT_RECEIVED = "not_received", "Not received"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    DAMAGED = "damaged", "Damaged"
    NO_REASON_RETURN = "no_reason_return", "Return without a reason (7 days)"


class DisputeKind(models.TextChoices):
    REFUND_ONLY = "refund_only", "Refund only"
    RETURN_AND_REFUND = "return_and_refund", "Return and refund"


class RulingOutcome(models.TextChoices):
    REFUND_FULL = Outcome.REFUND_FULL, "Refund as requested"
    REFUND_PARTIAL = Outcome.REFUND_PARTIAL, "Partial refund"
    REJECT = Outcome.REJECT, "Rejected (vendor's favour)"


class RulingSource(models.TextChoices):
    VENDOR = "vendor", "The vendor accepted"
    STAFF = "staff", "Platform staff"
    AUTOMATIC = "automatic", "A deadline passed (policy)"
    WITHDRAWN = "withdrawn", "The shopper withdrew"


class MessageRole(models.TextChoices):
    SHOPPER = "shopper", "Shopper"
    VENDOR = "vendor", "Vendor"
    STAFF = "staff", "Platform staff"
    SYSTEM = "system", "Platform"


class Dispute(models.Model):
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="disputes")
    # The order's vendor, kept here so that scoping and statistics need no join.
    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.PROTECT, related_name="disputes")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disputes")
    reason = models.CharField(max_length=32, choices=DisputeReason.choices)
    kind = models.CharField(max_length=32, choices=DisputeKind.choices, default=DisputeKind.REFUND_ONLY)
    description = models.TextField()
    currency = models.CharField(max_length=3)
    requested_amount = models.DecimalField(**AMOUNT)
    refundable_amount = models.DecimalField(
        **AMOUNT, help_text="The most this dispute may refund: its lines and their shipping, less earlier refunds."
    )
    status = models.CharField(max_length=32, choices=DisputeStatus.choices, default=DisputeStatus.OPEN, db_index=True)
    deadline_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="When the policy's automatic ruling applies."
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    vendor_responded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # The ruling: who decided what. A refund ruling on a return is paid when the goods are back.
    ruling_outcome = models.CharField(max_length=32, choices=RulingOutcome.choices, blank=True)
    ruling_source = models.CharField(max_length=16, choices=RulingSource.choices, blank=True)
    ruling_amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    ruling_note = models.TextField(blank=True)
    ruled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ruled_at = models.DateTimeField(null=True, blank=True)
    # Money that moved.
    refunded_amount = models.DecimalField(**AMOUNT, default=Decimal("0"))
    refunded_after_release = models.BooleanField(default=False, help_text="Refunded from the vendor, not escrow.")
    commission_returned_amount = models.DecimalField(**AMOUNT, default=Decimal("0"))
    refunded_at = models.DateTimeField(null=True, blank=True)
    deposit_penalty_amount = models.DecimalField(**AMOUNT, null=True, blank=True)
    deposit_penalty_to_buyer = models.BooleanField(default=False)
    # The return leg.
    return_shipment = models.ForeignKey(
        "logistics.Shipment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    return_received_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(status__in=ACTIVE_STATUSES), name="disputes_one_active_per_order"
            )
        ]
        indexes = [
            models.Index(fields=["status", "deadline_at"], name="disputes_due"),
            models.Index(fields=["vendor", "-created_at"], name="disputes_vendor_newest"),
        ]

    def __str__(self) -> str:
        return f"Dispute {self.pk} on order {self.order_id} ({self.status})"

    def money(self, amount) -> Money:
        return Money(quantize(amount or 0, self.currency), self.currency)

    @property
    def requested(self) -> Money:
        return self.money(self.requested_amount)

    @property
    def refundable(self) -> Money:
        return self.money(self.refundable_amount)

    @property
    def refunded(self) -> Money:
        return self.money(self.refunded_amount)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class DisputeLine(models.Model):
    """An order line the dispute is about, and how many of its items."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["dispute", "order_line"], name="disputes_line_once")]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id}"


class DisputeMessage(models.Model):
    """One message on the dispute's thread; the opening description is the first."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    role = models.CharField(max_length=16, choices=MessageRole.choices)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role} on dispute {self.dispute_id}"


class EvidenceStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"


class DisputeEvidence(models.Model):
    """An evidence picture, shown as re-encoded renditions only (no EXIF, nothing appended).

    The upload is kept as it came (`original`, private storage) until the worker has made the
    renditions (PROCESSING); only its uploader is ever given a link to it. Once READY the
    original is deleted.
    """

    message = models.ForeignKey(DisputeMessage, on_delete=models.CASCADE, related_name="evidence")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=EvidenceStatus.choices, default=EvidenceStatus.PROCESSING)
    original = models.CharField(
        max_length=255, blank=True, help_text="The upload as it came (private storage), until rendered."
    )
    renditions = models.JSONField(default=dict, help_text="Rendition name -> format -> storage path.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, help_text="Of the uploaded file.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Evidence {self.pk} of message {self.message_id}"
