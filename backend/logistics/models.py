"""Regions and zones, carrier tariffs, pricing rules, quotas, shipments and their timelines.

Everything a table-rate carrier prices with is data here, edited by staff in the admin.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from backend.core.money import Money

KG = {"max_digits": 9, "decimal_places": 3}
AMOUNT = {"max_digits": 12, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2}


class RegionKind(models.TextChoices):
    PROVINCE = "province", "Province or autonomous region"
    MUNICIPALITY = "municipality", "Municipality (province-level city)"
    CITY = "city", "City"


class Region(models.Model):
    """A province-level region or a city, by its GB/T 2260 code."""

    code = models.CharField(max_length=12, unique=True)
    name = models.CharField(max_length=64)
    local_name = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16, choices=RegionKind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="cities",
        help_text="The province of a city; empty for province-level regions.",
    )
    is_remote = models.BooleanField(default=False, help_text="Remote-area surcharges apply to deliveries here.")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def province(self) -> Region:
        return self.parent if self.parent_id else self


class Zone(models.TextChoices):
    SAME_CITY = "same_city", "Same city"
    SAME_PROVINCE = "same_province", "Same province"
    ZONE_1 = "zone_1", "Zone 1"
    ZONE_2 = "zone_2", "Zone 2"
    ZONE_3 = "zone_3", "Zone 3"
    ZONE_4 = "zone_4", "Zone 4"
    ZONE_5 = "zone_5", "Zone 5"


DISTANCE_ZONES = [(value, label) for value, label in Zone.choices if value.startswith("zone_")]


class ZoneAssignment(models.Model):
    """The zone matrix: from an origin province, which zone each other province is in."""

    origin = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="zone_assignments")
    destination = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")
    zone = models.CharField(max_length=16, choices=DISTANCE_ZONES)

    class Meta:
        ordering = ["origin__code", "zone", "destination__code"]
        constraints = [models.UniqueConstraint(fields=["origin", "destination"], name="one_zone_per_route")]

    def __str__(self) -> str:
        return f"{self.origin.name} -> {self.destination.name}: {self.get_zone_display()}"


class PricingKind(models.TextChoices):
    TABLE = "table", "Zone and weight table"
    FLAT = "flat", "Flat price per parcel"


class HeavyParcelRule(models.TextChoices):
    OWN_PRICE = "own_price", "Heavy kilograms at the zone's heavy price"
    NOT_SERVED = "not_served", "Heavy parcels are not served"


class ShippingService(models.Model):
    """A service of a table-rate carrier (a plugin), priced from its ZoneRate rows."""

    carrier_id = models.CharField(max_length=128, db_index=True, help_text="The carrier plugin's identifier.")
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=128)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    pricing = models.CharField(max_length=8, choices=PricingKind.choices, default=PricingKind.TABLE)
    time_guaranteed = models.BooleanField(default=False, help_text="The promised days are guaranteed.")
    currency = models.CharField(max_length=3, default=settings.DEFAULT_CURRENCY)
    weight_step = models.DecimalField(
        max_digits=4, decimal_places=2, default=Decimal("1.00"),
        choices=[(Decimal("0.50"), "0.5 kg"), (Decimal("1.00"), "1 kg")],
        help_text="Chargeable weight is rounded up to a multiple of this.",
    )
    first_weight = models.DecimalField(**KG, default=Decimal("1.000"), help_text="Kilograms the first-weight price covers.")
    volumetric_divisor = models.PositiveIntegerField(
        null=True, blank=True, help_text="cm³ per kg; volumetric weight = L×W×H / divisor. Empty: not used."
    )
    heavy_threshold = models.DecimalField(**KG, default=Decimal("20.000"), help_text="Parcels above this are heavy.")
    heavy_rule = models.CharField(max_length=16, choices=HeavyParcelRule.choices, default=HeavyParcelRule.OWN_PRICE)
    max_weight = models.DecimalField(**KG, null=True, blank=True, help_text="Heaviest chargeable parcel served.")
    flat_price = models.DecimalField(**AMOUNT, null=True, blank=True, help_text="Price per parcel of a flat service.")
    flat_promised_days = models.PositiveSmallIntegerField(null=True, blank=True)
    remote_area_surcharge = models.DecimalField(
        **AMOUNT, default=Decimal("0.00"), help_text="Added per parcel delivered to a remote region."
    )

    class Meta:
        ordering = ["carrier_id", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["carrier_id", "code"], name="unique_service_per_carrier")]

    def __str__(self) -> str:
        return f"{self.name} ({self.carrier_id}:{self.code})"


class ZoneRate(models.Model):
    """First-weight and additional-weight prices of one service in one zone."""

    service = models.ForeignKey(ShippingService, on_delete=models.CASCADE, related_name="rates")
    zone = models.CharField(max_length=16, choices=Zone.choices)
    first_weight_price = models.DecimalField(**AMOUNT)
    additional_weight_price = models.DecimalField(**AMOUNT, help_text="Per kg beyond the first weight.")
    heavy_additional_weight_price = models.DecimalField(
        **AMOUNT, null=True, blank=True, help_text="Per kg beyond the heavy threshold (heavy rule 'own price')."
    )
    promised_days = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["service", "zone"]
        constraints = [models.UniqueConstraint(fields=["service", "zone"], name="one_rate_per_zone")]

    def __str__(self) -> str:
        return f"{self.service.code} {self.zone}: {self.first_weight_price} + {self.additional_weight_price}/kg"


class PricingEvent(models.Model):
    """A price change for a date window (for example the 11.11 sale), for any carrier."""

    name = models.CharField(max_length=128)
    carrier_id = models.CharField(max_length=128, db_index=True)
    service_code = models.CharField(max_length=64, blank=True, help_text="Empty: every service of the carrier.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    percent_change = models.DecimalField(
        **PERCENT, validators=[MinValueValidator(Decimal("-100"))],
        help_text="+20 raises prices by 20%, -10 lowers them by 10%.",
    )
    extra_days = models.PositiveSmallIntegerField(default=0, help_text="Added to promised delivery days.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="event_window_order")]

    def __str__(self) -> str:
        return f"{self.name} ({self.carrier_id} {self.percent_change:+}%)"


class NegotiatedRate(models.Model):
    """A discount a vendor negotiated with a carrier."""

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.CASCADE, related_name="negotiated_shipping_rates")
    carrier_id = models.CharField(max_length=128)
    service_code = models.CharField(max_length=64, blank=True, help_text="Empty: every service of the carrier.")
    discount_percent = models.DecimalField(
        **PERCENT, validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))]
    )
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["vendor", "carrier_id", "service_code"]

    def __str__(self) -> str:
        return f"{self.vendor}: {self.discount_percent}% off {self.carrier_id} {self.service_code or '(all)'}"


class QuotaExhaustedPolicy(models.TextChoices):
    DROP_GUARANTEE = "drop_guarantee", "Still offered, without time guarantee"
    HIDE_SERVICE = "hide_service", "Not offered"


class CarrierQuota(models.Model):
    """Peak-season capacity: shipments a carrier takes per day from one origin province."""

    carrier_id = models.CharField(max_length=128)
    origin = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")
    daily_limit = models.PositiveIntegerField()
    when_exhausted = models.CharField(
        max_length=16, choices=QuotaExhaustedPolicy.choices, default=QuotaExhaustedPolicy.DROP_GUARANTEE
    )

    class Meta:
        ordering = ["carrier_id", "origin__code"]
        constraints = [models.UniqueConstraint(fields=["carrier_id", "origin"], name="one_quota_per_origin")]

    def __str__(self) -> str:
        return f"{self.carrier_id} from {self.origin.name}: {self.daily_limit}/day"


class CarrierQuotaUsage(models.Model):
    """How much of a quota one day used; counted with a conditional UPDATE."""

    quota = models.ForeignKey(CarrierQuota, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["quota", "day"], name="one_usage_per_day")]

    def __str__(self) -> str:
        return f"{self.quota} on {self.day}: {self.used}"


class ShipmentStatus(models.TextChoices):
    # Claimed and being booked with the carrier (no tracking number yet): see services.shipment_create.
    BOOKING = "booking", "Being booked with the carrier"
    INFO_RECEIVED = "info_received", "Information received"
    PICKED_UP = "picked_up", "Picked up"
    IN_TRANSIT = "in_transit", "In transit"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    EXCEPTION = "exception", "Exception"
    RETURNED = "returned", "Returned to sender"
    CANCELLED = "cancelled", "Cancelled"


class Shipment(models.Model):
    """A package booked with a carrier: tracking number, label, price, status and timeline."""

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.PROTECT, related_name="shipments")
    reference = models.CharField(max_length=128, blank=True, db_index=True, help_text="The caller's key (order id).")
    idempotency_key = models.CharField(max_length=128, blank=True)
    carrier_id = models.CharField(max_length=128)
    service_code = models.CharField(max_length=64)
    service_name = models.CharField(max_length=128, blank=True)
    origin_code = models.CharField(max_length=12)
    destination_code = models.CharField(max_length=12)
    weight = models.DecimalField(**KG, help_text="Actual weight of all parcels, kg.")
    chargeable_weight = models.DecimalField(**KG, null=True, blank=True)
    parcels = models.JSONField(default=list, help_text="Weight (kg) and dimensions (cm) of each parcel.")
    price_amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    promised_days = models.PositiveSmallIntegerField()
    time_guaranteed = models.BooleanField(default=False)
    quota_usage = models.ForeignKey(
        CarrierQuotaUsage, null=True, blank=True, on_delete=models.SET_NULL, related_name="shipments",
        help_text="The day's quota this shipment was counted against.",
    )
    tracking_number = models.CharField(max_length=64, blank=True, help_text="Empty while BOOKING.")
    carrier_reference = models.CharField(max_length=128, blank=True)
    label_data = models.JSONField(default=dict, blank=True)
    carrier_call_started_at = models.DateTimeField(
        null=True, blank=True,
        help_text="An attempt is calling the carrier about this shipment (booking or cancelling) since then.",
    )
    booking_error = models.CharField(max_length=255, blank=True, help_text="Why the last booking attempt failed.")
    status = models.CharField(
        max_length=32, choices=ShipmentStatus.choices, default=ShipmentStatus.INFO_RECEIVED, db_index=True
    )
    last_event_at = models.DateTimeField(null=True, blank=True, help_text="Time of the newest applied event.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier_id", "tracking_number"], condition=~models.Q(tracking_number=""),
                name="unique_tracking_number",
            ),
            models.UniqueConstraint(
                fields=["carrier_id", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_shipment_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier_id} {self.tracking_number} ({self.status})"

    @property
    def price(self) -> Money:
        return Money(self.price_amount, self.currency)


class TrackingEvent(models.Model):
    """One entry of a shipment's timeline, as the carrier reported it."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    carrier_id = models.CharField(max_length=128)
    event_id = models.CharField(max_length=128)
    status = models.CharField(max_length=32, choices=ShipmentStatus.choices)
    carrier_status = models.CharField(max_length=64, blank=True)
    occurred_at = models.DateTimeField()
    location = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True)
    applied = models.BooleanField(
        default=False, help_text="Whether it set the shipment's status (older or impossible events do not)."
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [models.UniqueConstraint(fields=["carrier_id", "event_id"], name="unique_carrier_event")]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.status} at {self.occurred_at:%Y-%m-%d %H:%M}"


class CarrierDataVersion(models.Model):
    """One row whose counter moves on every change of what carriers' quotes are computed from:
    regions, zones, services and their rates, pricing events, negotiated rates, quotas and the
    carrier plugins' settings. A shipping quote stored on a checkout names the version it was
    computed under, and is reused at completion only while the version is the same
    (backend.logistics.versions)."""

    version = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "carrier data version"

    def __str__(self) -> str:
        return f"carrier data v{self.version}"
