"""Checkouts (carts that span vendors), their lines and the shipping chosen per vendor package.

A checkout holds no stock: stock is taken only when it is completed. Guests use
the checkout's id (a random UUID) as their handle.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from backend.core.money import Money, quantize

AMOUNT = {"max_digits": 12, "decimal_places": 2}


class Checkout(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="checkouts"
    )
    email = models.EmailField(blank=True)
    # The shopper's language when they started it (or gave their email): a guest's order mails use it.
    language_code = models.CharField(max_length=10, blank=True)
    currency = models.CharField(max_length=3)
    # The shipping address; region is a GB/T 2260 code (city or province) that carriers quote to.
    shipping_first_name = models.CharField(max_length=128, blank=True)
    shipping_last_name = models.CharField(max_length=128, blank=True)
    shipping_phone = models.CharField(max_length=32, blank=True)
    shipping_region = models.CharField(max_length=12, blank=True)
    shipping_street_address_1 = models.CharField(max_length=256, blank=True)
    shipping_street_address_2 = models.CharField(max_length=256, blank=True)
    shipping_city = models.CharField(max_length=128, blank=True)
    shipping_postal_code = models.CharField(max_length=20, blank=True)
    # The result of completion, so that completing again returns it.
    completed_at = models.DateTimeField(null=True, blank=True)
    payment = models.ForeignKey(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Checkout {self.pk}"

    @property
    def has_shipping_address(self) -> bool:
        return bool(self.shipping_region and self.shipping_street_address_1)

    def shipping_address_dict(self) -> dict[str, str]:
        return {
            "first_name": self.shipping_first_name,
            "last_name": self.shipping_last_name,
            "phone": self.shipping_phone,
            "region": self.shipping_region,
            "street_address_1": self.shipping_street_address_1,
            "street_address_2": self.shipping_street_address_2,
            "city": self.shipping_city,
            "postal_code": self.shipping_postal_code,
        }


class CheckoutLine(models.Model):
    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.ProductVariant", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    # The unit price the shopper was last shown; completion refuses to charge another one.
    price_amount = models.DecimalField(**AMOUNT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["checkout", "variant"], name="checkout_one_line_per_variant")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}"

    def unit_price(self, currency: str) -> Money:
        return Money(quantize(self.price_amount, currency), currency)


class CheckoutShippingMethod(models.Model):
    """The carrier service the shopper chose for one vendor's package, with the price last quoted."""

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="shipping_methods")
    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.CASCADE, related_name="+")
    carrier_id = models.CharField(max_length=128)
    service_code = models.CharField(max_length=64)
    service_name = models.CharField(max_length=128, blank=True)
    carrier_name = models.CharField(max_length=128, blank=True)
    price_amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    promised_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # What the price was quoted from (lines, weights, origin, address, carrier service, carrier data
    # version) and until when it may be reused unchanged: completion re-quotes only when either moved.
    quote_fingerprint = models.CharField(max_length=64, blank=True, default="")
    quoted_at = models.DateTimeField(null=True, blank=True)
    quote_valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["vendor_id"]
        constraints = [
            models.UniqueConstraint(fields=["checkout", "vendor"], name="checkout_one_shipping_method_per_vendor")
        ]

    def __str__(self) -> str:
        return f"{self.carrier_id}:{self.service_code} for vendor {self.vendor_id}"

    @property
    def price(self) -> Money:
        return Money(quantize(self.price_amount, self.currency), self.currency)


class CheckoutPaymentAttempt(models.Model):
    """A failed payment at completion, kept although everything else of the attempt rolled back.

    Declined attempts also move the payment's idempotency key on, so the next try
    (another card) is a new payment; a timed-out one keeps it, so a retry asks the
    gateway about the same payment.
    """

    checkout = models.ForeignKey(Checkout, on_delete=models.CASCADE, related_name="payment_attempts")
    gateway = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=200)
    error_code = models.CharField(max_length=32)
    message = models.TextField(blank=True)
    retry_same_key = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.error_code} on {self.checkout_id} via {self.gateway}"


# Registered with the app from their own modules.
from .reservations import StockReservation  # noqa: E402, F401
from .sessions import PaymentSession  # noqa: E402, F401
