"""Staff configure carriers' zones, tables, pricing rules and quotas here."""

from django.contrib import admin

from . import models


@admin.register(models.Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "local_name", "kind", "parent", "is_remote")
    list_filter = ("kind", "is_remote")
    list_editable = ("is_remote",)
    search_fields = ("code", "name", "local_name")


@admin.register(models.ZoneAssignment)
class ZoneAssignmentAdmin(admin.ModelAdmin):
    list_display = ("origin", "destination", "zone")
    list_filter = ("origin", "zone")
    list_editable = ("zone",)
    list_select_related = ("origin", "destination")


class ZoneRateInline(admin.TabularInline):
    model = models.ZoneRate
    extra = 0


@admin.register(models.ShippingService)
class ShippingServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "carrier_id", "code", "pricing", "time_guaranteed", "weight_step", "active")
    list_filter = ("carrier_id", "pricing", "active")
    search_fields = ("name", "code", "carrier_id")
    inlines = [ZoneRateInline]
    fieldsets = (
        (None, {"fields": ("carrier_id", "code", "name", "description", "active", "position")}),
        ("Pricing", {"fields": ("pricing", "currency", "flat_price", "flat_promised_days", "remote_area_surcharge")}),
        ("Weight", {"fields": ("weight_step", "first_weight", "volumetric_divisor", "heavy_threshold", "heavy_rule", "max_weight")}),
        ("Promise", {"fields": ("time_guaranteed",)}),
    )


@admin.register(models.PricingEvent)
class PricingEventAdmin(admin.ModelAdmin):
    list_display = ("name", "carrier_id", "service_code", "starts_at", "ends_at", "percent_change", "extra_days", "active")
    list_filter = ("carrier_id", "active")


@admin.register(models.NegotiatedRate)
class NegotiatedRateAdmin(admin.ModelAdmin):
    list_display = ("vendor", "carrier_id", "service_code", "discount_percent", "valid_from", "valid_until", "active")
    list_filter = ("carrier_id", "active")
    raw_id_fields = ("vendor",)
    list_select_related = ("vendor",)


class QuotaUsageInline(admin.TabularInline):
    model = models.CarrierQuotaUsage
    extra = 0
    readonly_fields = ("day", "used")
    can_delete = False
    ordering = ("-day",)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.CarrierQuota)
class CarrierQuotaAdmin(admin.ModelAdmin):
    list_display = ("carrier_id", "origin", "daily_limit", "when_exhausted")
    list_filter = ("carrier_id", "when_exhausted")
    list_select_related = ("origin",)
    inlines = [QuotaUsageInline]


class TrackingEventInline(admin.TabularInline):
    model = models.TrackingEvent
    extra = 0
    can_delete = False
    fields = ("occurred_at", "status", "carrier_status", "location", "description", "applied", "event_id", "received_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    """Shipments change through carriers and services only; the admin shows them."""

    list_display = ("tracking_number", "carrier_id", "service_code", "vendor", "reference", "status", "time_guaranteed", "created_at")
    list_filter = ("carrier_id", "status", "time_guaranteed")
    search_fields = ("tracking_number", "reference", "vendor__name")
    list_select_related = ("vendor",)
    inlines = [TrackingEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
