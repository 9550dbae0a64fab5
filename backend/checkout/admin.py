from django.contrib import admin

from .models import Checkout, CheckoutLine, CheckoutPaymentAttempt, CheckoutShippingMethod


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
