from django.contrib import admin

from .models import Delivery, DeliveryAttempt, Event, WebhookSubscription


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "succeeded", "response_status", "error", "duration_ms", "created_at")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("pk", "channel", "to", "status", "attempts", "next_attempt_at", "created_at")
    list_filter = ("channel", "status")
    readonly_fields = ("event", "channel", "user", "to", "subject", "body", "subscription", "attempts", "sent_at")
    inlines = [DeliveryAttemptInline]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("pk", "name", "vendor", "created_at")
    list_filter = ("name",)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("pk", "url", "vendor", "is_active", "created_at")
    exclude = ("secret",)
