from django.contrib import admin

from .models import LedgerAccount, LedgerEntry, LedgerTransaction


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger is written only by services; the admin shows it."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "currency", "balance", "vendor", "user", "non_negative")
    list_filter = ("kind", "currency")
    search_fields = ("code",)


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ("account", "amount", "currency")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "idempotency_key", "reference_type", "reference_id", "description")
    list_filter = ("kind",)
    search_fields = ("idempotency_key", "reference_id", "description")
    date_hierarchy = "created_at"
    inlines = [LedgerEntryInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "transaction", "account", "amount", "currency")
    list_select_related = ("transaction", "account")
    search_fields = ("account__code", "transaction__idempotency_key")
