"""Orders (one per vendor per checkout), their lines as placed, and where vendors ship from.

Amounts are Decimal in the order's currency; the ledger keeps the same money in
minor units. Lines keep a snapshot of what was bought (name, SKU, price and the
commission rate in force), so later edits of the listing change nothing here.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from backend.core.money import Money, quantize

AMOUNT = {"max_digits": 12, "decimal_places": 2}


class OrderStatus(models.TextChoices):
    UNPAID = "unpaid", "Unpaid"
    PAID = "paid", "Paid (money held in escrow)"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    COMPLETED = "completed", "Completed (money released)"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


class CompletionSource(models.TextChoices):
    SHOPPER = "shopper", "Receipt confirmed by the shopper"
    AUTOMATIC = "automatic", "Confirmed automatically after the deadline"


class PaymentStatus(models.TextChoices):
    """What happened to the order's money, as shoppers see it (derived, not stored)."""

    NOT_PAID = "not_paid", "Not paid"
    ESCROW_HELD = "escrow_held", "Held in escrow"
    RELEASED = "released", "Released to the vendor"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"


class Order(models.Model):
    checkout_token = models.UUIDField(db_index=True, help_text="The checkout this order was placed from.")
    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.PROTECT, related_name="orders")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    email = models.EmailField()
    # The checkout's language: what a guest's order mails are written in (a user's: their account's).
    language_code = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.UNPAID, db_index=True)
    currency = models.CharField(max_length=3)
    subtotal_amount = models.DecimalField(**AMOUNT, help_text="Goods.")
    shipping_amount = models.DecimalField(**AMOUNT)
    total_amount = models.DecimalField(
        **AMOUNT, help_text="Goods and shipping less the discounts: this order's part of the payment."
    )
    discount_amount = models.DecimalField(
        **AMOUNT, default=Decimal("0"), help_text="What the shopper saved: goods and shipping discounts (promotions)."
    )
    subsidy_amount = models.DecimalField(
        **AMOUNT, default=Decimal("0"), help_text="The platform-funded part of the discounts, paid to the store at release."
    )
    refunded_amount = models.DecimalField(**AMOUNT, default=Decimal("0"))
    commission_amount = models.DecimalField(**AMOUNT, null=True, blank=True, help_text="Taken at release.")
    payment = models.ForeignKey(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="orders",
        help_text="The shopper's payment; one payment may cover several vendors' orders.",
    )
    # The shipping the shopper chose and paid for.
    shipping_carrier_id = models.CharField(max_length=128)
    shipping_service_code = models.CharField(max_length=64)
    shipping_service_name = models.CharField(max_length=128, blank=True)
    shipping_promised_days = models.PositiveSmallIntegerField(null=True, blank=True)
    shipping_region = models.CharField(max_length=12, help_text="GB/T 2260 code of the destination.")
    shipping_address = models.JSONField(default=dict, blank=True, help_text="Name, phone, street, city, postal code.")
    shipping_origin = models.CharField(max_length=12, help_text="Region the vendor ships from (as quoted).")
    shipment = models.ForeignKey(
        "logistics.Shipment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set by the disputes domain: no release (manual or automatic) while true.
    release_frozen = models.BooleanField(default=False)
    release_frozen_reason = models.TextField(blank=True)
    # Set by promotions' group buying: paid into escrow, but not shippable until its group fills
    # (a group that fails cancels and refunds it instead).
    group_hold = models.BooleanField(default=False)
    confirmation_extended = models.BooleanField(default=False)
    auto_confirm_at = models.DateTimeField(null=True, blank=True, help_text="When receipt is confirmed automatically.")
    reserved_until = models.DateTimeField(
        null=True, blank=True, help_text="An unpaid order holds its stock until then, then it is cancelled."
    )
    completion_source = models.CharField(max_length=16, choices=CompletionSource.choices, blank=True)
    cancel_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One order per vendor per checkout, also when a completion is retried concurrently.
            models.UniqueConstraint(fields=["checkout_token", "vendor"], name="orders_one_order_per_vendor_checkout")
        ]
        indexes = [
            models.Index(fields=["status", "auto_confirm_at"], name="orders_due_for_confirmation"),
            models.Index(fields=["vendor", "-created_at"], name="orders_vendor_newest"),
            # A shopper's earlier orders (analytics: returning shoppers of a day, repurchase).
            models.Index(fields=["email", "created_at"], name="orders_email_created"),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk} of {self.vendor_id} ({self.status})"

    def money(self, amount) -> Money:
        return Money(quantize(amount, self.currency), self.currency)

    @property
    def subtotal(self) -> Money:
        return self.money(self.subtotal_amount)

    @property
    def shipping_price(self) -> Money:
        return self.money(self.shipping_amount)

    @property
    def total(self) -> Money:
        return self.money(self.total_amount)

    @property
    def refunded(self) -> Money:
        return self.money(self.refunded_amount)

    @property
    def discount(self) -> Money:
        return self.money(self.discount_amount)

    @property
    def subsidy(self) -> Money:
        return self.money(self.subsidy_amount)

    @property
    def payment_status(self) -> str:
        if self.paid_at is None:
            return PaymentStatus.NOT_PAID
        if self.refunded_amount > 0:
            return PaymentStatus.REFUNDED if self.refunded_amount >= self.total_amount else PaymentStatus.PARTIALLY_REFUNDED
        if self.released_at is not None:
            return PaymentStatus.RELEASED
        return PaymentStatus.ESCROW_HELD


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(
        "catalog.ProductVariant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    category = models.ForeignKey("catalog.Category", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    product_name = models.CharField(max_length=250)
    variant_sku = models.CharField(max_length=64)
    variant_attributes = models.JSONField(default=dict, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price_amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    commission_rate = models.DecimalField(
        max_digits=5, decimal_places=4, help_text="Fixed when the order was placed (0.0500 = 5%)."
    )
    weight_kg = models.DecimalField(max_digits=8, decimal_places=3, default=Decimal("0"))
    # Goods discounts allocated to this line (promotions.OrderDiscount has them per voucher).
    store_discount_amount = models.DecimalField(**AMOUNT, default=Decimal("0"), help_text="Funded by the store.")
    platform_discount_amount = models.DecimalField(**AMOUNT, default=Decimal("0"), help_text="Funded by the platform.")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name} ({self.variant_sku})"

    @property
    def commission_base(self) -> Money:
        """What commission is taken on: the price paid by the shopper plus the platform's subsidy,
        that is the line less the store's own discounts (Tmall's rule)."""
        store = self.store_discount_amount or Decimal(0)
        return Money(quantize(self.unit_price_amount * self.quantity - store, self.currency), self.currency)

    @property
    def unit_price(self) -> Money:
        return Money(quantize(self.unit_price_amount, self.currency), self.currency)

    @property
    def total(self) -> Money:
        return Money(quantize(self.unit_price_amount * self.quantity, self.currency), self.currency)


class OrderRefundStatus(models.TextChoices):
    # Claimed under its key (the amount held back from what is left to refund); the gateway is
    # being asked, or did not answer yet.
    REQUESTED = "requested", "Requested"
    SUCCEEDED = "succeeded", "Succeeded"
    # The gateway refused it: nothing moved, the amount is free again.
    FAILED = "failed", "Failed"


class OrderRefund(models.Model):
    """Money given back to the shopper on an order, once per idempotency key (a cancellation, a dispute).

    Claimed REQUESTED before the gateway is asked; SUCCEEDED once it took the refund and the
    ledger moved; FAILED when it refused (nothing moved).

    Before release it came out of escrow; after release from the vendor, with the
    platform's commission on it returned pro rata (commission_returned_amount).
    """

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    idempotency_key = models.CharField(max_length=200, unique=True)
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=OrderRefundStatus.choices, default=OrderRefundStatus.REQUESTED)
    after_release = models.BooleanField(default=False, help_text="Paid by the vendor, not out of escrow.")
    commission_returned_amount = models.DecimalField(**AMOUNT, default=Decimal("0"))
    payment_refund = models.ForeignKey(
        "payments.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} on order {self.order_id}"

    @property
    def money(self) -> Money:
        return Money(quantize(self.amount, self.currency), self.currency)

    @property
    def commission_returned(self) -> Money:
        return Money(quantize(self.commission_returned_amount, self.currency), self.currency)


class VendorShippingOrigin(models.Model):
    """Where a vendor's packages leave from; vendors without a row ship from settings' default region."""

    vendor = models.OneToOneField("vendors.Vendor", on_delete=models.CASCADE, related_name="shipping_origin")
    region_code = models.CharField(max_length=12, help_text="GB/T 2260 code of a province or city.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["vendor"]

    def __str__(self) -> str:
        return f"{self.vendor} ships from {self.region_code}"
