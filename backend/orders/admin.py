from django.contrib import admin

from .models import Order, OrderLine, OrderRefund, VendorShippingOrigin


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = (
        "product_name", "variant_sku", "quantity", "unit_price_amount", "currency", "commission_rate", "weight_kg",
    )
    exclude = ("variant", "product", "category", "variant_attributes")


class OrderRefundInline(admin.TabularInline):
    """Money given back on the order (cancellations, disputes): made only through order_refund."""

    model = OrderRefund
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "created_at", "amount", "currency", "after_release", "commission_returned_amount", "reason", "actor",
        "idempotency_key",
    )

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: orders change only through the services (shipping, cancelling, confirming)."""

    list_display = ("id", "vendor", "email", "status", "total_amount", "currency", "release_frozen", "created_at")
    list_filter = ("status", "release_frozen")
    search_fields = ("id", "email", "vendor__name")
    inlines = [OrderLineInline, OrderRefundInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(VendorShippingOrigin)
class VendorShippingOriginAdmin(admin.ModelAdmin):
    list_display = ("vendor", "region_code", "updated_at")
    search_fields = ("vendor__name", "region_code")
