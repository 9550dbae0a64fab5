from django.contrib import admin

from .models import Channel, Delivery, DeliveryAttempt, Event, WebhookSubscription


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "succeeded", "response_status", "error", "duration_ms", "created_at")


class RecipientFilter(admin.SimpleListFilter):
    title = "recipient"
    parameter_name = "recipient"

    def lookups(self, request, model_admin):
        return [("user", "A user"), ("guest", "A guest's email (no account)"), ("webhook", "A webhook")]

    def queryset(self, request, queryset):
        if self.value() == "user":
            return queryset.filter(channel=Channel.EMAIL, user__isnull=False)
        if self.value() == "guest":
            return queryset.filter(channel=Channel.EMAIL, user__isnull=True)
        if self.value() == "webhook":
            return queryset.filter(channel=Channel.WEBHOOK)
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("pk", "event_name", "channel", "recipient", "language", "status", "attempts", "next_attempt_at",
                    "created_at")
    list_filter = ("channel", RecipientFilter, "status")
    list_select_related = ("event", "user")
    search_fields = ("to",)
    readonly_fields = ("event", "channel", "recipient", "user", "to", "language", "subject", "body", "subscription",
                       "attempts", "sent_at")
    inlines = [DeliveryAttemptInline]

    @admin.display(description="event", ordering="event__name")
    def event_name(self, delivery):
        return delivery.event.name

    @admin.display(description="recipient", ordering="to")
    def recipient(self, delivery):
        """Who it goes to: a user's address, a guest order's address (no account), or a webhook's URL."""
        if delivery.is_guest:
            return f"{delivery.to} (guest, no account)"
        return delivery.to


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("pk", "name", "vendor", "created_at")
    list_filter = ("name",)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("pk", "url", "vendor", "is_active", "created_at")
    exclude = ("secret",)
