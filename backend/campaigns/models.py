"""Platform campaigns (shopping festivals such as 11.11 / 双11 and 618).

Platform staff create a Campaign with its window (`starts_at` to `ends_at`), an enrolment
deadline and its rules (a minimum discount against the regular price, at most so many campaign
units per enrolled variant, the categories allowed). Stores enrol their variants with a campaign
price (a CampaignEnrolment); staff review the enrolments as they review listings. In the window
an approved enrolment prices its variant at the campaign price, on the storefront and in the
checkout's one pricing path (a store-funded line adjustment, source "campaign": the store chose
the price). The units sold at a campaign price are counted at placement under the enrolment's
row lock; the database refuses more than its `quantity`.

Carriers' event pricing (logistics.PricingEvent) is linked to a campaign by CampaignShippingEvent:
a linked event's window follows the campaign's (set on linking and whenever the campaign's dates
change), so the 11.11 shipping prices run exactly with the 11.11 goods prices.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from backend.core.money import Money, quantize

AMOUNT = {"max_digits": 12, "decimal_places": 2}


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN_FOR_ENROLMENT = "open_for_enrolment", "Open for enrolment"
    LIVE = "live", "Live"
    ENDED = "ended", "Ended"
    CANCELLED = "cancelled", "Cancelled"


class EnrolmentStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Campaign(models.Model):
    name = models.CharField(max_length=128)
    slug = models.SlugField(max_length=128, unique=True, allow_unicode=True)
    description = models.TextField(blank=True)
    badge = models.CharField(max_length=32, blank=True, help_text="Shown on campaign prices; empty: the name.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    enrolment_deadline = models.DateTimeField(help_text="Stores enrol until then (at the latest the start).")
    status = models.CharField(max_length=24, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    # Rules checked at enrolment.
    min_discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(99))],
        help_text="The campaign price is at least this many percent below the regular price.",
    )
    max_units_per_variant = models.PositiveIntegerField(
        null=True, blank=True, help_text="Campaign units per enrolled variant at most; empty: any (or unlimited)."
    )
    categories = models.ManyToManyField(
        "catalog.Category", blank=True, related_name="+", help_text="Allowed categories (with their subcategories); none: all."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="campaigns_ends_after_start"),
            models.CheckConstraint(condition=models.Q(enrolment_deadline__lte=models.F("starts_at")),
                                   name="campaigns_deadline_before_start"),
        ]
        indexes = [models.Index(fields=["status", "ends_at"], name="campaigns_status_ends")]

    def __str__(self) -> str:
        return self.name

    @property
    def badge_text(self) -> str:
        return self.badge or self.name

    def is_running(self, now) -> bool:
        """Campaign prices apply: not draft nor cancelled, and inside the window."""
        return self.status in (CampaignStatus.OPEN_FOR_ENROLMENT, CampaignStatus.LIVE) and self.starts_at <= now < self.ends_at


class CampaignEnrolment(models.Model):
    """A store's variant in a campaign at a campaign price, optionally for so many units."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="enrolments")
    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.CASCADE, related_name="campaign_enrolments")
    variant = models.ForeignKey("catalog.ProductVariant", on_delete=models.CASCADE, related_name="campaign_enrolments")
    price_amount = models.DecimalField(**AMOUNT, help_text="The campaign price of one unit.")
    currency = models.CharField(max_length=3, default=settings.DEFAULT_CURRENCY)
    regular_amount = models.DecimalField(**AMOUNT, help_text="The regular price when enrolled (for the review).")
    quantity = models.PositiveIntegerField(null=True, blank=True, help_text="Units at the campaign price; empty: no limit.")
    sold_count = models.PositiveIntegerField(default=0, help_text="Units sold at the campaign price (at placement).")
    status = models.CharField(max_length=16, choices=EnrolmentStatus.choices, default=EnrolmentStatus.PENDING)
    reason = models.TextField(blank=True, help_text="Why it was rejected.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["variant", "status"], name="campaigns_enrol_variant"),
            models.Index(fields=["campaign", "status"], name="campaigns_enrol_campaign"),
            models.Index(fields=["vendor", "-created_at"], name="campaigns_enrol_vendor"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "variant"], condition=models.Q(status__in=["pending", "approved"]),
                name="campaigns_one_enrolment_per_variant",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__isnull=True) | models.Q(sold_count__lte=models.F("quantity")),
                name="campaigns_never_oversold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} / variant {self.variant_id} @ {self.price_amount}"

    @property
    def price(self) -> Money:
        return Money(quantize(self.price_amount, self.currency), self.currency)

    @property
    def remaining(self) -> int | None:
        return None if self.quantity is None else max(0, self.quantity - self.sold_count)


class CampaignPurchase(models.Model):
    """Units of one order bought at a campaign price (given back when the order is cancelled)."""

    enrolment = models.ForeignKey(CampaignEnrolment, on_delete=models.PROTECT, related_name="purchases")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["enrolment", "order"], name="campaigns_purchase_once_per_order")]


class CampaignShippingEvent(models.Model):
    """A carrier's event pricing run with a campaign: its window follows the campaign's."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="shipping_events")
    event = models.OneToOneField("logistics.PricingEvent", on_delete=models.CASCADE, related_name="campaign_link")
    linked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.campaign} ↔ {self.event}"
