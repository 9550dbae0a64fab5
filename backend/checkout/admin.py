from django.contrib import admin

from backend.core.admin import ReadOnlyAdmin, money_column

from .models import Checkout, CheckoutLine, CheckoutPaymentAttempt, CheckoutShippingMethod
from .reservations import StockReservation
from .sessions import PaymentSession


class CheckoutLineInline(admin.TabularInline):
    model = CheckoutLine
    extra = 0
    raw_id_fields = ("variant",)


class CheckoutShippingMethodInline(admin.TabularInline):
    model = CheckoutShippingMethod
    extra = 0
    raw_id_fields = ("vendor",)


class CheckoutPaymentAttemptInline(admin.TabularInline):
    model = CheckoutPaymentAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("gateway", "idempotency_key", "error_code", "message", "retry_same_key", "created_at")


@admin.register(Checkout)
class CheckoutAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "email", "shipping_region", "completed_at", "updated_at")
    list_filter = ("completed_at",)
    search_fields = ("id", "email")
    raw_id_fields = ("user", "payment")
    inlines = [CheckoutLineInline, CheckoutShippingMethodInline, CheckoutPaymentAttemptInline]


class StockReservationInline(admin.TabularInline):
    model = StockReservation
    extra = 0
    can_delete = False
    readonly_fields = ("variant", "quantity", "expires_at", "created_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PaymentSession)
class PaymentSessionAdmin(ReadOnlyAdmin):
    """Payment sessions are written by the checkout services only; staff see their state and last error."""

    money_fields = {"amount": "currency"}
    list_display = ("reference", "created_at", "gateway", money_column("amount"), "state", "psp_reference", "expires_at")
    list_filter = ("state", "gateway")
    search_fields = ("reference", "psp_reference", "checkout__id")
    inlines = [StockReservationInline]
