from django import forms
from django.contrib import admin, messages

from backend.core.admin import ReadOnlyAdmin, money_column
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission, has_permission

from .models import Payment, ReconciliationMismatch, Refund, Transfer, VendorGatewayAccount, WebhookEvent
from .reconciliation import mismatch_review


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    money_fields = {"amount": "currency", "captured_amount": "currency", "refunded_amount": "currency"}
    list_display = ("id", "created_at", "gateway", "purpose", money_column("amount"), "status", "psp_reference")
    list_filter = ("status", "gateway", "purpose")
    search_fields = ("psp_reference", "idempotency_key", "customer_email")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    money_fields = {"amount": "currency"}
    list_display = ("id", "created_at", "payment", money_column("amount"), "status", "psp_reference")
    list_filter = ("status",)


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    money_fields = {"amount": "currency"}
    list_display = ("id", "created_at", "vendor", "gateway", money_column("amount"), "status", "psp_reference")
    list_filter = ("status", "gateway")


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "gateway", "event_id", "type")
    list_filter = ("gateway", "type")


@admin.register(VendorGatewayAccount)
class VendorGatewayAccountAdmin(admin.ModelAdmin):
    """Staff record where each vendor is paid out."""

    list_display = ("vendor", "gateway", "account_id", "created_at")
    list_filter = ("gateway",)
    search_fields = ("account_id", "vendor__name")


class MismatchReviewForm(forms.ModelForm):
    review_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), help_text="What was found or done; saving marks it reviewed."
    )

    class Meta:
        model = ReconciliationMismatch
        fields = ("review_note",)


@admin.register(ReconciliationMismatch)
class ReconciliationMismatchAdmin(ReadOnlyAdmin):
    """What the daily reconciliation found. Read-only, except the finance staff's review note:
    saving a note marks the mismatch reviewed (by whom, when). Nothing here moves money."""

    view_permission = PlatformPermission.MANAGE_FINANCE
    form = MismatchReviewForm
    money_fields = {"our_amount": "our_currency", "gateway_amount": "gateway_currency"}
    list_display = (
        "day",
        "gateway",
        "kind",
        "psp_reference",
        "problem",
        money_column("our_amount", "our_currency", "ours"),
        money_column("gateway_amount", "gateway_currency", "gateway's"),
        "our_status",
        "gateway_status",
        "reviewed_at",
    )
    list_filter = ("gateway", "problem", "kind", ("reviewed_at", admin.EmptyFieldListFilter), "day")
    search_fields = ("psp_reference",)
    date_hierarchy = "day"
    fields = (
        "day", "gateway", "kind", "psp_reference", "problem", "payment", "refund", "transfer",
        "our_amount", "our_status", "gateway_amount", "gateway_status", "gateway_record",
        "detected_at", "last_seen_at", "reviewed_at", "reviewed_by", "review_note",
    )

    def get_readonly_fields(self, request, obj=None):
        return [name for name in (*self.fields, *super().get_readonly_fields(request, obj)) if name != "review_note"]

    def has_change_permission(self, request, obj=None):
        return has_permission(request.user, PlatformPermission.MANAGE_FINANCE)

    def save_model(self, request, obj, form, change):
        try:
            mismatch_review(mismatch=obj, user=request.user, note=form.cleaned_data.get("review_note", ""))
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
