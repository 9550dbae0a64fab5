from django.contrib import admin

from .models import Coupon, OrderDiscount, Voucher, VoucherRedemption


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = (
        "pk", "name", "code", "vendor", "kind", "value", "min_spend", "platform_share_percent",
        "used_count", "usage_limit", "starts_at", "ends_at", "is_active",
    )
    list_filter = ("kind", "is_active", "claimable")
    search_fields = ("name", "code", "vendor__name")
    # Products are many: picked by id.
    raw_id_fields = ("vendor", "products")
    filter_horizontal = ("categories", "vendors")
    readonly_fields = ("used_count", "created_at", "updated_at")


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ("pk", "voucher", "user", "claimed_at")
    raw_id_fields = ("voucher", "user")
    search_fields = ("voucher__code", "user__email")


@admin.register(VoucherRedemption)
class VoucherRedemptionAdmin(admin.ModelAdmin):
    list_display = ("pk", "voucher", "user", "email", "checkout_token", "amount", "currency", "created_at")
    search_fields = ("voucher__code", "email")
    readonly_fields = [f.name for f in VoucherRedemption._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OrderDiscount)
class OrderDiscountAdmin(admin.ModelAdmin):
    list_display = ("pk", "order", "order_line", "label", "funder", "target", "amount", "currency")
    list_filter = ("funder", "target")
    readonly_fields = [f.name for f in OrderDiscount._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
