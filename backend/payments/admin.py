from django.contrib import admin

from backend.core.admin import ReadOnlyAdmin, money_column

from .models import Payment, Refund, Transfer, VendorGatewayAccount, WebhookEvent


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
