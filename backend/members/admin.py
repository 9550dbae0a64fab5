from django.conf import settings
from django.contrib import admin

from backend.core.admin import money_column, money_text

from .models import Member, PointsEntry, Tier

points_value = money_column("value_amount", description="value")


def _spend(member) -> str:
    return money_text(member.tier_spend, settings.DEFAULT_CURRENCY)


_spend.short_description = "spend over the window"


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ("pk", "name", "min_spend", "currency", "discount_percent", "free_shipping_threshold", "points_multiplier")
    ordering = ("min_spend",)


class PointsEntryInline(admin.TabularInline):
    model = PointsEntry
    fields = ("created_at", "kind", "points", "balance_after", points_value, "order", "remaining", "expires_at", "reason",
              "created_by")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "created_by")


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    """Staff see a shopper's points and tier; points move only through the services (orders, and
    staff adjustments through the core API's memberPointsAdjust)."""

    list_display = ("pk", "user", "points_balance", "tier", _spend, "tier_checked_at")
    list_filter = ("tier",)
    search_fields = ("user__email",)
    raw_id_fields = ("user",)
    readonly_fields = ("user", "points_balance", "tier", _spend, "tier_checked_at", "created_at")
    fields = readonly_fields
    inlines = [PointsEntryInline]

    def has_add_permission(self, request):
        return False


@admin.register(PointsEntry)
class PointsEntryAdmin(admin.ModelAdmin):
    list_display = ("pk", "member", "kind", "points", "balance_after", points_value, "order", "reason", "created_at")
    list_filter = ("kind",)
    search_fields = ("member__user__email", "key")
    readonly_fields = [f.name for f in PointsEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
