from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from backend.core.admin import money_column
from backend.core.exceptions import DomainError, DomainErrors
from backend.core.permissions import PlatformPermission, has_permission

from . import selectors, services
from .error_codes import CatalogErrorCode
from .models import (
    Attribute,
    BannedWord,
    Category,
    ListingReview,
    ListingStatus,
    Product,
    ProductMedia,
    ProductRevision,
    ProductVariant,
    RevisionStatus,
)


class AttributeInline(admin.TabularInline):
    model = Attribute
    extra = 0
    fields = ("slug", "name", "scope", "required", "choices", "sort_order")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "parent", "allows_no_reason_return")
    list_filter = ("parent",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [AttributeInline]


@admin.register(BannedWord)
class BannedWordAdmin(admin.ModelAdmin):
    list_display = ("word", "note", "created_at")
    search_fields = ("word", "note")


class VariantInline(admin.TabularInline):
    model = ProductVariant
    extra = 0
    fields = ("sku", "price_amount", "currency", "stock", "weight_kg", "attributes")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """Read-only: listings change through the merchants' API and the review queue, where the rules live."""

    list_display = ("name", "vendor", "category", "status", money_column("price_min_amount", None, "from"), "published_at")
    list_filter = ("status", "category", "vendor")
    search_fields = ("name", "slug", "vendor__name")
    list_select_related = ("vendor", "category")
    inlines = [VariantInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Product._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _image_urls(media_list) -> list[dict]:
    return [
        {
            "url": default_storage.url(m.path("card", "jpeg")) if m.path("card", "jpeg") else "",
            "width": m.width,
            "height": m.height,
            "is_live": m.is_live,
            "removal_requested": m.removal_requested,
        }
        for m in media_list
    ]


@admin.register(ListingReview)
class ListingReviewAdmin(admin.ModelAdmin):
    """Listings and revisions waiting for review, oldest first. Decisions call the catalog services."""

    list_display = ("name", "vendor", "category", "kind", "review_requested_at")
    list_select_related = ("vendor", "category")
    list_display_links = ("name",)
    search_fields = ("name", "vendor__name")
    actions = ["approve_selected"]
    review_template = "admin/catalog/listing_review.html"

    def get_queryset(self, request):
        return selectors.review_queue(super().get_queryset(request)).select_related("vendor", "category")

    def get_ordering(self, request):
        return ("review_requested_at", "id")

    @admin.display(description="Review of")
    def kind(self, obj):
        return "listing" if obj.status == ListingStatus.PENDING_REVIEW else "revision of a live listing"

    def _may_review(self, request) -> bool:
        return has_permission(request.user, PlatformPermission.REVIEW_LISTINGS)

    def has_module_permission(self, request):
        return self._may_review(request)

    def has_view_permission(self, request, obj=None):
        return self._may_review(request)

    def has_change_permission(self, request, obj=None):
        return self._may_review(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Approve selected listings and revisions")
    def approve_selected(self, request, queryset):
        done = 0
        for product in queryset:
            try:
                with transaction.atomic():
                    locked = Product.objects.select_for_update().get(pk=product.pk)
                    services.product_approve(actor=request.user, product=locked)
                done += 1
            except DomainError as error:
                self.message_user(request, f"{product}: {error.message}", messages.ERROR)
        if done:
            self.message_user(request, f"Approved {done}.", messages.SUCCESS)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The review page: the listing (or old and new side by side) with approve and reject."""
        if not self._may_review(request):
            raise PermissionDenied
        product = get_object_or_404(
            Product.objects.select_related("vendor", "category", "category__parent"), pk=object_id
        )
        if request.method == "POST":
            decision = request.POST.get("decision")
            reason = request.POST.get("reason", "")
            try:
                with transaction.atomic():
                    locked = Product.objects.select_for_update().get(pk=product.pk)
                    if decision == "approve":
                        services.product_approve(actor=request.user, product=locked)
                        self.message_user(request, f"Approved “{locked}”.", messages.SUCCESS)
                    elif decision == "reject":
                        services.product_reject(actor=request.user, product=locked, reason=reason)
                        self.message_user(request, f"Rejected “{locked}”.", messages.SUCCESS)
                    else:
                        raise DomainError(CatalogErrorCode.INVALID, "Choose approve or reject.")
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
            except DomainErrors as errors:
                for error in errors.errors:
                    self.message_user(request, error.message, messages.ERROR)
            else:
                return HttpResponseRedirect(reverse("admin:catalog_listingreview_changelist"))
        return TemplateResponse(request, self.review_template, self._review_context(request, product))

    def _review_context(self, request, product: Product) -> dict:
        index = selectors.CategoryAttributeIndex()
        revision = product.revisions.filter(status=RevisionStatus.PENDING).select_related("category").first()
        media = list(product.media.all())

        def attributes(category_id, values):
            return ", ".join(
                f"{attribute.name if attribute else slug}: {value}"
                for attribute, slug, value in index.values_for(category_id, values or {}, "product")
            )

        live = {
            "name": product.name,
            "description": product.description,
            "category": str(product.category),
            "attributes": attributes(product.category_id, product.attributes),
        }
        rows = []
        if revision is not None:
            proposed = {
                "name": revision.name,
                "description": revision.description,
                "category": str(revision.category),
                "attributes": attributes(revision.category_id, revision.attributes),
            }
            for field in ("name", "description", "category", "attributes"):
                rows.append(
                    {"field": field, "old": live[field], "new": proposed[field], "changed": live[field] != proposed[field]}
                )
        else:
            rows = [{"field": f, "old": "", "new": v, "changed": False} for f, v in live.items()]
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Review “{product.name}”",
            "product": product,
            "revision": revision,
            "rows": rows,
            "old_images": _image_urls([m for m in media if m.is_live]),
            "new_images": _image_urls([m for m in media if not m.removal_requested]),
            "variants": list(product.variants.all()),
            "waiting": product.review_requested_at is not None,
            "history": ProductRevision.objects.filter(product=product).exclude(status=RevisionStatus.PENDING)[:10],
        }


@admin.register(ProductMedia)
class ProductMediaAdmin(admin.ModelAdmin):
    list_display = ("product", "preview", "width", "height", "is_live", "removal_requested", "created_at")
    list_filter = ("is_live",)
    list_select_related = ("product",)

    @admin.display(description="Image")
    def preview(self, obj):
        path = obj.path("thumbnail", "jpeg")
        return format_html('<img src="{}" width="60">', default_storage.url(path)) if path else ""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
