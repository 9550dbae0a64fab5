"""Staff run campaigns here too: the campaign with its enrolments inline (reviewed with the
actions) and the carrier pricing events linked to it (their windows follow the campaign's).
Status changes go through the services' state machines (the actions), never the form."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission, has_permission

from . import services
from .models import Campaign, CampaignEnrolment, CampaignPurchase, CampaignShippingEvent, EnrolmentStatus


class _CampaignStaffOnly:
    def _may(self, request) -> bool:
        return has_permission(request.user, PlatformPermission.REVIEW_LISTINGS)

    def has_module_permission(self, request):
        return self._may(request)

    def has_view_permission(self, request, obj=None):
        return self._may(request)

    def has_change_permission(self, request, obj=None):
        return self._may(request)

    def has_add_permission(self, request, obj=None):
        return self._may(request)

    def has_delete_permission(self, request, obj=None):
        return False


class EnrolmentInline(_CampaignStaffOnly, admin.TabularInline):
    model = CampaignEnrolment
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("vendor", "variant", "price_amount", "regular_amount", "quantity", "sold_count", "status", "reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ShippingEventInline(_CampaignStaffOnly, admin.TabularInline):
    model = CampaignShippingEvent
    extra = 0
    raw_id_fields = ("event",)
    verbose_name = _("linked carrier pricing event")

    def has_delete_permission(self, request, obj=None):
        return self._may(request)


def _each(modeladmin, request, queryset, action, done_message):
    done = 0
    for obj in queryset:
        try:
            action(obj)
            done += 1
        except DomainError as error:
            modeladmin.message_user(request, f"{obj}: {error.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)


@admin.register(Campaign)
class CampaignAdmin(_CampaignStaffOnly, admin.ModelAdmin):
    list_display = ("name", "slug", "status", "starts_at", "ends_at", "enrolment_deadline", "min_discount_percent")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("categories",)
    readonly_fields = ("status", "created_by", "created_at", "updated_at")
    inlines = [ShippingEventInline, EnrolmentInline]
    actions = ["open_selected", "cancel_selected"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.sync_shipping_events(form.instance)  # linked events follow the campaign's window

    @admin.action(description=_("Open selected campaigns for enrolment"))
    def open_selected(self, request, queryset):
        _each(self, request, queryset, lambda c: services.campaign_open(actor=request.user, campaign_id=c.pk),
              "Opened %(count)d.")

    @admin.action(description=_("Cancel selected campaigns"))
    def cancel_selected(self, request, queryset):
        _each(self, request, queryset, lambda c: services.campaign_cancel(actor=request.user, campaign_id=c.pk),
              "Cancelled %(count)d.")


@admin.register(CampaignEnrolment)
class CampaignEnrolmentAdmin(_CampaignStaffOnly, admin.ModelAdmin):
    """The review queue: pending enrolments first; approve or reject with the actions."""

    list_display = ("pk", "campaign", "vendor", "variant", "price_amount", "regular_amount", "quantity", "sold_count",
                    "status", "created_at")
    list_filter = ("status", "campaign")
    list_select_related = ("campaign", "vendor", "variant")
    search_fields = ("vendor__name", "variant__sku", "campaign__name")
    readonly_fields = [f.name for f in CampaignEnrolment._meta.fields]
    actions = ["approve_selected", "reject_selected"]

    def get_ordering(self, request):
        return ("status", "created_at", "id")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Approve selected enrolments"))
    def approve_selected(self, request, queryset):
        _each(self, request, queryset.filter(status=EnrolmentStatus.PENDING),
              lambda e: services.enrolment_approve(actor=request.user, enrolment_id=e.pk), "Approved %(count)d.")

    @admin.action(description=_("Reject selected enrolments (the price or product does not fit the campaign)"))
    def reject_selected(self, request, queryset):
        reason = str(_("The price or product does not fit the campaign."))
        _each(self, request, queryset.filter(status=EnrolmentStatus.PENDING),
              lambda e: services.enrolment_reject(actor=request.user, enrolment_id=e.pk, reason=reason),
              "Rejected %(count)d.")


@admin.register(CampaignPurchase)
class CampaignPurchaseAdmin(_CampaignStaffOnly, admin.ModelAdmin):
    list_display = ("pk", "enrolment", "order", "quantity", "created_at", "released_at")
    readonly_fields = [f.name for f in CampaignPurchase._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
