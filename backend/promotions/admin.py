from django.contrib import admin

from .models import (
    Coupon, FlashSale, FlashSalePurchase, Group, GroupDeal, GroupMember, OrderDiscount, Voucher, VoucherRedemption,
)


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
    list_display = ("pk", "order", "order_line", "label", "source", "funder", "target", "amount", "currency")
    list_filter = ("funder", "target")
    readonly_fields = [f.name for f in OrderDiscount._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FlashSale)
class FlashSaleAdmin(admin.ModelAdmin):
    """Flash sales are the stores' own prices: staff look them up and may end one (isActive)."""

    list_display = (
        "pk", "vendor", "variant", "name", "price_amount", "currency", "quantity", "sold_count", "per_shopper_limit",
        "starts_at", "ends_at", "is_active",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "vendor__name", "variant__sku")
    raw_id_fields = ("vendor", "variant")
    readonly_fields = ("vendor", "variant", "price_amount", "currency", "quantity", "sold_count", "per_shopper_limit",
                       "starts_at", "ends_at", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False


@admin.register(FlashSalePurchase)
class FlashSalePurchaseAdmin(admin.ModelAdmin):
    list_display = ("pk", "flash_sale", "order", "user", "email", "quantity", "created_at", "released_at")
    search_fields = ("email", "flash_sale__variant__sku")
    readonly_fields = [f.name for f in FlashSalePurchase._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GroupDeal)
class GroupDealAdmin(admin.ModelAdmin):
    """Group deals are the stores' own prices: staff look them up and may end one (isActive)."""

    list_display = (
        "pk", "vendor", "variant", "name", "price_amount", "currency", "group_size", "window_hours", "per_shopper_limit",
        "starts_at", "ends_at", "is_active",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "vendor__name", "variant__sku")
    raw_id_fields = ("vendor", "variant")
    readonly_fields = ("vendor", "variant", "price_amount", "currency", "group_size", "window_hours",
                       "per_shopper_limit", "starts_at", "ends_at", "created_at", "updated_at")

    def has_add_permission(self, request):
        return False


class GroupMemberInline(admin.TabularInline):
    model = GroupMember
    fields = ("order", "user", "email", "quantity", "joined_at", "left_at", "settled_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    """Groups move only through group buying's services (filled by payments, failed by the periodic work)."""

    list_display = ("pk", "deal", "status", "expires_at", "filled_at", "failed_at", "settled_at", "created_at")
    list_filter = ("status",)
    search_fields = ("deal__name", "deal__variant__sku")
    readonly_fields = [f.name for f in Group._meta.fields]
    inlines = [GroupMemberInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
