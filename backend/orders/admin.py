from django.contrib import admin

from backend.core.admin import ReadOnlyAdmin, money_column

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
class OrderAdmin(ReadOnlyAdmin):
    """Read-only (no add form either): orders are made by checkouts and change only through the
    services (shipping, cancelling, confirming)."""

    money_fields = {
        "subtotal_amount": "currency", "shipping_amount": "currency", "total_amount": "currency",
        "refunded_amount": "currency", "commission_amount": "currency",
    }

    list_display = ("id", "vendor", "email", "status", money_column("total_amount", description="total"), "release_frozen", "created_at")
    list_filter = ("status", "release_frozen")
    search_fields = ("id", "email", "vendor__name")
    inlines = [OrderLineInline, OrderRefundInline]


@admin.register(VendorShippingOrigin)
class VendorShippingOriginAdmin(admin.ModelAdmin):
    list_display = ("vendor", "region_code", "updated_at")
    search_fields = ("vendor__name", "region_code")
