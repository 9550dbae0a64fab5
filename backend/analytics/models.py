"""Storefront events (an append-only log, flushed in batches) and the daily figures computed from them,
the orders and the ledger.

Events keep plain integer ids, not foreign keys: a log row must survive the listing or the store it
names, and writing it must not lock or check anything.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models

AMOUNT = {"max_digits": 16, "decimal_places": 2, "default": Decimal("0")}


class EventKind(models.TextChoices):
    PRODUCT_VIEW = "product_view", "Product viewed"
    STORE_VIEW = "store_view", "Store page viewed"
    SEARCH = "search", "Search"
    ADD_TO_CART = "add_to_cart", "Added to cart"
    CHECKOUT_STARTED = "checkout_started", "Checkout started"
    ORDER_PLACED = "order_placed", "Order placed"


class Event(models.Model):
    # Made where the event happened, so a batch flushed twice (a retried worker) is written once.
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    occurred_at = models.DateTimeField(db_index=True)
    visitor_id = models.CharField(max_length=64, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    vendor_id = models.BigIntegerField(null=True, blank=True)
    product_id = models.BigIntegerField(null=True, blank=True)
    category_id = models.BigIntegerField(null=True, blank=True)
    order_id = models.BigIntegerField(null=True, blank=True)
    checkout_token = models.UUIDField(null=True, blank=True)
    search_term = models.CharField(max_length=200, blank=True)
    search_results = models.IntegerField(null=True, blank=True, help_text="Listings found; 0: a search without result.")
    referrer = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=100, blank=True, help_text="utm_source, else the referrer's host, else direct.")
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["vendor_id", "occurred_at"], name="analytics_event_vendor_time"),
            models.Index(fields=["checkout_token"], name="analytics_event_checkout"),
        ]
        permissions = [("view_analytics", "View the platform's and every store's analytics")]

    def __str__(self) -> str:
        return f"{self.kind} by {self.visitor_id or '-'} at {self.occurred_at:%Y-%m-%d %H:%M}"


class MetricsFields(models.Model):
    """The figures of one store (or the platform) over a day, a week or a month: counts, amounts and the
    ranked lists and breakdowns, merged over the days for a week or a month."""

    currency = models.CharField(max_length=3)
    visitors = models.PositiveIntegerField(default=0)
    product_views = models.PositiveIntegerField(default=0)
    store_views = models.PositiveIntegerField(default=0)
    searches = models.PositiveIntegerField(default=0)
    searches_without_results = models.PositiveIntegerField(default=0)
    add_to_carts = models.PositiveIntegerField(default=0)
    checkouts_started = models.PositiveIntegerField(default=0)
    ordering_visitors = models.PositiveIntegerField(default=0, help_text="Visitors who placed an order.")
    orders = models.PositiveIntegerField(default=0, help_text="Orders placed that day and paid.")
    gmv = models.DecimalField(**AMOUNT, help_text="The goods of those orders (shipping excluded).")
    refunds = models.PositiveIntegerField(default=0, help_text="Orders refunded (in part or in full) that day.")
    refunded = models.DecimalField(**AMOUNT)
    disputes = models.PositiveIntegerField(default=0, help_text="Disputes opened that day.")
    shoppers = models.PositiveIntegerField(default=0)
    new_shoppers = models.PositiveIntegerField(default=0, help_text="Shoppers whose first paid order this is.")
    returning_shoppers = models.PositiveIntegerField(default=0)
    commission = models.DecimalField(**AMOUNT, help_text="Net change of platform:commission for these orders.")
    fees = models.DecimalField(**AMOUNT, help_text="Entry fees net of rebates (platform only).")
    deposits_forfeited = models.DecimalField(**AMOUNT, help_text="Deposit deductions taken by the platform.")
    new_stores = models.PositiveIntegerField(default=0)
    active_stores = models.PositiveIntegerField(default=0, help_text="Stores with a paid order that day.")
    # Ranked lists and breakdowns: [{"id", "name", "orders", "quantity", "gmv"}], {"source": visitors}, ...
    top_products = models.JSONField(default=list, blank=True)
    top_categories = models.JSONField(default=list, blank=True)
    traffic_sources = models.JSONField(default=dict, blank=True)
    take_by_category = models.JSONField(default=dict, blank=True, help_text="Category id -> minor units.")
    take_by_store = models.JSONField(default=dict, blank=True, help_text="Vendor id -> minor units.")
    no_result_terms = models.JSONField(default=dict, blank=True, help_text="Search term -> count.")

    class Meta:
        abstract = True


class DailyMetrics(MetricsFields):
    """One day's figures of one store, or of the platform (vendor null). Recomputed as a whole."""

    day = models.DateField()
    vendor = models.ForeignKey(
        "vendors.Vendor", null=True, blank=True, on_delete=models.CASCADE, related_name="daily_metrics"
    )
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["day", "vendor_id"]
        verbose_name_plural = "daily metrics"
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "day"], condition=models.Q(vendor__isnull=False), name="analytics_one_store_day"
            ),
            models.UniqueConstraint(
                fields=["day"], condition=models.Q(vendor__isnull=True), name="analytics_one_platform_day"
            ),
        ]
        indexes = [models.Index(fields=["vendor", "day"], name="analytics_metrics_vendor_day")]

    def __str__(self) -> str:
        return f"Figures of {self.vendor_id or 'the platform'} on {self.day}"


class RollupPeriod(models.TextChoices):
    WEEK = "week", "Week (Monday to Sunday)"
    MONTH = "month", "Calendar month"


class PeriodMetrics(MetricsFields):
    """A week's or a month's figures of one store (or the platform, vendor null): the sums of its stored
    days (the ranked lists merged whole, not cut to a top), rebuilt from them whenever one of its days is
    (re)computed, so a year by month reads a dozen rows instead of 365. Reads use a rollup only when the
    whole period is in the range and stored; missing ones are read as days."""

    period = models.CharField(max_length=5, choices=RollupPeriod.choices)
    start = models.DateField(help_text="Monday of the week, or the first of the month.")
    vendor = models.ForeignKey(
        "vendors.Vendor", null=True, blank=True, on_delete=models.CASCADE, related_name="period_metrics"
    )
    days = models.PositiveSmallIntegerField(default=0, help_text="Stored days folded into it.")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["period", "start", "vendor_id"]
        verbose_name_plural = "period metrics"
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "period", "start"], condition=models.Q(vendor__isnull=False),
                name="analytics_one_store_period",
            ),
            models.UniqueConstraint(
                fields=["period", "start"], condition=models.Q(vendor__isnull=True), name="analytics_one_platform_period"
            ),
        ]

    def __str__(self) -> str:
        return f"Figures of {self.vendor_id or 'the platform'} for the {self.period} of {self.start}"
