"""The staff console for merchant onboarding and stores.

Everything here is read-only except the decisions, and every decision calls the
same service function as the API, so the rules and the audit log are the same.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from backend.core.admin import ReadOnlyAdmin, render_audit_trail
from backend.core.exceptions import DomainError
from backend.core.permissions import PlatformPermission, has_permission

from . import services
from .files import document_link_path
from .models import ApplicationDocument, ApplicationStatus, Vendor, VendorApplication, VendorStaff


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}))

    def __init__(self, *args, label: str = "Reason", required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = label
        self.fields["reason"].required = required


class ManageVendorsAdmin(ReadOnlyAdmin):
    """Visible to staff holding MANAGE_VENDORS; changes only through the decision actions."""

    view_permission = PlatformPermission.MANAGE_VENDORS

    def has_manage_vendors_permission(self, request):
        return self.has_view_permission(request)

    def run(self, request, objects, call: Callable, done: str) -> int:
        """Call a service for each object; a refusal becomes an error message, not a crash."""
        succeeded = 0
        for obj in objects:
            try:
                call(obj)
            except DomainError as error:
                self.message_user(request, f"{obj}: {error.message}", messages.ERROR)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, f"{done}: {succeeded}.", messages.SUCCESS)
        return succeeded

    def reason_action(
        self, request, queryset, *, action: str, title: str, label: str, required: bool, call: Callable, done: str
    ):
        """An action that first asks for a reason on an intermediate page."""
        if "apply" in request.POST:
            form = ReasonForm(request.POST, label=label, required=required)
            if form.is_valid():
                reason = form.cleaned_data["reason"]
                self.run(request, queryset, lambda obj: call(obj, reason), done)
                return None
        else:
            form = ReasonForm(label=label, required=required)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "objects": queryset,
            "action": action,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/vendors/reason_form.html", context)


class ApplicationDocumentInline(admin.TabularInline):
    model = ApplicationDocument
    fields = ("document_type", "preview", "content_type", "size", "uploaded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return has_permission(request.user, PlatformPermission.MANAGE_VENDORS)

    @admin.display(description="Document")
    def preview(self, document):
        url = document_link_path(document)
        if document.is_image:
            return format_html(
                '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" '
                'style="max-width:240px;max-height:180px;border:1px solid #ccc"></a>',
                url,
                url,
                document.get_document_type_display(),
            )
        return format_html('<a href="{}" target="_blank" rel="noopener">Open PDF</a>', url)


DECISIONS = {
    # name: (title, form label or None when no text is asked for, message when done)
    "approve": ("Approve the application", None, "Approved"),
    "reject": ("Reject the application", "Reason (shown to the applicant)", "Rejected"),
    "request-info": ("Ask the applicant for more information", "Message to the applicant", "Information requested"),
}


@admin.register(VendorApplication)
class VendorApplicationAdmin(ManageVendorsAdmin):
    list_display = ("store_name", "applicant", "status", "submitted_at", "decided_at")  # fits 1366 px
    list_filter = ("status",)
    search_fields = ("store_name", "company_name", "contact_email", "applicant__email")
    list_select_related = ("applicant", "decided_by")
    fields = (
        "status",
        "applicant",
        "store_name",
        "company_name",
        "contact_email",
        "contact_phone",
        "description",
        "categories",
        "submitted_at",
        "decision_reason",
        "decided_by",
        "decided_at",
        "vendor_link",
        "audit",
    )
    readonly_fields = fields
    inlines = [ApplicationDocumentInline]
    actions = ["approve_selected", "reject_selected"]

    def get_ordering(self, request):
        # The queue: waiting applications first, then those waiting on the applicant, oldest first.
        queue = Case(
            When(status=ApplicationStatus.SUBMITTED, then=Value(0)),
            When(status=ApplicationStatus.INFO_REQUESTED, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        return [queue.asc(), "submitted_at", "id"]

    @admin.display(description="Store")
    def vendor_link(self, application):
        vendor = getattr(application, "vendor", None)
        if vendor is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:vendors_vendor_change", args=[vendor.pk]), vendor)

    @admin.display(description="Audit log")
    def audit(self, application):
        return render_audit_trail(application)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/decide/<str:decision>/",
                self.admin_site.admin_view(self.decide_view),
                name="vendors_vendorapplication_decide",
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None and obj.status == ApplicationStatus.SUBMITTED and self.has_manage_vendors_permission(request):
            context["decisions"] = [
                (reverse("admin:vendors_vendorapplication_decide", args=[obj.pk, name]), title)
                for name, (title, _label, _done) in DECISIONS.items()
            ]
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def decide_view(self, request, object_id, decision):
        if decision not in DECISIONS or not self.has_manage_vendors_permission(request):
            return HttpResponseRedirect(reverse("admin:vendors_vendorapplication_changelist"))
        application = get_object_or_404(VendorApplication, pk=object_id)
        title, label, done = DECISIONS[decision]
        change_url = reverse("admin:vendors_vendorapplication_change", args=[application.pk])
        form = ReasonForm(request.POST or None, label=label or "", required=label is not None)
        if request.method == "POST" and (label is None or form.is_valid()):
            text = form.cleaned_data.get("reason", "") if label else ""
            actor = request.user
            calls = {
                "approve": lambda: services.vendor_application_approve(actor=actor, application=application),
                "reject": lambda: services.vendor_application_reject(actor=actor, application=application, reason=text),
                "request-info": lambda: services.vendor_application_request_info(
                    actor=actor, application=application, message=text
                ),
            }
            if self.run(request, [application], lambda _obj: calls[decision](), done):
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form if label else None,
            "objects": [application],
            "opts": self.model._meta,
            "cancel_url": change_url,
        }
        return TemplateResponse(request, "admin/vendors/reason_form.html", context)

    @admin.action(description="Approve selected applications", permissions=["manage_vendors"])
    def approve_selected(self, request, queryset):
        self.run(
            request,
            queryset,
            lambda application: services.vendor_application_approve(actor=request.user, application=application),
            "Approved",
        )

    @admin.action(description="Reject selected applications…", permissions=["manage_vendors"])
    def reject_selected(self, request, queryset):
        return self.reason_action(
            request,
            queryset,
            action="reject_selected",
            title="Reject applications",
            label="Reason (shown to the applicants)",
            required=True,
            call=lambda application, reason: services.vendor_application_reject(
                actor=request.user, application=application, reason=reason
            ),
            done="Rejected",
        )


class VendorStaffInline(admin.TabularInline):
    model = VendorStaff
    fields = ("user", "role", "added_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return has_permission(request.user, PlatformPermission.MANAGE_VENDORS)


@admin.register(Vendor)
class VendorAdmin(ManageVendorsAdmin):
    list_display = ("name", "status", "contact_email", "created_at")  # fits 1366 px
    list_filter = ("status",)
    search_fields = ("name", "slug", "company_name", "contact_email")
    fields = (
        "name",
        "slug",
        "status",
        "status_reason",
        "company_name",
        "contact_email",
        "contact_phone",
        "description",
        "categories",
        "application",
        "created_at",
        "audit",
    )
    readonly_fields = fields
    inlines = [VendorStaffInline]
    actions = ["activate_selected", "suspend_selected", "reinstate_selected", "close_selected", "close_complete_selected"]

    @admin.display(description="Audit log")
    def audit(self, vendor):
        return render_audit_trail(vendor)

    @admin.action(description="Activate selected stores", permissions=["manage_vendors"])
    def activate_selected(self, request, queryset):
        self.run(request, queryset, lambda vendor: services.vendor_activate(actor=request.user, vendor=vendor), "Activated")

    @admin.action(description="Suspend selected stores…", permissions=["manage_vendors"])
    def suspend_selected(self, request, queryset):
        return self.reason_action(
            request,
            queryset,
            action="suspend_selected",
            title="Suspend stores",
            label="Reason (shown to the merchant)",
            required=True,
            call=lambda vendor, reason: services.vendor_suspend(actor=request.user, vendor=vendor, reason=reason),
            done="Suspended",
        )

    @admin.action(description="Reinstate selected stores", permissions=["manage_vendors"])
    def reinstate_selected(self, request, queryset):
        self.run(
            request, queryset, lambda vendor: services.vendor_reinstate(actor=request.user, vendor=vendor), "Reinstated"
        )

    @admin.action(description="Close selected stores…", permissions=["manage_vendors"])
    def close_selected(self, request, queryset):
        return self.reason_action(
            request,
            queryset,
            action="close_selected",
            title="Close stores",
            label="Reason",
            required=False,
            call=lambda vendor, reason: services.vendor_close(actor=request.user, vendor=vendor, reason=reason),
            done="Closed or closing",
        )

    @admin.action(description="Finish closing selected stores", permissions=["manage_vendors"])
    def close_complete_selected(self, request, queryset):
        self.run(
            request,
            queryset,
            lambda vendor: services.vendor_close_complete(actor=request.user, vendor=vendor),
            "Closed",
        )
