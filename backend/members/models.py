"""Members: tiers (levels by spend over a rolling window) and points (a liability of the platform).

A `Member` row per shopper holds the points balance (the sum of its `PointsEntry` rows, kept in the
same transaction under the row's lock) and the tier. Every change of a balance locks the member row
first, before any ledger account, so no two transactions wait on each other in a cycle.

Points earned are lots (`PointsEntry` of kind EARN with `remaining` and `expires_at`); a
redemption takes from the lots that expire first and records which (`consumed`), so giving the
points back restores those lots; expiry zeroes what is left of a lot once.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

AMOUNT = {"max_digits": 12, "decimal_places": 2}


class Tier(models.Model):
    """A level (普通会员 / 银卡 / 金卡 / 铂金): reached with `min_spend` on completed orders in the window."""

    name = models.CharField(max_length=64, help_text="Shown to shoppers, e.g. 金卡.")
    min_spend = models.DecimalField(**AMOUNT, unique=True, help_text="Spend on completed orders over the window to reach it.")
    currency = models.CharField(max_length=3, default=settings.DEFAULT_CURRENCY)
    discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal(0), validators=[MinValueValidator(0), MaxValueValidator(50)],
        help_text="Percentage off the goods, funded by the platform (0: none).",
    )
    free_shipping_threshold = models.DecimalField(
        **AMOUNT, null=True, blank=True,
        help_text="A store package whose goods come to at least this ships free (the platform pays); empty: no.",
    )
    points_multiplier = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal(1), validators=[MinValueValidator(0)],
        help_text="Points earned are multiplied by this.",
    )

    class Meta:
        ordering = ["min_spend"]

    def __str__(self) -> str:
        return f"{self.name} (from {self.min_spend} {self.currency})"


class Member(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member")
    points_balance = models.IntegerField(default=0, help_text="Sum of the points entries (may be below 0 after a refund).")
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    tier_spend = models.DecimalField(**AMOUNT, default=Decimal(0), help_text="Spend counted at the last tier check.")
    tier_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Member {self.user_id}: {self.points_balance} points"


class PointsKind(models.TextChoices):
    EARN = "earn", "Earned (order released)"
    REVERSE = "reverse", "Taken back (order refunded)"
    REDEEM = "redeem", "Redeemed at checkout"
    RETURN = "return", "Given back (order cancelled)"
    EXPIRE = "expire", "Expired"
    GRANT = "grant", "Granted by staff"
    DEDUCT = "deduct", "Deducted by staff"


class PointsEntry(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=PointsKind.choices)
    points = models.IntegerField(help_text="Signed: earned, given back and granted above 0, the rest below.")
    balance_after = models.IntegerField()
    key = models.CharField(
        max_length=200, unique=True, help_text="Once only: the order, refund, checkout, lot or staff request."
    )
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    checkout_token = models.UUIDField(null=True, blank=True, db_index=True)
    value_amount = models.DecimalField(**AMOUNT, help_text="The points' value at the redemption rate (the ledger's).")
    currency = models.CharField(max_length=3)
    # Lots (EARN): what is left of them, when that expires, when the shopper was warned.
    remaining = models.IntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    # EARN: what the shopper paid at release (refunds take back their share of it).
    paid_amount = models.DecimalField(**AMOUNT, default=Decimal(0))
    # REVERSE: the refund's amount; REDEEM: the lots taken from {lot id: points}.
    refund_amount = models.DecimalField(**AMOUNT, default=Decimal(0))
    consumed = models.JSONField(default=dict, blank=True)
    # GRANT / DEDUCT: why, and which staff user did it.
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "points entries"
        indexes = [
            models.Index(fields=["member", "-created_at", "-id"], name="members_points_history"),
            models.Index(fields=["expires_at"], condition=models.Q(remaining__gt=0), name="members_points_lots_left"),
        ]


class CheckoutPoints(models.Model):
    """The points a shopper asked to use on a checkout (`points` empty: as many as allowed)."""

    checkout = models.OneToOneField("checkout.Checkout", on_delete=models.CASCADE, related_name="points_use")
    points = models.PositiveIntegerField(null=True, blank=True)
