from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone

from backend.core.admin import ReadOnlyAdmin, money_column
from backend.core.exceptions import DomainError

from . import fees
from .error_codes import FinanceErrorCode
from .models import (
    FeePeriod,
    FeePlan,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payout,
    VendorClosure,
    VendorCommissionOverride,
    VendorRestriction,
)


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("code", "kind", "currency", "entries_balance", "vendor", "user", "non_negative")
    list_filter = ("kind", "currency")
    search_fields = ("code",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entries_total=Sum("entries__amount"))

    @admin.display(description="balance (minor units, sum of entries)")
    def entries_balance(self, obj):
        # Hot accounts hold no cached balance; the entries' sum is right for every account.
        return obj.entries_total or 0


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
    list_display = ("id", "transaction", "account", money_column("amount"))
    list_select_related = ("transaction", "account")
    search_fields = ("account__code", "transaction__idempotency_key")


# --- Fees, deposits, payouts -------------------------------------------------------------------

class FeePlanForm(forms.ModelForm):
    class Meta:
        model = FeePlan
        fields = ("category", "effective_from", "annual_fee", "commission_rate", "deposit_amount", "rebate_rules")

    def clean(self):
        cleaned = super().clean()
        try:
            if cleaned.get("effective_from") and cleaned["effective_from"] < timezone.now():
                raise DomainError(FinanceErrorCode.INVALID, "A plan takes effect now or later.", "effective_from")
            if cleaned.get("commission_rate") is not None:
                cleaned["commission_rate"] = fees.clean_rate(cleaned["commission_rate"])
            cleaned["rebate_rules"] = fees.clean_rebate_rules(cleaned.get("rebate_rules") or [])
        except DomainError as error:
            raise ValidationError(error.message) from error
        return cleaned


@admin.register(FeePlan)
class FeePlanAdmin(admin.ModelAdmin):
    """Staff add plans here as through categoryFeePlanUpdate; a plan is never changed or deleted."""

    form = FeePlanForm
    list_display = ("category", "effective_from", "annual_fee", "commission_rate", "deposit_amount", "created_by")
    list_filter = ("category",)
    list_select_related = ("category", "created_by")
    date_hierarchy = "effective_from"

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = fees.category_fee_plan_update(
            actor=request.user,
            category=data["category"],
            annual_fee=data["annual_fee"],
            commission_rate=data["commission_rate"],
            deposit_amount=data["deposit_amount"],
            rebate_rules=data["rebate_rules"],
            effective_from=data["effective_from"],
        )
        obj.pk = saved.pk


@admin.register(VendorCommissionOverride)
class VendorCommissionOverrideAdmin(ReadOnlyAdmin):
    list_display = ("vendor", "category", "rate", "effective_from", "created_by")
    list_select_related = ("vendor", "category", "created_by")


@admin.register(FeePeriod)
class FeePeriodAdmin(ReadOnlyAdmin):
    list_display = (
        "vendor", "starts_at", "ends_at", money_column("paid_amount", None), money_column("sales_amount", None),
        money_column("rebate_amount", None), "rebated_at",
    )
    list_select_related = ("vendor",)


@admin.register(VendorRestriction)
class VendorRestrictionAdmin(ReadOnlyAdmin):
    list_display = ("vendor", "status", "reasons", "started_at", "deadline", "suspended_at", "lifted_at")
    list_filter = ("status",)
    list_select_related = ("vendor",)


@admin.register(VendorClosure)
class VendorClosureAdmin(ReadOnlyAdmin):
    list_display = ("vendor", "status", "requested_at", "deposit_release_after", "deposit_returned", "settled_at")
    list_filter = ("status",)
    list_select_related = ("vendor",)


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "vendor", money_column("amount"), "trigger", "status", "requested_by")
    list_filter = ("trigger",)
    list_select_related = ("vendor", "transfer", "requested_by")
